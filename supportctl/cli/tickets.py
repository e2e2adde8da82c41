"""`supportctl tickets …`: list (ls) and show."""

from __future__ import annotations

import shutil

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import multi_choice, output_option
from supportctl.models import CATEGORIES, PRIORITIES, STATUSES, TICKET_TYPES
from supportctl.render import (
    LIST_FORMATS,
    TICKET_COLUMNS,
    dumps_json,
    parse_columns,
    render_rows,
    render_ticket,
)

STATUS_COLORS = {
    "new": "cyan",
    "open": "green",
    "pending": "yellow",
    "escalated": "magenta",
    "resolved": "blue",
    "closed": "bright_black",
}


@click.group()
def tickets() -> None:
    """List and read support tickets."""


@tickets.command("list")
@click.option(
    "--scope",
    type=click.Choice(("mine", "org")),
    default=None,
    help="mine: tickets you submitted, are cc'd on or are assigned (default). "
    "org: your organisation's (admins) or every org's (agents).",
)
@click.option("--org", metavar="ORG", help="Only this org's tickets (implies --scope org).")
@multi_choice("--status", STATUSES, "Only tickets in this status.")
@multi_choice("--type", TICKET_TYPES, "Only tickets of this type.")
@multi_choice("--category", CATEGORIES, "Only tickets of this category.")
@multi_choice("--priority", PRIORITIES, "Only tickets of this priority.")
@click.option(
    "--assignee", metavar="U|@me|none", help="Only tickets assigned to U, to you, or to no one."
)
@click.option("--requester", metavar="U", help="Only tickets submitted by U.")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="T",
    help="Only tickets with this tag; repeat: all of them.",
)
@click.option(
    "--since", metavar="WHEN", help="Created at or after WHEN (date, RFC 3339 time, or 7d back)."
)
@click.option("--until", metavar="WHEN", help="Created at or before WHEN.")
@click.option("--idle", metavar="DURATION", help="Last activity older than DURATION (e.g. 14d).")
@click.option(
    "--search",
    metavar="TEXT",
    help="Case-insensitive text in the subject or the messages you may see.",
)
@click.option(
    "--sort",
    type=click.Choice(("created", "updated", "priority", "status", "id")),
    default="created",
    show_default=True,
    help="Sort key: newest/largest first (priority: urgent first; status: new first).",
)
@click.option("--asc", is_flag=True, help="Reverse the sort: oldest/smallest first.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="At most N tickets; 0 = all.",
)
@click.option(
    "--columns", metavar="a,b,c", help="Fields to show, for every format (see the list below)."
)
@output_option(*LIST_FORMATS)
@pass_app
def list_tickets(
    app: AppContext,
    scope: str | None,
    org: str | None,
    status: tuple[str, ...],
    type: tuple[str, ...],  # noqa: A002 - the flag is --type
    category: tuple[str, ...],
    priority: tuple[str, ...],
    assignee: str | None,
    requester: str | None,
    tags: tuple[str, ...],
    since: str | None,
    until: str | None,
    idle: str | None,
    search: str | None,
    sort: str,
    asc: bool,
    limit: int,
    columns: str | None,
    fmt: str,
) -> None:
    """List tickets you may see, newest first.

    \b
    Columns for --columns: id, subject, type, category, status, resolution, priority,
    requester, org, cc, assignee, group, language, tags, created_at, updated_at,
    closed_at, proxy_access, call, escalation_id, resources, feedback, messages, events.
    Without --columns, json and jsonl carry every field but messages and events.
    """
    from supportctl.service import TicketQuery
    from supportctl.timeutil import parse_duration, parse_when

    chosen = parse_columns(columns, TICKET_COLUMNS) if columns else None
    query = TicketQuery(
        scope=scope or ("org" if org else "mine"),
        org=org,
        statuses=status,
        types=type,
        categories=category,
        priorities=priority,
        assignee=assignee,
        requester=requester,
        tags=tags,
        since=parse_when(since) if since else None,
        until=parse_when(until) if until else None,
        idle=parse_duration(idle) if idle else None,
        search=search,
        sort=sort,
        asc=asc,
        limit=limit,
    )
    service = app.service("tickets list")
    with_thread = bool(chosen and ({"messages", "events"} & set(chosen)))
    result = service.list_tickets(query, with_thread=with_thread)
    if chosen is None:
        chosen = ["id"]
        if query.scope == "org":
            chosen.append("requester")
        chosen += ["subject", "type", "status", "created_at", "updated_at"]
        if service.actor.is_agent:
            chosen.append("assignee")
        project = fmt not in ("json", "jsonl")
    else:
        project = True

    def styler(column: str, cell: str) -> str:
        color = STATUS_COLORS.get(cell) if column == "status" else None
        return app.style(cell, fg=color) if color else cell

    app.out(render_rows(result.tickets, chosen, fmt, project_json=project, styler=styler))
    shown = len(result.tickets)
    if not shown and fmt == "table":
        app.note("no tickets match")
    if result.total > shown:
        app.note(
            f"showing {shown} of {result.total} tickets; {result.total - shown} more not shown "
            "(--limit 0 shows all)"
        )


tickets.add_command(list_tickets, "ls")


@tickets.command("show")
@click.argument("ticket_id", metavar="ID")
@output_option("table", "json")
@click.option("--no-pager", is_flag=True, help="Never page, even on a terminal.")
@pass_app
def show(app: AppContext, ticket_id: str, fmt: str, no_pager: bool) -> None:
    """Show one ticket: details, thread or transcript, escalation, feedback.

    On a terminal long output goes through a pager ($PAGER); never when piped.
    """
    view = app.service("tickets show").show_ticket(ticket_id)
    if fmt == "json":
        app.out(dumps_json(view.ticket.to_dict()) + "\n")
        return
    text = render_ticket(view, app.style)
    if not no_pager and app.stdout_tty and text.count("\n") > shutil.get_terminal_size().lines:
        click.echo_via_pager(text, color=app.color)
    else:
        app.out(text)
