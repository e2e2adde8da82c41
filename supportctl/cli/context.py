"""What every command gets: resolved settings, the backend, the service, TTY and colour."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from supportctl.backends.base import Backend
    from supportctl.config import Settings
    from supportctl.service import Service


@dataclass
class AppContext:
    profile: str | None = None
    backend_name: str | None = None
    store: str | None = None
    url: str | None = None
    user: str | None = None
    no_color: bool = False
    verbose: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _backend: Backend | None = field(default=None, repr=False)
    _service: Service | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from supportctl.config import Settings

            self._settings = Settings.resolve(
                profile=self.profile,
                backend=self.backend_name,
                store=self.store,
                url=self.url,
                user=self.user,
            )
            self._settings.config.warn_if_exposed()
            self.debug(f"profile {self._settings.profile}, backend {self._settings.backend}")
        return self._settings

    def backend(self, command: str | None = None) -> Backend:
        """The configured backend; a command it cannot serve exits 2 before doing anything."""
        if self._backend is None:
            from supportctl.backends import get_backend

            settings = self.settings()
            settings.verbose = self.verbose
            self._backend = get_backend(settings.backend, settings)
        if command is not None:
            noun = command.split()[0]
            if noun not in self._backend.capabilities:
                from supportctl.errors import UsageError

                raise UsageError(
                    f"`{command}` is not supported by the `{self._backend.name}` backend"
                )
        return self._backend

    def service(self, command: str | None = None) -> Service:
        if self._service is None:
            from supportctl.sla import SlaPolicy

            backend = self.backend(command)
            settings = self.settings()
            policy = SlaPolicy.from_config(
                settings.config.data, f"config file {settings.config.path}"
            )
            self._service = backend.make_service(settings.user, sla_policy=policy)
        elif command is not None:
            self.backend(command)
        return self._service

    # -- output -------------------------------------------------------------------------------
    @property
    def stdout_tty(self) -> bool:
        return sys.stdout.isatty()

    @property
    def color(self) -> bool | None:
        """False forces plain text; None lets click decide (colour on a TTY only)."""
        return False if self.no_color else None

    def out(self, text: str) -> None:
        """Data on stdout (already newline-terminated), exactly as given: never stripped."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A message for people, on stderr."""
        click.echo(text, err=True, color=self.color)

    def debug(self, text: str) -> None:
        if self.verbose:
            click.echo(f"supportctl: {text}", err=True)

    @property
    def use_color(self) -> bool:
        """SPEC §1: no colour when stdout or stdin is not a TTY, or with --no-color/NO_COLOR."""
        return not self.no_color and self.stdout_tty and sys.stdin.isatty()

    def style(self, text: str, **styles: Any) -> str:
        return click.style(text, **styles) if self.use_color else text


pass_app = click.make_pass_decorator(AppContext)
