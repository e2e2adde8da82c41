"""Backends by name (SPEC §6): one registry, imported lazily so start-up stays cheap."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from supportctl.errors import UsageError

if TYPE_CHECKING:
    from supportctl.backends.base import Backend

#: name -> "module:factory"; the factory takes the resolved settings.
REGISTRY: dict[str, str] = {
    "json": "supportctl.backends.jsonstore:open_from_settings",
    "http": "supportctl.backends.http:open_from_settings",
    "rt": "supportctl.backends.rt:open_from_settings",
}


def backend_names() -> list[str]:
    return sorted(REGISTRY)


def get_backend(name: str, settings: Any) -> Backend:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown backend {name!r}. Valid backends: {', '.join(backend_names())}"
        ) from None
    module_name, factory = target.split(":")
    return getattr(importlib.import_module(module_name), factory)(settings)
