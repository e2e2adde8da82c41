"""Bulk commands (SPEC §4 `ID…|-`): each ID on its own, a summary, the worst exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from supportctl.cli.context import AppContext
from supportctl.errors import SupportctlError

PROGRESS_FROM = 20  # IDs; fewer finish before a bar would be worth drawing


def run_each(app: AppContext, ids: list[str], action: Callable[[str], None], verb: str) -> int:
    """Run ``action`` on every ID; errors are reported one per line and do not stop the rest.

    Returns the numerically highest exit code met (0 when all succeeded).
    """
    worst = 0
    failed = 0
    show_bar = len(ids) >= PROGRESS_FROM and sys.stderr.isatty()
    with click.progressbar(
        ids, label=f"{verb.capitalize()}", file=sys.stderr, hidden=not show_bar
    ) as bar:
        for ticket_id in bar:
            try:
                action(ticket_id)
            except SupportctlError as exc:
                failed += 1
                worst = max(worst, int(exc.exit_status))
                app.error(exc.message)
    if len(ids) > 1:
        done = len(ids) - failed
        summary = f"{verb} {done} of {len(ids)} tickets"
        app.note(summary + (f"; {failed} failed" if failed else ""))
    return worst
