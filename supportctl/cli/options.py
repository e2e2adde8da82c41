"""Shared option decorators, so commands do not copy `@click.option` blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def output_option(*formats: str, default: str = "table") -> Callable[[Any], Any]:
    return click.option(
        "-o",
        "--output",
        "fmt",
        type=click.Choice(formats),
        default=default,
        show_default=True,
        help="Output format.",
    )


def multi_choice(name: str, choices: tuple[str, ...], help_text: str) -> Callable[[Any], Any]:
    return click.option(
        name,
        multiple=True,
        type=click.Choice(choices),
        help=f"{help_text} Repeat for any of several.",
    )
