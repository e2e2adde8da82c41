"""Bulk commands (`ID…|-`): each ID on its own, an honest summary, the worst exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import click

from supportctl.cli.context import AppContext
from supportctl.errors import SupportctlError

PROGRESS_FROM = 20  # IDs; fewer finish before a bar would be worth drawing


def run_each(
    app: AppContext,
    ids: list[str],
    action: Callable[[str], str],
    outcomes: Sequence[str],
    *,
    label: str,
) -> int:
    """Run ``action`` on every ID; it returns what it did, one of ``outcomes`` (``"closed"``,
    ``"already closed"``). Errors are reported one per line and do not stop the rest.

    With several IDs a summary counts every outcome and the failures ("closed 3, already
    closed 1, failed 0"). Returns the numerically highest exit code met (0 when none failed).
    """
    worst = 0
    counts = dict.fromkeys([*outcomes, "failed"], 0)
    show_bar = len(ids) >= PROGRESS_FROM and app.stderr_tty
    with click.progressbar(ids, label=label, file=sys.stderr, hidden=not show_bar) as bar:
        app.progress_shown = show_bar  # notes clear the bar's line first, never share it
        try:
            for ticket_id in bar:
                try:
                    counts[action(ticket_id)] += 1
                except SupportctlError as exc:
                    counts["failed"] += 1
                    worst = max(worst, int(exc.exit_status))
                    app.error(exc.message, exc.hint)
        finally:
            app.progress_shown = False
    if len(ids) > 1:
        app.note(", ".join(f"{outcome} {n}" for outcome, n in counts.items()))
    return worst
