"""`supportctl proxy-access …`: who lets support log in to their account for a ticket (SPEC §5)."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.errors import UsageError
from supportctl.render import LIST_FORMATS, render_rows

OFF_NOTE = (
    "A support session already in progress is not ended; only future proxy logins are blocked."
)


@click.group("proxy-access")
def proxy_access() -> None:
    """Allow or block support logging in to your account for a ticket."""


@proxy_access.command("show")
@click.argument("ticket_id", metavar="TICKET_ID")
@output_option(*LIST_FORMATS)
@pass_app
def show(app: AppContext, ticket_id: str, fmt: str) -> None:
    """Each user on the ticket: the effective value and whether it is the ticket's override
    or the account default."""
    entries = app.service("proxy-access show").proxy_access(ticket_id)
    rows = [e.to_dict() for e in entries]
    if fmt == "table":
        for row in rows:
            row["effective"] = "on" if row["effective"] else "off"
            row["source"] = "ticket override" if row["source"] == "override" else "account default"
    app.out(render_rows(rows, ["username", "effective", "source"], fmt, project_json=False))


@proxy_access.command("toggle")
@click.argument("ticket_id", metavar="TICKET_ID")
@click.option("--on", "on", is_flag=True, help="Turn it on (default: flip your effective value).")
@click.option("--off", "off", is_flag=True, help="Turn it off.")
@pass_app
def toggle(app: AppContext, ticket_id: str, on: bool, off: bool) -> None:
    """Turn your own proxy login access for a ticket on or off.

    \b
    Examples:
      supportctl proxy-access toggle 1020 --on
      supportctl proxy-access toggle 1020          # flip
    """
    if on and off:
        raise UsageError("--on and --off exclude each other; give one, or neither to flip")
    value = True if on else False if off else None
    entry, changed = app.service("proxy-access toggle").set_proxy_access(ticket_id, value)
    state = "on" if entry.effective else "off"
    if not changed:
        app.note(f"proxy login access for ticket {ticket_id} is already {state}; nothing changed")
    elif entry.effective:
        app.note(
            f"Proxy login access for ticket {ticket_id} is now on: support may log in to "
            "your account to troubleshoot this ticket."
        )
    else:
        app.note(f"Proxy login access for ticket {ticket_id} is now off. {OFF_NOTE}")
    app.out(f"{state}\n")
