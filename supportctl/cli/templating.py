"""Templated replies, their preview and the banned-word check (SPEC §13), for the commands.

Everything here reads; nothing writes. `tickets reply --template` renders every ticket's
message first (``Drafts.prepare``), so a bulk reply either starts cleanly or writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supportctl import templates
from supportctl.errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from supportctl.api import TicketChanges, TicketService, TicketView
    from supportctl.cli.context import AppContext


def banned_words(app: AppContext) -> tuple[str, ...]:
    settings = app.settings()
    return settings.config.banned_words(settings.profile)


def check_banned(app: AppContext, body: str, what: str, *, allow: bool) -> None:
    """Exit 2 naming each banned word and its line, unless ``allow`` (--allow-banned)."""
    if allow:
        return
    found = templates.find_banned(body, banned_words(app))
    if found:
        raise templates.banned_error(found, what)


def load_template(app: AppContext, name: str) -> templates.Template:
    settings = app.settings()
    return templates.load(settings.config.templates_dir(settings.profile), name)


@dataclass
class Draft:
    """One ticket's message, as it will be sent."""

    ticket_id: str
    body: str
    view: TicketView | None = None
    banned: list[templates.Banned] = field(default_factory=list)


class Drafts:
    """The per-ticket messages of one `tickets reply`, rendered before anything is sent."""

    def __init__(
        self,
        app: AppContext,
        service: TicketService,
        template: templates.Template | None,
        variables: dict[str, str],
    ) -> None:
        self.app = app
        self.service = service
        self.template = template
        self.variables = variables
        self._orgs: dict[str, str | None] = {}

    def prepare(
        self, targets: list[str], text: str, *, internal: bool, preview: bool, allow_banned: bool
    ) -> list[Draft]:
        """Every ticket's draft; the first that cannot be rendered, or that holds a banned
        word (unless allowed or previewed), stops the command before any write."""
        words = () if internal else banned_words(self.app)
        needs_ticket = preview or (
            self.template is not None and templates.needs_ticket(self.template)
        )
        drafts = []
        for ticket_id in targets:
            view = self.service.show_ticket(ticket_id) if needs_ticket else None
            body = self._body(text, view, ticket_id)
            found = templates.find_banned(body, words)
            if found and not (preview or allow_banned):
                raise templates.banned_error(found, f"the reply to ticket {ticket_id}")
            drafts.append(Draft(ticket_id, body, view, found))
        return drafts

    def _body(self, text: str, view: TicketView | None, ticket_id: str) -> str:
        if self.template is None:
            return text
        values = self.values(view)
        body = templates.render(self.template.body, values, f"ticket {ticket_id}")
        return f"{body}\n\n{text}" if text else body

    def values(self, view: TicketView | None) -> dict[str, str | None]:
        me = self.service.actor
        values: dict[str, str | None] = {
            "me.name": me.name,
            "me.username": me.username,
            "me.email": me.email or None,
        }
        if view is not None:
            ticket = view.ticket
            requester = view.users.get(ticket.requester)
            assignee = view.users.get(ticket.assignee) if ticket.assignee else None
            values.update(
                {
                    "ticket.id": ticket.id,
                    "ticket.subject": ticket.subject,
                    "ticket.priority": ticket.priority,
                    "ticket.status": ticket.status,
                    "requester.username": ticket.requester,
                    "requester.name": requester.name if requester else None,
                    "requester.email": (requester.email or None) if requester else None,
                    "org.name": self._org_name(ticket.org),
                    "assignee.name": assignee.name if assignee else None,
                }
            )
        values.update(self.variables)
        return values

    def _org_name(self, org_id: str) -> str | None:
        if not org_id or not self.app.serves("org view"):
            return None  # RT has no organisations: {{ org.name }} has no value there
        if org_id not in self._orgs:
            try:
                self._orgs[org_id] = self.service.org_view(org_id).org.name
            except (NotFound, PermissionDenied):
                self._orgs[org_id] = None
        return self._orgs[org_id]


def preview(
    draft: Draft,
    me: Any,
    *,
    internal: bool,
    attachments: list[Any],
    actions: TicketChanges | None,
    words: tuple[str, ...],
) -> str:
    """The message as the customer will receive it (SPEC §13), and what would follow."""
    view = draft.view
    assert view is not None
    ticket = view.ticket
    lines = [f"── ticket {ticket.id} " + "─" * 40]
    if internal:
        lines.append(f"Internal note by {me.name} — not sent to the customer")
    else:
        lines.append(f"From: {me.name}")
        lines.append(f"To: {_address(view, ticket.requester)}")
        if ticket.cc:
            lines.append("Cc: " + ", ".join(_address(view, name) for name in ticket.cc))
    lines.append(f"Subject: Re: {ticket.subject} [#{ticket.id}]")
    lines.append("")
    lines.append(templates.mark_banned(draft.body, words) if draft.banned else draft.body)
    lines.append("")
    if attachments:
        files = ", ".join(f"{a.name} ({len(a.data):,} bytes)" for a in attachments)
        lines.append(f"Attachments: {files}")
    if actions is not None and not actions.empty:
        lines.append(f"Then: {templates.actions_text(actions)}")
    if draft.banned:
        listing = ", ".join(f"{b.word!r} (line {b.line})" for b in draft.banned)
        lines.append(f"Banned words: {listing} — not sent without --allow-banned")
    if ticket.status == "closed":
        lines.append(
            f"Not sent: ticket {ticket.id} is closed (a reply would exit 5; open a new ticket "
            "that references it)"
        )
    return "\n".join(lines) + "\n"


def _address(view: TicketView, username: str) -> str:
    user = view.users.get(username)
    if user is None:
        return username
    return f"{user.name} <{user.email}>" if user.email else user.name


def refuse_actions_for_customers(service: TicketService, template: templates.Template) -> None:
    """SPEC §13: a customer using a template with actions exits 4 before anything is written."""
    if not template.actions.empty and not service.actor.is_agent:
        raise PermissionDenied(
            f"template {template.name} changes tickets ({', '.join(templates.describe_actions(template.actions))}); "
            "only agents may use it"
        )
