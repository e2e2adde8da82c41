"""`supportctl tickets …`: the ticket commands.

Reading: ``list`` (alias ``ls``), ``show``, ``attachment``.  Working: ``create``, ``reply``,
``close``, ``feedback``, ``update`` (the last three, and ``close``, take ``ID…|-`` and run
per ticket through ``cli.bulk``).  Cron: ``sweep``.  Each parses its flags, calls the
service interface and renders the result; the rules live behind the interface.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from supportctl.api import MY_GROUPS, SORT_KEYS
from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import multi_choice, output_option
from supportctl.models import CATEGORIES, PRIORITIES, RESOLUTIONS, STATUSES, TICKET_TYPES
from supportctl.render import (
    LIST_FORMATS,
    STATUS_COLORS,
    TICKET_COLUMNS,
    dumps_json,
    parse_columns,
    render_rows,
    render_ticket,
)

if TYPE_CHECKING:
    from supportctl.api import TicketQuery, TicketService


#: `tickets list --limit` when none is given, for the table only (machine formats: all).
DEFAULT_TABLE_LIMIT = 50


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
@multi_choice("--resolution", RESOLUTIONS, "Only tickets closed with this resolution.")
@click.option(
    "--assignee", metavar="U|@me|none", help="Only tickets assigned to U, to you, or to no one."
)
@click.option(
    "--group",
    multiple=True,
    metavar="G|@mine",
    help="Only tickets of support group G (@mine: any of your groups). Repeat for any of several.",
)
@click.option(
    "--requester", metavar="U|EMAIL", help="Only tickets submitted by U (a username or email)."
)
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
    type=click.Choice(SORT_KEYS),
    default="created",
    show_default=True,
    help="Sort key: newest/largest first (priority: urgent first; status: new first; due: "
    "the nearest service-level due time first, breached first, tickets with no target "
    "pending last).",
)
@click.option(
    "--sla",
    type=click.Choice(("breached", "breaching", "at-risk", "ok")),
    help="Only tickets whose service level was ever breached, is breaching now (not resolved "
    "or closed, a target passed unmet), at risk (under 25 % left) or ok; adds an SLA column "
    "to the table. Tickets closed as spam, test, duplicate or abuse have none (excluded).",
)
@click.option("--asc", is_flag=True, help="Reverse the sort: oldest/smallest first.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help="At most N tickets; 0 = all. Default: 50 for the table, all for the machine formats "
    "(so `-o ids | … close -` acts on every match).",
)
@click.option(
    "--columns", metavar="a,b,c", help="Fields to show, for every format (see the list above)."
)
@output_option(*LIST_FORMATS)
@click.option(
    "--view",
    "view_name",
    metavar="NAME",
    help="Start from a view: unassigned, group, mine-open, mine-pending, mine-resolved, "
    "mine-closed, spam, or one saved as [views.NAME] in the config (`supportctl views list`). "
    "Further filters narrow it; --scope, --sort, --asc, --limit, --columns and -o replace "
    "its own.",
)
@click.pass_context
def list_tickets(ctx: click.Context, view_name: str | None, **flags: Any) -> None:
    """List tickets you may see, newest first.

    \b
    Columns for --columns: id, subject, type, category, status, resolution, priority,
    requester, org, cc, assignee, group, language, tags, created_at, updated_at,
    closed_at, proxy_access, call, escalation_id, resources, feedback, duplicate_of,
    messages, events, sla.
    Without --columns, json and jsonl carry every field but messages and events, plus
    the computed sla object.

    \b
    With --view, the scope is every ticket you may see (--scope org for agents and
    admins) unless the view or --scope says otherwise.
    """
    app: AppContext = ctx.find_object(AppContext)
    service = None
    if view_name is not None:
        from supportctl.views import combine, find_view

        view = find_view(view_name, app.settings().config.views())
        given = {
            name: value
            for name, value in flags.items()
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT
        }
        service = app.service("tickets list")
        flags.update(combine(view, given, actor=lambda: service.actor))
    _list(app, service or app.service("tickets list"), **flags)
    if view_name is not None and flags["group"] == (MY_GROUPS,) and not service.actor.groups:
        # after the list: a refusal (a FedRAMP user's) is the one line to read
        app.note(f"you are in no support group, so view {view_name!r} selects nothing")


def _list(
    app: AppContext, service: TicketService, *, columns: str | None, fmt: str, **flags: Any
) -> None:
    chosen = parse_columns(columns, TICKET_COLUMNS) if columns is not None else None
    if flags["limit"] is None:
        flags["limit"] = DEFAULT_TABLE_LIMIT if fmt == "table" else 0
    query = _ticket_query(**flags)
    with_thread = fmt != "ids" and bool(chosen and ({"messages", "events"} & set(chosen)))
    result = service.list_tickets(query, with_thread=with_thread)
    project = True
    if chosen is None:
        chosen = _default_columns(query, service.actor.is_agent)
        project = fmt not in ("json", "jsonl")

    def styler(column: str, cell: str) -> str:
        color = STATUS_COLORS.get(cell) if column == "status" else None
        return app.style(cell, fg=color) if color else cell

    fit = shutil.get_terminal_size().columns if fmt == "table" and app.stdout_tty else None
    app.out(
        render_rows(result.tickets, chosen, fmt, project_json=project, styler=styler, fit_width=fit)
    )
    shown = len(result.tickets)
    if not shown and fmt == "table":
        app.note("no tickets match")
    if result.total > shown:
        app.note(
            f"showing {shown} of {result.total} tickets; {result.total - shown} more not shown "
            "(--limit 0 shows all)"
        )


def _ticket_query(
    *,
    scope: str | None,
    org: str | None,
    status: tuple[str, ...],
    type: tuple[str, ...],  # noqa: A002 - the flag is --type
    category: tuple[str, ...],
    priority: tuple[str, ...],
    resolution: tuple[str, ...],
    group: tuple[str, ...],
    tags: tuple[str, ...],
    since: str | None,
    until: str | None,
    idle: str | None,
    **rest: Any,
) -> TicketQuery:
    """The `tickets list` flags as a query: WHEN and DURATION parsed, --org implying org."""
    from supportctl.api import TicketQuery
    from supportctl.timeutil import parse_duration, parse_window

    return TicketQuery(
        scope=scope or ("org" if org else "mine"),
        org=org,
        statuses=status,
        types=type,
        categories=category,
        priorities=priority,
        resolutions=resolution,
        groups=group,
        tags=tags,
        **parse_window(since, until),
        idle=parse_duration(idle) if idle else None,
        **rest,
    )


def _default_columns(query: TicketQuery, agent: bool) -> list[str]:
    """SPEC §4's table with PRIORITY after STATUS (§16): + USERNAME for --scope org,
    + ASSIGNEE for agents, + SLA with --sla or --sort due."""
    chosen = ["id"]
    if query.scope == "org":
        chosen.append("requester")
    chosen += ["subject", "type", "status", "priority", "created_at", "updated_at"]
    if agent:
        chosen.append("assignee")
    if query.sla or query.sort == "due":
        chosen.append("sla")
    return chosen


tickets.add_command(list_tickets, "ls")


@tickets.command("show")
@click.argument("ticket_id", metavar="ID")
@output_option("table", "json")
@click.option("--no-pager", is_flag=True, help="Never page, even on a terminal.")
@pass_app
def show(app: AppContext, ticket_id: str, fmt: str, no_pager: bool) -> None:
    """Show one ticket: details, service level, thread or transcript, escalation, feedback;
    for agents, the requester's other tickets (newest five).

    On a terminal long output goes through a pager ($PAGER); never when piped.
    """
    view = app.service("tickets show").show_ticket(ticket_id)
    if fmt == "json":
        doc = {**view.ticket.to_dict(), "sla": view.sla}
        if view.history is not None:  # agents: the requester's other tickets, newest five
            doc["history"] = view.history
        app.out(dumps_json(doc) + "\n")
        return
    text = render_ticket(view, app.style)
    if not no_pager and app.stdout_tty and text.count("\n") > shutil.get_terminal_size().lines:
        # click pages only when stdin and stdout are terminals
        click.echo_via_pager(text, color=app.color)
    else:
        app.out(text)


# -- working tickets ------------------------------------------------------------------------------

body_options = [
    click.option("-m", "--message", "message", metavar="TEXT", help="The body."),
    click.option(
        "--body-file",
        metavar="FILE|-",
        help="Read the body from FILE (- = stdin). Without -m or this: stdin when piped, "
        "else $EDITOR.",
    ),
    click.option(
        "--attach",
        "attach",
        multiple=True,
        metavar="FILE",
        help="Attach a file (at most 5, 512,000 bytes each; csv tsv xlsx doc docx pdf txt "
        "jpg jpeg png gif mp4 mov har). Repeatable.",
    ),
]
action_output = click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(("text", "json")),
    default="text",
    show_default=True,
    help="json prints the changed ticket (a list when several IDs were given).",
)


template_option = click.option(
    "--template",
    "template_name",
    metavar="NAME",
    help="Write the message from a template (`supportctl templates list`); -m text is appended.",
)
var_option = click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="KEY=VALUE",
    help="A value for {{ KEY }} in the template. Repeatable.",
)
allow_banned_option = click.option(
    "--allow-banned", is_flag=True, help="Send it even if it contains a banned word."
)


def with_body_options(func):  # type: ignore[no-untyped-def]
    for option in reversed(body_options):
        func = option(func)
    return func


def _new_attachments(paths: tuple[str, ...]) -> list:
    from supportctl.api import NewAttachment
    from supportctl.cli.inputs import read_attachments

    return [NewAttachment(name, data) for name, data in read_attachments(paths)]


def _print_changed(app: AppContext, tickets_out: list, many: bool) -> None:
    service = app.service()
    docs = [service.ticket_json(t) for t in tickets_out]
    if many:
        app.out(dumps_json(docs) + "\n")
    elif docs:
        app.out(dumps_json(docs[0]) + "\n")


def _json_allowed(app: AppContext, fmt: str, command: str) -> None:
    """-o json shows ticket history: refused up front for FedRAMP users, before any change."""
    service = app.service(command)
    if fmt == "json":
        service.require_history_access()


@tickets.command("create")
@click.option(
    "--subject", metavar="S", help="What the ticket is about (required unless a template gives it)."
)
@click.option("--type", "type_", type=click.Choice(TICKET_TYPES), default="web", show_default=True)
@click.option("--category", type=click.Choice(CATEGORIES), default="general", show_default=True)
@click.option("--priority", type=click.Choice(PRIORITIES), default="normal", show_default=True)
@click.option(
    "--cc", multiple=True, metavar="U", help="Add a user of your organisation. Repeatable."
)
@with_body_options
@template_option
@var_option
@allow_banned_option
@output_option("id", "json", default="id")
@pass_app
def create(
    app: AppContext,
    subject: str | None,
    type_: str,
    category: str,
    priority: str,
    cc: tuple[str, ...],
    message: str | None,
    body_file: str | None,
    attach: tuple[str, ...],
    template_name: str | None,
    variables: tuple[str, ...],
    allow_banned: bool,
    fmt: str,
) -> None:
    """Open a new ticket as yourself; prints its ID (or the ticket with -o json).

    \b
    Example:
      supportctl tickets create --subject "Export times out" --category technical \\
          -m "Exports over 100k responses fail after 60 s." --attach export.har
    """
    from supportctl import templates
    from supportctl.cli.inputs import read_body
    from supportctl.cli.templating import Drafts, check_banned, load_template
    from supportctl.errors import UsageError

    service = app.service("tickets create")
    _json_allowed(app, fmt, "tickets create")
    template = load_template(app, template_name) if template_name else None
    if template is None:
        if subject is None:
            raise UsageError("give --subject (or a --template with a subject)")
        body = read_body(message, body_file)
    else:
        values = templates.parse_vars(variables)
        templates.check_known(template, values)
        known = Drafts(app, service, template, values).values(None)  # no ticket yet
        if subject is None:
            if template.subject is None:
                raise UsageError(f"template {template.name} has no subject: give --subject")
            subject = templates.render(template.subject, known, "the new ticket's subject")
        body = templates.render(template.body, known, "the new ticket")
        extra = read_body(message, body_file) if (message or body_file) else ""
        body = f"{body}\n\n{extra}" if extra else body
        if not template.actions.empty or template.internal:
            app.warn(f"template {template.name}: its actions apply to replies, not to create")
    check_banned(app, body, "the ticket's first message", allow=allow_banned)
    ticket = service.create_ticket(
        subject=subject,
        body=body,
        type_=type_,
        category=category,
        priority=priority,
        cc=cc,
        attachments=_new_attachments(attach),
    )
    if fmt == "json":
        _print_changed(app, [ticket], many=False)
    else:
        app.out(f"{ticket.id}\n")
    app.note(f"created ticket {ticket.id}")


@tickets.command("reply")
@click.argument("ids", nargs=-1, required=True, metavar="ID…|-")
@with_body_options
@click.option(
    "--internal", is_flag=True, help="An internal note: agents only, never shown to customers."
)
@template_option
@var_option
@click.option(
    "--preview",
    is_flag=True,
    help="Print each message as the customer will get it, and what would follow; send nothing.",
)
@allow_banned_option
@action_output
@pass_app
def reply(
    app: AppContext,
    ids: tuple[str, ...],
    message: str | None,
    body_file: str | None,
    attach: tuple[str, ...],
    internal: bool,
    template_name: str | None,
    variables: tuple[str, ...],
    preview: bool,
    allow_banned: bool,
    fmt: str,
) -> int:
    """Reply to tickets, or add an internal note; IDs from stdin with `-`.

    The same message goes to each ticket, or, with --template, each ticket's own rendering
    of the template, whose actions (status, priority, assignee, group, tags) follow the reply
    on the same ticket. Every ticket's message is rendered and checked for banned words
    before the first is sent: a bulk reply starts cleanly or sends nothing.

    A reply from the requester, a cc user or an admin reopens a resolved ticket.
    Closed tickets take no replies (exit 5): open a new ticket that references it.

    \b
    Examples:
      supportctl tickets reply 1004 -m "Thanks, that fixed it." --attach log.txt
      echo "Customer on legacy plan" | supportctl --user sam tickets reply 1004 --internal
      supportctl --user sam tickets list --status open --search export -o ids \\
          | supportctl --user sam tickets reply - --template export-known-issue --preview
    """
    from supportctl import templates
    from supportctl.cli.bulk import run_each
    from supportctl.cli.inputs import read_body, read_ids
    from supportctl.cli.templating import Drafts, load_template, refuse_actions_for_customers
    from supportctl.cli.templating import preview as draw_preview
    from supportctl.errors import PermissionDenied, UsageError

    service = app.service("tickets reply")
    _json_allowed(app, fmt, "tickets reply")
    template = load_template(app, template_name) if template_name else None
    values = templates.parse_vars(variables)
    if template is not None:
        templates.check_known(template, values)
        internal = internal or template.internal
        refuse_actions_for_customers(service, template)
    if ids == ("-",) and (
        body_file == "-" or (message is None and body_file is None and template is None)
    ):
        raise UsageError(
            "`-` reads the ticket IDs from standard input: give the body with -m or "
            "--body-file FILE (or a --template)"
        )
    if internal and not service.actor.is_agent:
        raise PermissionDenied("internal notes are for agents only")
    targets = read_ids(ids)
    if template is not None and message is None and body_file is None:
        body = ""  # the template is the message
    else:
        body = read_body(message, body_file)
    files = _new_attachments(attach)
    actions = template.actions if template is not None and not template.actions.empty else None
    drafts = Drafts(app, service, template, values).prepare(
        targets, body, internal=internal, preview=preview, allow_banned=allow_banned
    )
    if preview:
        from supportctl.cli.templating import banned_words

        words = () if internal else banned_words(app)
        for draft in drafts:
            app.out(
                draw_preview(
                    draft,
                    service.actor,
                    internal=internal,
                    attachments=files,
                    actions=actions,
                    words=words,
                )
            )
        app.note(f"previewed {len(drafts)} message(s); nothing sent")
        return 0
    bodies = {d.ticket_id: d.body for d in drafts}
    changed: list = []

    what = "added an internal note to" if internal else "replied to"

    def one(ticket_id: str) -> str:
        ticket = service.reply(
            ticket_id, bodies[ticket_id], internal=internal, attachments=files, then=actions
        )
        changed.append(ticket)
        app.note(f"{what} ticket {ticket_id}" + (" (reopened)" if _reopened(ticket) else ""))
        return what

    code = run_each(app, targets, one, [what], label="Replying")
    if fmt == "json":
        _print_changed(app, changed, many=len(targets) > 1)
    return code


def _reopened(ticket) -> bool:  # type: ignore[no-untyped-def]
    last = ticket.events[-1] if ticket.events else None
    return bool(last and last.action == "status_changed" and last.detail.get("from") == "resolved")


@tickets.command("attachment")
@click.argument("ticket_id", metavar="ID")
@click.argument("name")
@click.option(
    "-O", "--output-file", "output_file", metavar="FILE", help="Write to FILE instead of stdout."
)
@pass_app
def attachment(app: AppContext, ticket_id: str, name: str, output_file: str | None) -> None:
    """Write the bytes of the attachment NAME (stdout by default).

    When several messages carry a file of that name, the newest one is written.

    \b
    Example:
      supportctl tickets attachment 1004 export_502.har -O export.har
    """
    service = app.service("tickets attachment")
    meta, data, count = service.attachment(ticket_id, name)
    if count > 1:
        app.note(f"ticket {ticket_id} has {count} attachments named {name!r}; wrote the newest")
    if output_file:
        from supportctl.fsutil import atomic_write

        try:
            atomic_write(Path(output_file), data, durable=False)
        except OSError as exc:
            from supportctl.errors import UsageError

            raise UsageError(f"cannot write {output_file}: {exc.strerror}") from None
        app.note(f"wrote {meta.size:,} bytes to {output_file}")
        return
    if app.stdout_tty and not meta.content_type.startswith("text/"):
        from supportctl.errors import UsageError

        raise UsageError(
            f"{name} is binary ({meta.content_type}); not writing it to a terminal",
            hint=f"use -O FILE, or redirect: supportctl tickets attachment {ticket_id} {name} > FILE",
        )
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@tickets.command("close")
@click.argument("ids", nargs=-1, required=True, metavar="ID…|-")
@click.option(
    "--reason",
    type=click.Choice(RESOLUTIONS),
    help="Agents: the resolution to record (default solved).",
)
@click.option("--comment", metavar="TEXT", help="A last message posted before closing.")
@click.option(
    "--with-escalation",
    is_flag=True,
    help="Also resolve the ticket's open escalation, in the same change (without it, an "
    "escalated ticket is not closed: exit 5).",
)
@allow_banned_option
@action_output
@pass_app
def close(
    app: AppContext,
    ids: tuple[str, ...],
    reason: str | None,
    comment: str | None,
    with_escalation: bool,
    allow_banned: bool,
    fmt: str,
) -> int:
    """Close tickets (requester or agent); closing a closed ticket changes nothing.

    \b
    Examples:
      supportctl tickets close 1017 --comment "Solved by the new export endpoint."
      supportctl tickets list --status resolved --idle 14d -o ids | supportctl tickets close -
    """
    from supportctl.api import CLOSED_MESSAGE
    from supportctl.cli.bulk import run_each
    from supportctl.cli.inputs import read_ids

    service = app.service("tickets close")
    _json_allowed(app, fmt, "tickets close")
    if comment:
        from supportctl.cli.templating import check_banned

        check_banned(app, comment, "the comment", allow=allow_banned)
    targets = read_ids(ids)
    changed: list = []

    def one(ticket_id: str) -> str:
        ticket, did = service.close(
            ticket_id, reason=reason, comment=comment, with_escalation=with_escalation
        )
        changed.append(ticket)
        if not did:
            app.note(f"ticket {ticket_id} is already closed; nothing changed")
            return "already closed"
        if ticket.requester == service.actor.username:
            app.note(CLOSED_MESSAGE.format(id=ticket_id))
        else:
            app.note(f"closed ticket {ticket_id} ({ticket.resolution})")
        return "closed"

    code = run_each(app, targets, one, ["closed", "already closed"], label="Closing")
    if fmt == "json":
        _print_changed(app, changed, many=len(targets) > 1)
    return code


@tickets.command("feedback")
@click.argument("ticket_id", metavar="ID")
@click.option(
    "--rating", type=click.IntRange(1, 5), required=True, help="1 (poor) to 5 (excellent)."
)
@click.option("--comment", metavar="TEXT", help="What went well or not.")
@action_output
@pass_app
def feedback(app: AppContext, ticket_id: str, rating: int, comment: str | None, fmt: str) -> None:
    """Rate how a closed ticket of yours was handled (once).

    \b
    Example:
      supportctl tickets feedback 1004 --rating 5 --comment "Fast and clear"
    """
    from supportctl.api import FEEDBACK_AGAIN

    service = app.service("tickets feedback")
    _json_allowed(app, fmt, "tickets feedback")
    ticket, did = service.feedback(ticket_id, rating, comment)
    if did:
        app.note(f"Thank you for your feedback on ticket {ticket_id}.")
    else:
        app.note(FEEDBACK_AGAIN.format(id=ticket_id))
    if fmt == "json":
        _print_changed(app, [ticket], many=False)


@tickets.command("update")
@click.argument("ids", nargs=-1, required=True, metavar="ID…|-")
@click.option(
    "--status",
    type=click.Choice(("new", "open", "pending", "resolved")),
    help="New status (--status open restores a ticket closed as spam).",
)
@click.option("--priority", type=click.Choice(PRIORITIES))
@click.option(
    "--assignee", metavar="U|@me|none", help="Assign to agent U, to yourself, or to no one."
)
@click.option("--group", metavar="G", help='Team to route to ("" clears it).')
@click.option("--add-tag", "add_tags", multiple=True, metavar="T", help="Repeatable.")
@click.option("--remove-tag", "remove_tags", multiple=True, metavar="T", help="Repeatable.")
@click.option("--subject", metavar="TEXT", help="A new subject (at most 250 characters).")
@click.option("--category", type=click.Choice(CATEGORIES), help="A new category.")
@click.option(
    "--add-cc",
    "add_cc",
    multiple=True,
    metavar="U",
    help="Add a cc user: of the requester's organisation, or an agent. Repeatable.",
)
@click.option("--remove-cc", "remove_cc", multiple=True, metavar="U", help="Repeatable.")
@action_output
@pass_app
def update(
    app: AppContext,
    ids: tuple[str, ...],
    status: str | None,
    priority: str | None,
    assignee: str | None,
    group: str | None,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
    subject: str | None,
    category: str | None,
    add_cc: tuple[str, ...],
    remove_cc: tuple[str, ...],
    fmt: str,
) -> int:
    """Triage and edit tickets (agents): status, priority, assignee, group, tags, subject,
    category, cc users.

    Assigning a new ticket opens it. Every change is recorded in the ticket's events. A cc
    user must be one who may see the ticket: of the requester's organisation, or an agent.

    \b
    Examples:
      supportctl --user sam tickets update 1025 --assignee @me --priority high
      supportctl tickets list --scope org --tag billing -o ids | supportctl tickets update - --group Billing
      supportctl tickets update 1025 --subject "Exports over 100k rows time out" --add-cc alice
    """
    from supportctl.api import TicketChanges
    from supportctl.cli.bulk import run_each
    from supportctl.cli.inputs import read_ids

    service = app.service("tickets update")
    _json_allowed(app, fmt, "tickets update")
    changes = TicketChanges(
        status=status,
        priority=priority,
        assignee=assignee,
        group=group,
        add_tags=add_tags,
        remove_tags=remove_tags,
        subject=subject,
        category=category,
        add_cc=add_cc,
        remove_cc=remove_cc,
    )
    from supportctl.api import validate_changes

    validate_changes(changes)  # before reading IDs from stdin
    targets = read_ids(ids)
    changed: list = []

    def one(ticket_id: str) -> str:
        ticket, added = service.update(ticket_id, changes)
        changed.append(ticket)
        if not added:
            app.note(f"ticket {ticket_id}: nothing to change")
            return "unchanged"
        summary = ", ".join(
            f"proxy access of {_fmt(e.detail.get('user'))} removed"  # a cc taken off
            if e.action == "proxy_access_changed"
            else f"{e.action.replace('_changed', '')} "
            f"{_fmt(e.detail.get('from'))} → {_fmt(e.detail.get('to'))}"
            for e in added
        )
        app.note(f"updated ticket {ticket_id}: {summary}")
        return "updated"

    code = run_each(app, targets, one, ["updated", "unchanged"], label="Updating")
    if fmt == "json":
        _print_changed(app, changed, many=len(targets) > 1)
    return code


def _fmt(value) -> str:  # type: ignore[no-untyped-def]
    """A changed value inside the one-line confirmation: a subject's newline or tab is made
    visible (``\\n``), as `tickets show` does, never a line break."""
    from supportctl.render import printable

    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(printable(v) for v in value) + "]"
    return printable(str(value))


@tickets.command("merge")
@click.argument("ids", nargs=-1, required=True, metavar="ID…|-")
@click.option(
    "--into",
    required=True,
    metavar="TARGET",
    help="The ticket the duplicates go into (not closed).",
)
@output_option("text", "json", default="text")
@pass_app
def merge(app: AppContext, ids: tuple[str, ...], into: str, fmt: str) -> int:
    """Merge duplicate tickets into TARGET (agents).

    Each ID is closed as `duplicate` with duplicate_of TARGET; its requester and cc users
    join TARGET's cc, and a system message on each side names the other. Each merge changes
    both tickets in one atomic step. Merging into a closed ticket, into itself, or into a
    ticket that is itself a duplicate of the ID (a cycle) exits 5; so does merging a closed
    ticket, one with an open escalation, or one of another organisation. A ticket already
    merged into TARGET is left as it is (exit 0). -o json prints
    {"target": TARGET as it ends, "merged": [each ID's ticket]}.

    \b
    Examples:
      supportctl --user sam tickets merge 1185 1186 --into 1184
      supportctl tickets list --scope org --status new --search sso -o ids | supportctl tickets merge - --into 1184
    """
    from supportctl.cli.bulk import run_each
    from supportctl.cli.inputs import read_ids

    service = app.service("tickets merge")
    _json_allowed(app, fmt, "tickets merge")
    if not into.strip():
        from supportctl.errors import UsageError

        raise UsageError("--into needs a ticket ID")
    targets = read_ids(ids)
    merged: list = []
    last: list = []

    def one(ticket_id: str) -> str:
        result = service.merge(ticket_id, into)
        merged.append(result.ticket)
        last[:] = [result.target]
        if not result.changed:
            app.note(f"ticket {ticket_id} is already merged into {into}; nothing changed")
            return "already merged"
        app.note(f"merged ticket {ticket_id} into {into} (closed as duplicate)")
        return "merged"

    code = run_each(app, targets, one, ["merged", "already merged"], label="Merging")
    if fmt == "json":
        doc = {
            "target": service.ticket_json(last[0]) if last else None,
            "merged": [service.ticket_json(t) for t in merged],
        }
        app.out(dumps_json(doc) + "\n")
    return code


@tickets.command("sweep")
@click.option(
    "--rule",
    "rule_names",
    multiple=True,
    metavar="NAME",
    help="A configured rule ([sweep.rules.NAME]). Repeatable.",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(("new", "open", "pending", "resolved")),
    help="Ad-hoc rule: tickets in this status. Repeatable. (Sweeps never close or expire "
    "a ticket whose escalation is open: close those with `tickets close --with-escalation`.)",
)
@click.option(
    "--idle", metavar="DURATION", help="Ad-hoc rule: last activity older than this (e.g. 14d, 24h)."
)
@click.option(
    "--action", type=click.Choice(("close", "remind", "expire")), help="Ad-hoc rule: what to do."
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="GROUP",
    help="Ad-hoc rule: tickets of this group only (on rt: queue). Repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
@output_option("table", "json")
@pass_app
def sweep(
    app: AppContext,
    rule_names: tuple[str, ...],
    statuses: tuple[str, ...],
    idle: str | None,
    action: str | None,
    groups: tuple[str, ...],
    dry_run: bool,
    fmt: str,
) -> int:
    """Close, expire or remind stale tickets by rules (agents; made for cron).

    Rules come from the config ([sweep.rules.NAME] with status, idle, action and optional
    priority, type, org, group), from flags (--action with --idle, optionally --status and
    --group), or — with
    neither — the built-in rule: close tickets resolved and idle for 14 days. `close` keeps
    the resolution `solved`; `expire` closes `new` tickets with resolution `expired`;
    `remind` posts one system message to `pending` tickets, never twice in a row. Every
    ticket is re-checked just before it is acted on, so two sweeps at once never act on one
    ticket twice. The report goes to stdout (-o json for logs), a summary to stderr.

    \b
    Examples:
      supportctl tickets sweep --dry-run
      supportctl tickets sweep --action expire --idle 24h -o json >> /var/log/supportctl-sweep.jsonl
    """
    from supportctl.api import BUILTIN_SWEEP_RULE, SweepRule
    from supportctl.errors import UsageError
    from supportctl.timeutil import parse_duration

    service = app.service("tickets sweep")
    configured = app.settings().config.sweep_rules()
    rules = []
    for name in rule_names:
        if name not in configured:
            valid = ", ".join(sorted(configured)) or "none are configured"
            raise UsageError(f"unknown sweep rule {name!r}; configured rules: {valid}")
        rules.append(configured[name])
    if statuses or idle or action or groups:
        if not (idle and action):
            raise UsageError("an ad-hoc sweep rule needs both --action and --idle")
        rules.append(
            SweepRule(
                "command-line", action, parse_duration(idle), statuses=statuses, groups=groups
            )
        )
    if not rules:
        rules = list(configured.values()) or [BUILTIN_SWEEP_RULE]
    show_bar = sys.stderr.isatty()
    with click.progressbar(length=0, label="Sweeping", file=sys.stderr, hidden=not show_bar) as bar:
        outcomes = service.sweep(rules, dry_run=dry_run, progress=bar.update)
    rows = [o.to_dict() for o in outcomes]
    if fmt == "json":
        app.out(dumps_json(rows) + "\n")
    elif rows:
        for row in rows:
            if row["exit_code"]:
                row["detail"] += f" (exit {row['exit_code']})"
        app.out(
            render_rows(
                rows, ["ticket", "rule", "action", "result", "detail"], "table", project_json=False
            )
        )
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.result] = counts.get(o.result, 0) + 1
    done = ", ".join(f"{n} {result}" for result, n in sorted(counts.items())) or "nothing to do"
    names = ", ".join(r.name for r in rules)
    app.note(
        f"sweep{' (dry run)' if dry_run else ''} with rule{'s' if len(rules) > 1 else ''} {names}: {done}"
    )
    for o in outcomes:
        if o.result == "failed":
            app.error(f"ticket {o.ticket_id}: {o.detail}")
    return max((o.exit_code for o in outcomes), default=0)
