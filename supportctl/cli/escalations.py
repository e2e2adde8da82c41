"""`supportctl escalations …`: list, track (with --wait), create, advance."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import multi_choice, output_option
from supportctl.models import STAGES
from supportctl.render import (
    LIST_FORMATS,
    dumps_json,
    render_escalation_progress,
    render_rows,
)
from supportctl.timeutil import local_display

ESCALATION_COLUMNS = [
    "id",
    "ticket_id",
    "stage",
    "expected_resolution",
    "updated_at",
    "description",
]


@click.group()
def escalations() -> None:
    """Follow escalations to engineering; agents create and advance them."""


@escalations.command("list")
@multi_choice("--stage", STAGES, "Only escalations at this stage.")
@click.option("--scope", type=click.Choice(("mine", "org")), default="mine", show_default=True,
              help="Escalations of the tickets in this scope of `tickets list`.")  # fmt: skip
@output_option(*LIST_FORMATS)
@pass_app
def list_escalations(app: AppContext, stage: tuple[str, ...], scope: str, fmt: str) -> None:
    """List escalations of the tickets you may see, newest first.

    \b
    Example:
      supportctl escalations list --scope org --stage in_engineering -o json
    """
    found = app.service("escalations list").list_escalations(scope=scope, stages=stage)
    rows = [e.to_dict() for e in found]
    if fmt == "table":
        for row in rows:
            if row["expected_resolution"]:
                row["expected_resolution"] += " (estimate)"
            if len(row["description"]) > 60:
                row["description"] = row["description"][:59] + "…"
    headers = {"ticket_id": "TICKET", "updated_at": "UPDATED", "expected_resolution": "EXPECTED"}
    app.out(render_rows(rows, ESCALATION_COLUMNS, fmt, project_json=False, headers=headers))
    if not rows and fmt == "table":
        app.note("no escalations match")


def _print_track(app: AppContext, esc, fmt: str) -> None:  # type: ignore[no-untyped-def]
    if fmt == "json":
        app.out(dumps_json(esc.to_dict()) + "\n")
        return
    lines = [f"Escalation {esc.id} · ticket {esc.ticket_id}"]
    lines += render_escalation_progress(esc, app.style)
    app.out("\n".join(lines) + "\n")


@escalations.command("track")
@click.argument("escalation_id", metavar="ID", required=False)
@click.option("--ticket", "ticket_id", metavar="TICKET_ID", help="The escalation of this ticket.")
@click.option(
    "--wait", is_flag=True, help="Poll until --until-stage is reached (exit 5 on --timeout)."
)
@click.option("--until-stage", type=click.Choice(STAGES), default="resolved", show_default=True)
@click.option("--interval", type=click.FloatRange(min=0.05), default=30.0, show_default=True,
              metavar="SECONDS", help="Seconds between polls with --wait.")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Give up after this long with --wait (exit 5). Default: wait as long as it takes.")  # fmt: skip
@output_option("table", "json")
@pass_app
def track(
    app: AppContext,
    escalation_id: str | None,
    ticket_id: str | None,
    wait: bool,
    until_stage: str,
    interval: float,
    timeout: float | None,
    fmt: str,
) -> None:
    """Draw an escalation's timeline: each stage with its date, the current one marked.

    The expected resolution date is an estimate, never a promise. With --wait, each stage
    change is printed as it happens (on stderr), then the timeline once the stage is reached.

    \b
    Examples:
      supportctl escalations track CP-1203
      supportctl escalations track --ticket 1015 --wait --until-stage confirm_resolution --timeout 3600
    """
    from supportctl.errors import UsageError

    if (escalation_id is None) == (ticket_id is None):
        raise UsageError("give an escalation ID or --ticket TICKET_ID (one of them)")
    service = app.service("escalations track")
    if not wait:
        _print_track(app, service.get_escalation(escalation_id, ticket_id=ticket_id), fmt)
        return

    def changed(esc) -> None:  # type: ignore[no-untyped-def]
        at = esc.timeline[-1]["at"] if esc.timeline else esc.updated_at
        app.note(f"{local_display(at)}  {esc.id} is now at {esc.stage.replace('_', ' ')}")

    esc = service.wait_for_stage(
        escalation_id,
        ticket_id=ticket_id,
        until=until_stage,
        interval=interval,
        timeout=timeout,
        on_change=changed,
    )
    _print_track(app, esc, fmt)


@escalations.command("create")
@click.argument("ticket_id", metavar="TICKET_ID")
@click.option("--description", required=True, metavar="TEXT", help="What engineering must look at.")
@click.option(
    "--expected", metavar="DATE", help="Expected resolution date (YYYY-MM-DD), an estimate."
)
@output_option("id", "json", default="id")
@pass_app
def create(
    app: AppContext, ticket_id: str, description: str, expected: str | None, fmt: str
) -> None:
    """Escalate a ticket to engineering (agents); prints the escalation ID.

    \b
    Example:
      supportctl --user sam escalations create 1027 --description "Quota counts partials" --expected 2026-12-15
    """
    ticket, esc = app.service("escalations create").create_escalation(
        ticket_id, description, expected
    )
    app.out(dumps_json(esc.to_dict()) + "\n" if fmt == "json" else f"{esc.id}\n")
    app.note(f"escalated ticket {ticket.id} as {esc.id} (stage submitted)")


@escalations.command("advance")
@click.argument("escalation_id", metavar="ID")
@click.option("--to", "to", type=click.Choice(STAGES), required=True, help="The later stage.")
@click.option("--expected", metavar="DATE", help="New expected resolution date (YYYY-MM-DD).")
@output_option("text", "json", default="text")
@pass_app
def advance(app: AppContext, escalation_id: str, to: str, expected: str | None, fmt: str) -> None:
    """Move an escalation to a later stage (agents); `resolved` reopens its ticket.

    \b
    Example:
      supportctl --user sam escalations advance CP-1203 --to confirm_resolution
    """
    ticket, esc = app.service("escalations advance").advance_escalation(escalation_id, to, expected)
    if fmt == "json":
        app.out(dumps_json(esc.to_dict()) + "\n")
    note = f"escalation {esc.id} is now at {esc.stage}"
    if esc.stage == "resolved":
        note += f"; ticket {ticket.id} is {ticket.status}"
    app.note(note)
