"""`supportctl triggers …`: the routing rules that run when a ticket is created (SPEC §13).

``list`` shows them in the order they run, ``test`` says which would fire on tickets as they
are now (writing nothing), ``run`` applies them to existing tickets.  The triggers are those
of whoever writes the store: the acting user's config on the json backend, the server's on
the http backend; the rt backend refuses these commands (RT has its own scrips).
"""

from __future__ import annotations

from typing import Any

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.render import dumps_json, render_rows


@click.group()
def triggers() -> None:
    """Routing rules applied to new tickets: group, assignee, priority, tags (agents)."""


def _values(values: Any) -> str:
    return ", ".join(values) if isinstance(values, list) else str(values)


def _where(app: AppContext) -> str:
    settings = app.settings()
    if settings.backend == "http":
        return "on the server (its `serve --config` file, else its own config)"
    return f"in {settings.config.path}"


@triggers.command("list")
@output_option("table", "json")
@pass_app
def list_triggers(app: AppContext, fmt: str) -> None:
    """List the triggers, in the order they run on a new ticket.

    On the json backend they are the [triggers.NAME] tables of your config; over http,
    the server's.

    \b
    Example:
      supportctl --user sam triggers list
    """
    found = app.service("triggers list").triggers()
    docs = [t.to_dict() for t in found]
    if fmt == "json":
        app.out(dumps_json(docs) + "\n")
        return
    if not docs:
        app.note(f"no triggers configured {_where(app)}")
        return
    rows = [
        {
            "name": d["name"],
            "conditions": "; ".join(f"{k} {_values(v)}" for k, v in d["conditions"].items())
            or "every ticket",
            "actions": "; ".join(f"{k} {_values(v)}" for k, v in d["actions"].items()),
        }
        for d in docs
    ]
    app.out(render_rows(rows, ["name", "conditions", "actions"], "table", project_json=False))


def _change_text(change: dict[str, Any]) -> str:
    def shown(value: Any) -> str:
        if value is None:
            return "-"
        return "[" + ", ".join(value) + "]" if isinstance(value, list) else str(value)

    what = change["action"].replace("_changed", "")
    return f"{what} {shown(change.get('from'))} → {shown(change.get('to'))}"


def _outcome_rows(outcome: Any) -> list[dict[str, str]]:
    rows = []
    for firing in outcome.fired:
        changes = ", ".join(_change_text(c) for c in firing.changes) or "no change"
        if firing.note:
            changes += f" ({firing.note})"
        rows.append({"ticket": outcome.ticket_id, "trigger": firing.trigger, "changes": changes})
    if not outcome.fired:
        rows.append({"ticket": outcome.ticket_id, "trigger": "-", "changes": "no trigger fires"})
    if outcome.note:
        rows[-1]["changes"] += f" ({outcome.note})"
    return rows


def _print_outcomes(app: AppContext, outcomes: list[Any], fmt: str) -> None:
    if fmt == "json":
        app.out(dumps_json([o.to_dict() for o in outcomes]) + "\n")
        return
    rows = [row for o in outcomes for row in _outcome_rows(o)]
    if rows:
        app.out(render_rows(rows, ["ticket", "trigger", "changes"], "table", project_json=False))


@triggers.command("test")
@click.argument("ids", nargs=-1, required=True, metavar="ID…|-")
@output_option("table", "json")
@pass_app
def test(app: AppContext, ids: tuple[str, ...], fmt: str) -> int:
    """Say which triggers would fire on tickets as they are now, and what they would
    change; writes nothing (agents).

    \b
    Examples:
      supportctl --user sam triggers test 1001 1004
      supportctl --user sam tickets list --status new -o ids | supportctl --user sam triggers test -
    """
    from supportctl.cli.bulk import run_each
    from supportctl.cli.inputs import read_ids

    service = app.service("triggers test")
    service.triggers()  # agents only: refused (exit 4) before any ID is read
    targets = read_ids(ids)
    outcomes: list[Any] = []

    def one(ticket_id: str) -> str:
        outcome = service.test_triggers(ticket_id)
        outcomes.append(outcome)
        return "would fire" if outcome.fired else "none fire"

    code = run_each(app, targets, one, ["would fire", "none fire"], label="Testing")
    _print_outcomes(app, outcomes, fmt)
    return code


@triggers.command("run")
@click.argument("ids", nargs=-1, required=True, metavar="ID…|-")
@output_option("table", "json")
@pass_app
def run(app: AppContext, ids: tuple[str, ...], fmt: str) -> int:
    """Apply the triggers to existing tickets now (agents), each in one change.

    Each trigger runs at most once per ticket, in order, as on a new ticket; every change
    is an event naming the trigger. Closed tickets are not changed (exit 5).

    \b
    Examples:
      supportctl --user sam triggers run 1025
      supportctl --user sam tickets list --scope org --status new -o ids | supportctl --user sam triggers run -
    """
    from supportctl.cli.bulk import run_each
    from supportctl.cli.inputs import read_ids

    service = app.service("triggers run")
    service.triggers()  # agents only: refused (exit 4) before any ID is read
    targets = read_ids(ids)
    outcomes: list[Any] = []

    def one(ticket_id: str) -> str:
        outcome = service.run_triggers(ticket_id)
        outcomes.append(outcome)
        if not outcome.applied:
            return "unchanged"
        names = ", ".join(f.trigger for f in outcome.fired if f.changes)
        app.note(f"ticket {ticket_id}: routed by {names}")
        return "changed"

    code = run_each(app, targets, one, ["changed", "unchanged"], label="Routing")
    _print_outcomes(app, outcomes, fmt)
    return code
