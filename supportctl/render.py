"""Output formats of SPEC §8: table, json, jsonl, csv, tsv, ids; TTY and colour decisions.

Machine formats carry stored values (UTC RFC 3339 times, the stored subject); the table
carries display values (local times, derived subjects).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from supportctl.models import SUMMARY_EXCLUDED, Ticket, display_subject
from supportctl.timeutil import local_display

LIST_FORMATS = ("table", "json", "jsonl", "csv", "tsv", "ids")
#: Every field `--columns` accepts for tickets, in document order.
TICKET_COLUMNS = (*Ticket.__dataclass_fields__, "sla")
SUMMARY_COLUMNS = tuple(c for c in TICKET_COLUMNS if c not in SUMMARY_EXCLUDED)
TIME_COLUMNS = frozenset({"created_at", "updated_at", "closed_at"})
HEADERS = {
    "created_at": "CREATED",
    "updated_at": "LAST ACTIVITY",
    "closed_at": "CLOSED",
    "requester": "USERNAME",
}


# C0, DEL and C1 (U+0080–U+009F: CSI is U+009B) controls.
_CONTROL = {i: f"\\x{i:02x}" for i in [*range(32), *range(127, 160)] if i not in (9, 10)}
_CONTROL_INLINE = {**_CONTROL, 9: "\\t", 10: "\\n"}


def printable(text: str, *, multiline: bool = False) -> str:
    """Text for a terminal: control characters (escape sequences above all) made visible."""
    return text.translate(_CONTROL if multiline else _CONTROL_INLINE)


def error_text(message: str, hint: str | None = None) -> str:
    """SPEC §8's error line (and hint line), control characters made visible: messages
    carry ticket ids, names and details from input and from the store."""
    text = f"supportctl: error: {printable(message)}"
    return text + (f"\nhint: {printable(hint)}" if hint else "")


STATUS_COLORS = {
    "new": "cyan",
    "open": "green",
    "pending": "yellow",
    "escalated": "magenta",
    "resolved": "blue",
    "closed": "bright_black",
}


def header(column: str) -> str:
    return HEADERS.get(column, column.replace("_", " ").upper())


def dumps_json(doc: Any, *, pretty: bool | None = None) -> str:
    """One JSON document: indented for a person on a terminal, compact when piped.

    (An indent makes Python fall back to its pure-Python encoder: for 100,000 tickets that
    is seconds; scripts and `jq` do not need it.)"""
    import sys

    if pretty is None:
        pretty = sys.stdout.isatty()
    if pretty:
        return json.dumps(doc, ensure_ascii=False, indent=2)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def dumps_jsonl(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def parse_columns(text: str, valid: Sequence[str]) -> list[str]:
    """`--columns a,b,c`; an unknown name is a usage error listing the valid ones."""
    from supportctl.errors import UsageError

    columns = list(dict.fromkeys(c.strip().lower() for c in text.split(",") if c.strip()))
    if not columns:
        raise UsageError(f"--columns needs at least one column; valid columns: {', '.join(valid)}")
    unknown = [c for c in columns if c not in valid]
    if unknown:
        raise UsageError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"valid columns: {', '.join(valid)}"
        )
    return columns


def _machine_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    if isinstance(value, dict | list):
        return dumps_jsonl(value)
    return str(value)


def _table_cell(column: str, row: dict[str, Any]) -> str:
    return printable(_table_value(column, row))


def _table_value(column: str, row: dict[str, Any]) -> str:
    value = row.get(column)
    if column == "subject":
        return display_subject(value or "", row.get("type", ""), row.get("requester", ""))
    if column in TIME_COLUMNS:
        return local_display(value) if value else "-"
    if value is None:
        return "-"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if column in ("messages", "events"):
        return str(len(value))
    if column == "sla" and isinstance(value, dict):
        from supportctl.sla import describe
        from supportctl.timeutil import now

        return describe(value, now())
    return _machine_cell(value)


def render_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    project_json: bool = True,
    styler: Any = None,
    headers: dict[str, str] | None = None,
    fit_width: int | None = None,
) -> str:
    """Render documents in one of LIST_FORMATS; the result ends with a newline unless empty.

    ``fit_width`` (a terminal's width) shortens the subject column of a table with `…` so
    that the lines fit; machine formats always carry every value whole.

    ``project_json`` false keeps whole documents in json/jsonl (no `--columns` given).
    """
    rows = list(rows)
    if fmt in ("json", "jsonl"):
        docs = [{c: r.get(c) for c in columns} for r in rows] if project_json else rows
        if fmt == "json":
            return dumps_json(docs) + "\n"
        return "".join(dumps_jsonl(d) + "\n" for d in docs)
    if fmt == "ids":  # each row's key: its id, or for rows without one the first column
        return "".join(f"{r['id'] if 'id' in r else r.get(columns[0])}\n" for r in rows)
    if fmt in ("csv", "tsv"):
        out = io.StringIO()
        if fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            for r in rows:
                writer.writerow([_machine_cell(r.get(c)) for c in columns])
        else:
            out.write("\t".join(columns) + "\n")
            for r in rows:
                cells = [_machine_cell(r.get(c)) for c in columns]
                out.write("\t".join(_tsv_clean(c) for c in cells) + "\n")
        return out.getvalue()
    if not rows:
        return ""
    names = [(headers or {}).get(c) or header(c) for c in columns]
    body = [[_table_cell(c, r) for c in columns] for r in rows]
    if fit_width is not None and "subject" in columns:
        _fit_subjects(body, names, columns.index("subject"), fit_width)
    if styler is not None:
        body = [[styler(c, cell) for c, cell in zip(columns, row, strict=True)] for row in body]
    return format_table(body, names) + "\n"


MIN_SUBJECT_WIDTH = 20


def _fit_subjects(body: list[list[str]], names: list[str], column: int, width: int) -> None:
    """Shorten the subjects (with `…`) so that a table's lines take at most ``width``
    columns, but never below MIN_SUBJECT_WIDTH (a narrow terminal wraps instead)."""
    widths = [display_width(h) + 2 for h in names]
    for row in body:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], display_width(text))
    others = sum(widths) - widths[column] + 2 * (len(widths) - 1)
    room = max(width - others, MIN_SUBJECT_WIDTH, display_width(names[column]) + 2)
    for row in body:
        if display_width(row[column]) > room:
            row[column] = _shorten(row[column], room)


def _shorten(text: str, room: int) -> str:
    """``text`` cut to ``room - 1`` columns, plus `…`."""
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > room - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


# -- tables ---------------------------------------------------------------------------------

_SGR = re.compile(r"\x1b\[[0-9;]*m")  # colour codes: no width on the screen


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal, as wcwidth counts them (wide East Asian
    characters and emoji two, marks and zero-width characters none, colour codes none)."""
    if "\x1b" in text:
        text = _SGR.sub("", text)
    if text.isascii() and text.isprintable():
        return len(text)
    from wcwidth import wcswidth, wcwidth

    width = wcswidth(text)
    return width if width >= 0 else sum(max(wcwidth(ch), 0) for ch in text)


def format_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain table drawn by tabulate (imported here, when a table is drawn): a header
    line, then one line per row, columns two spaces apart and aligned by display width
    (wide characters count two); numbers right-aligned and kept as given, text left;
    ``None`` an empty cell; no line ends in spaces."""
    from tabulate import tabulate

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    align = [
        "right"
        if any(row[i] for row in cells) and all(not row[i] or _NUMBER(row[i]) for row in cells)
        else "left"
        for i in range(len(headers))
    ]
    table = tabulate(
        cells, headers=list(headers), tablefmt="plain", colalign=align, disable_numparse=True
    )
    return "\n".join(line.rstrip() for line in table.splitlines())


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)").fullmatch


def _tsv_clean(text: str) -> str:
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


# -- tickets show -------------------------------------------------------------------------------

CLOSED_BANNER = (
    "This ticket has been closed. If you have more questions, "
    "open a new ticket and reference ticket {id}."
)


def _printable_ticket(ticket: Ticket) -> Ticket:
    """A copy whose every string is safe to draw on a terminal (bodies keep their lines)."""

    def clean(value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            return printable(value, multiline=key == "body")
        if isinstance(value, list):
            return [clean(v, key) for v in value]
        if isinstance(value, dict):
            return {k: clean(v, k) for k, v in value.items()}
        return value

    doc = ticket.to_dict()
    if not _needs_escaping(doc):
        return ticket  # the usual case: nothing to escape, no copy
    return Ticket.from_dict(clean(doc), validate=False)


_UNSAFE_IN_BODY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all controls but \t, \n


def _needs_escaping(value: Any, key: str = "") -> bool:
    """Whether any string in ``value`` has a character `printable` would escape."""
    if isinstance(value, str):
        return _UNSAFE_IN_BODY.search(value) is not None or (
            key != "body" and ("\n" in value or "\t" in value)
        )
    if isinstance(value, list):
        return any(_needs_escaping(v, key) for v in value)
    if isinstance(value, dict):
        return any(_needs_escaping(v, k) for k, v in value.items())
    return False


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


def _indent(text: str, prefix: str = "    ") -> list[str]:
    return [prefix + line if line else "" for line in text.splitlines()] or [prefix]


Style = Callable[..., str]
Who = Callable[[str | None], str]


def render_ticket(view: Any, style: Style | None = None, *, now: datetime | None = None) -> str:
    """The full per-type view of `tickets show` (SPEC §4) for an ``api.TicketView``:
    details, service level, escalation, resources, call, transcript or thread, history,
    closing state. ``now``: the moment time left is counted from (default: the clock)."""
    style = style or (lambda text, **_: text)
    t: Ticket = _printable_ticket(view.ticket)
    who = _namer(view.users)
    lines = [style(f"Ticket {t.id}  {t.display_subject()}", bold=True), ""]
    lines += _detail_lines(t, view.proxy_access, who)
    if view.sla:
        lines += ["", style("Service level", bold=True)]
        lines += _sla_lines(t, view.sla, now or _now())
    if t.escalation_id:
        lines += ["", style("Escalation", bold=True)]
        if view.escalation is None:
            lines.append(f"  {t.escalation_id} (details unavailable)")
        else:
            lines += render_escalation_progress(view.escalation, style)
    if t.resources:
        lines += ["", style("Resources", bold=True)]
        lines += [f"  - {r.get('title', '')}  {r.get('url', '')}" for r in t.resources]
    if t.type == "call" and t.call:
        lines += ["", style("Conference call", bold=True), *_call_lines(t.call)]
    lines += _conversation_lines(t, style, who)
    if t.events:
        lines += ["", style(f"History ({_plural(len(t.events), 'event')})", bold=True)]
        lines += [
            f"  [{local_display(e.at)}] {who(e.actor)} {_describe_event(e)}" for e in t.events
        ]
    if t.status == "closed":
        lines += ["", style(CLOSED_BANNER.format(id=t.id), bold=True)]
        if t.duplicate_of:
            lines.append(
                f"It was merged into ticket {t.duplicate_of}, where the conversation continues."
            )
        lines.append(_feedback_line(t, view.viewer.username))
    history = getattr(view, "history", None)
    if history is not None:
        lines += _history_lines(history, t.requester, style, who)
    return "\n".join(lines) + "\n"


_TARGET_LABELS = {"first_response": "First response", "resolution": "Resolution"}
_STATE_WORDS = {"met": "met", "breached": "breached", "at-risk": "at risk", "on-time": "on time"}


def _sla_lines(t: Ticket, sla: dict[str, Any], now: datetime) -> list[str]:
    """SPEC §16: each target's due time, met/breached/at risk and time left, or excluded."""
    from supportctl.sla import human, targets

    if sla.get("excluded"):
        return [f"  excluded: closed as {t.resolution}, so it has no service level"]
    found = targets(sla, t.created_at, now)
    width = max(len(label) for label in _TARGET_LABELS.values()) + 3
    lines = []
    for target in found:
        left = target["left"]
        if target["at"] is not None:
            at = local_display(target["at"])
            if target["state"] == "breached":
                detail = f"met at {at}, {human(-left)} late"
            else:
                detail = f"at {at}, {human(left)} to spare"
        elif target["state"] == "breached":
            detail = f"{human(-left)} overdue"
        else:
            detail = f"{human(left)} left"
        label = (_TARGET_LABELS[target["name"]] + ":").ljust(width)
        lines.append(
            f"  {label}{_STATE_WORDS[target['state']]} · due {local_display(target['due'])} · "
            f"{detail}"
        )
    return lines


def _now() -> datetime:
    from supportctl.timeutil import now

    return now()


def _history_lines(
    history: list[dict[str, Any]], requester: str, style: Style, who: Who
) -> list[str]:
    """For agents (001 "inquiry history"): the requester's other tickets, newest first."""
    lines = ["", style(f"Other tickets of {who(requester)} (newest first)", bold=True)]
    if not history:
        return [*lines, "  none"]
    rows = [
        [
            printable(h["id"]),
            h["status"],
            local_display(h["created_at"]),
            printable(h["subject"]) or "(no subject)",
        ]
        for h in history
    ]
    table = format_table(rows, ["ID", "STATUS", "CREATED", "SUBJECT"])
    return lines + ["  " + line for line in table.splitlines()]


def _namer(users: dict[str, Any]) -> Who:
    """``Name (username)`` for users the view knows, the bare username otherwise."""

    def who(name: str | None) -> str:
        if not name:
            return "-"
        user = users.get(name)
        shown = f"{user.name} ({name})" if user and user.name and user.name != name else name
        return printable(shown)

    return who


def _detail_lines(t: Ticket, proxy_access: list[Any], who: Who) -> list[str]:
    """The labelled fields at the top of `tickets show`, aligned."""
    fields: list[tuple[str, str]] = [
        ("Status", t.status + (f" ({t.resolution}{_of(t)})" if t.resolution else "")),
        ("Type", f"{t.type} · {t.category} · priority {t.priority}"),
        ("Created", local_display(t.created_at)),
        ("Last activity", local_display(t.updated_at)),
    ]
    if t.closed_at:
        fields.append(("Closed", local_display(t.closed_at)))
    rep = who(t.assignee) if t.assignee else "not assigned yet"
    if t.group:
        rep += f" · group {t.group}"
    fields += [
        ("Assigned rep", rep),
        ("Submitted by", who(t.requester)),
        ("Additional users", ", ".join(who(n) for n in t.cc) or "-"),
        ("Language", t.language or "-"),
    ]
    if t.tags:
        fields.append(("Tags", ", ".join(t.tags)))
    proxy = [
        f"{e.username}: {'on' if e.effective else 'off'} "
        f"({'ticket override' if e.source == 'override' else 'account default'})"
        for e in proxy_access
    ]
    fields.append(("Proxy access", "; ".join(proxy) or "-"))
    width = max(len(label) for label, _ in fields) + 2
    return [f"{(label + ':').ljust(width)}{value}" for label, value in fields]


def _call_lines(call: dict[str, Any]) -> list[str]:
    return [
        f"  Scheduled:    {local_display(call.get('scheduled_at')) or '-'}",
        f"  Call status:  {call.get('status', 'pending')}",
        f"  Meeting link: {call.get('meeting_url') or '-'}",
        f"  Passcode:     {call.get('passcode') or '-'}",
    ]


def _conversation_lines(t: Ticket, style: Style, who: Who) -> list[str]:
    """By type (000): the chat transcript, the email thread (with notes), or for phone
    tickets a line saying only basic information is kept."""
    lines: list[str] = []
    chat = [m for m in t.messages if m.kind == "chat"]
    thread = [m for m in t.messages if m.kind != "chat"]
    if t.type == "chat" or chat:
        lines += ["", style(f"Chat transcript ({_plural(len(chat), 'line')})", bold=True)]
        for m in chat:
            lines.append(f"  [{local_display(m.at)}] {who(m.author)}: {m.body}")
            lines += _attachment_lines(m)
    if thread or t.type in ("email", "web"):
        title = "Email thread" if t.type in ("email", "web") else "Messages"
        lines += ["", style(f"{title} ({_plural(len(thread), 'message')})", bold=True)]
        for m in thread:
            label = {"note": "INTERNAL NOTE", "system": "system", "email": "email"}[m.kind]
            heading = f"  [{local_display(m.at)}] {who(m.author)} — {label}"
            lines.append(style(heading, fg="yellow") if m.kind == "note" else heading)
            lines += _indent(m.body)
            lines += _attachment_lines(m)
            lines.append("")
        if lines[-1] == "":
            lines.pop()
    if t.type == "phone":
        lines += ["", "Phone ticket: basic information only (no call transcript is kept)."]
    return lines


def _feedback_line(t: Ticket, viewer: str) -> str:
    """The feedback state under the closed banner; the requester is told how to leave it."""
    if t.feedback:
        fb = t.feedback
        stars = "★" * fb["rating"] + "☆" * (5 - fb["rating"])
        comment = f' "{fb["comment"]}"' if fb.get("comment") else ""
        return f"Feedback: {fb['rating']}/5 {stars}{comment} (given {local_display(fb['at'])})"
    if viewer == t.requester:
        return (
            "Feedback: not given yet — leave it with "
            f"`supportctl tickets feedback {t.id} --rating 1..5`"
        )
    return "Feedback: not given yet"


def _describe_event(event: Any) -> str:
    """One event of the audit trail in words: ``status_changed from new to open``."""
    detail = dict(event.detail)
    trigger = detail.pop("trigger", None)  # why it happened (SPEC §13)
    words = [event.action.replace("_", " ")]
    if "from" in detail or "to" in detail:
        old, new = detail.pop("from", None), detail.pop("to", None)
        words.append(f"{_event_value(old)} → {_event_value(new)}")
    words += [f"{key} {_event_value(value)}" for key, value in detail.items()]
    if trigger is not None:
        words.append(f"(by trigger {_event_value(trigger)})")
    return " ".join(words)


def _of(ticket: Ticket) -> str:
    """` of 1184` for a ticket closed as a duplicate of 1184 (`tickets merge`)."""
    return f" of {printable(ticket.duplicate_of)}" if ticket.duplicate_of else ""


def _event_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _attachment_lines(message: Any) -> list[str]:
    return [f"    📎 {a.name} ({_size(a.size)}, {a.content_type})" for a in message.attachments]


def render_escalation_progress(esc: Any, style: Any) -> list[str]:
    """Each stage with its date, the current one marked, later ones pending (SPEC §4)."""
    from supportctl.models import STAGES

    reached = {step["stage"]: step["at"] for step in esc.timeline}
    notes = {step["stage"]: step["note"] for step in esc.timeline if step.get("note")}
    current = STAGES.index(esc.stage)
    lines = [f"  {esc.id}: {printable(esc.description)}"]
    for i, stage in enumerate(STAGES):
        if i < current:
            mark, when = "✓", local_display(reached[stage]) if stage in reached else "skipped"
        elif i == current:
            mark, when = "▶", local_display(reached.get(stage)) or ""
        else:
            mark, when = "·", "pending"
        text = f"  {mark} {stage.replace('_', ' '):<20} {when}"
        if stage in notes:
            text += f" ({printable(notes[stage])})"
        lines.append(style(text, bold=True) if i == current else text)
    if esc.stage == "confirm_resolution":
        lines.append("  Action needed: please confirm that the fix resolves your issue.")
    if esc.expected_resolution and esc.stage != "resolved":
        lines.append(
            f"  Expected resolution: {esc.expected_resolution} (an estimate, not a promise)"
        )
    return lines


# -- org view -----------------------------------------------------------------------------------


def _printable_contact(value: Any) -> Any:
    if not isinstance(value, dict):
        return printable(value) if isinstance(value, str) else value
    return {f: printable(x) if isinstance(x, str) else x for f, x in value.items()}


def _printable_org(org: Any) -> Any:
    from dataclasses import replace

    team = {k: _printable_contact(v) for k, v in (org.account_team or {}).items()}
    billing = {k: _printable_contact(c) for k, c in (org.billing or {}).items()}
    return replace(
        org,
        name=printable(org.name),
        data_center=printable(org.data_center or ""),
        package=printable(org.package or ""),
        account_team=team,
        billing=billing,
    )


def contact_line(contact: Any, *, updated: bool = False) -> str:
    """A contact (SPEC §2) on one line: ``Name <email> (updated …)``, ``-`` for none."""
    if not contact:
        return "-"
    if isinstance(contact, str):  # a bare name (stores before contacts)
        return contact
    text = contact.get("name") or "-"
    if contact.get("email"):
        text += f" <{contact['email']}>"
    if updated:
        text += f" (updated {local_display(contact.get('updated_at')) or 'unknown'})"
    return text


ACCOUNT_TEAM_LABELS = (
    ("success_manager", "Customer success manager"),
    ("account_executive", "Account executive"),
    ("technical_account_manager", "Technical account manager"),
)
BILLING_LABELS = (("primary_contact", "Primary contact"), ("billing_contact", "Billing contact"))


def billing_lines(org: Any) -> list[str]:
    """The billing contacts with their update times, and when they were last confirmed."""
    billing = org.billing or {}
    lines = [
        f"  {label + ':':<28}{contact_line(billing.get(key), updated=True)}"
        for key, label in BILLING_LABELS
    ]
    confirmed = local_display(billing.get("confirmed_at")) or "never"
    lines.append(f"  {'Confirmed:':<28}{confirmed}")
    lines.append(f"  {'Renewal date:':<28}{org.renewal_date or '-'}")
    return lines


def _printable_view_users(view: Any) -> Any:
    from dataclasses import replace

    users = [
        replace(u, name=printable(u.name), email=printable(u.email) if u.email else u.email)
        for u in view.users
    ]
    return replace(view, users=users)


def render_org(view: Any, style: Any) -> str:
    """`org view` as text: full for admins and agents, the admins' contacts for users."""
    org = _printable_org(view.org)
    view = _printable_view_users(view)
    lines = [style(f"{org.name} ({org.id})", bold=True)]
    if not view.full:
        lines += ["", "Brand admins (ask them about your organisation's account):"]
        lines += [
            f"  {u.name} <{u.email}> ({u.username})" if u.email else f"  {u.name} ({u.username})"
            for u in view.users
        ] or ["  none"]
        return "\n".join(lines) + "\n"
    lines += [f"Data centre:  {org.data_center or '-'}", f"Package:      {org.package or '-'}"]
    team = org.account_team or {}
    lines += ["", style("Account team", bold=True)]
    for key, label in ACCOUNT_TEAM_LABELS:  # labels are ASCII
        lines.append(f"  {label + ':':<28}{contact_line(team.get(key))}")
    lines += ["", style("Billing contacts", bold=True), *billing_lines(org)]
    lines += ["", style(f"Users ({len(view.users)})", bold=True)]
    users = [
        [
            u.username,
            u.role,
            u.name,
            f"<{u.email}>" if u.email else "(not shown)",
            "FedRAMP" if u.fedramp else None,
        ]
        for u in view.users
    ]
    if users:  # aligned by display width, whatever the names' script
        table = format_table(users, ["USERNAME", "ROLE", "NAME", "EMAIL", ""])
        lines += ["  " + line for line in table.splitlines()]
    lines += ["", style("Tickets by status", bold=True)]
    lines.append("  " + "  ".join(f"{status} {n}" for status, n in view.ticket_counts.items()))
    lines += ["", style(f"Open escalations ({len(view.open_escalations)})", bold=True)]
    for esc in view.open_escalations:
        expected = (
            f", expected {esc.expected_resolution} (estimate)" if esc.expected_resolution else ""
        )
        lines.append(f"  {esc.id}  ticket {esc.ticket_id}  {esc.stage.replace('_', ' ')}{expected}")
    return "\n".join(lines) + "\n"


# -- account pages (SPEC §14) -------------------------------------------------------------------


def renewal_notice(org: Any) -> str:
    """The notice of SPEC §14 for brand admins, on stderr."""
    return (
        f"Your contract renews on {printable(org.renewal_date or '')}: please check the billing "
        "contacts. If they are right, confirm them with `supportctl org billing confirm`; "
        "if not, edit them with `supportctl org billing set primary|billing --name NAME "
        "--email ADDRESS`."
    )


def render_billing(view: Any, style: Any) -> str:
    """`org billing show` as text."""
    org = _printable_org(view.org)
    lines = [style(f"Billing contacts of {org.id}", bold=True), *billing_lines(org)]
    if view.confirm_due:
        lines.append(f"  {'Confirmation due:':<28}yes (before the renewal)")
    return "\n".join(lines) + "\n"


def render_me(view: Any, style: Any, fedramp_note: str) -> str:
    """`me` as text: the profile, then the account team, the brand admins, or neither."""
    user = view.user
    org = _printable_org(view.org)
    rows = [
        ("Name", printable(user.name)),
        ("Email", printable(user.email or "-")),
        ("Username", printable(user.username)),
        ("Org ID", f"{org.id} ({org.name})" if org.name and org.name != org.id else org.id),
        ("User type", user.role),
        ("Data centre", org.data_center or "-"),
        ("FedRAMP", "yes" if user.fedramp else "no"),
        (
            "Proxy login access",
            "- (a customer's setting)"
            if user.role == "agent"
            else ("on" if user.support_access else "off"),
        ),
    ]
    lines = [style(f"{printable(user.name)} ({printable(user.username)})", bold=True)]
    lines += [f"  {label + ':':<28}{value}" for label, value in rows[1:]]
    if user.role != "agent":
        lines.append(f"  {'':<28}(the account default; a ticket's own setting wins)")
    lines += ["", style("Account team", bold=True)]
    if view.account_team is not None:
        team = {k: _printable_contact(v) for k, v in view.account_team.items()}
        for key, label in ACCOUNT_TEAM_LABELS:
            lines.append(f"  {label + ':':<28}{contact_line(team.get(key))}")
    elif view.admins is not None:
        lines.append("  Brand admins (ask them about your organisation's account):")
        for admin in view.admins:
            name, email = printable(admin["name"]), printable(admin.get("email") or "")
            lines.append(f"    {name} <{email}> ({printable(admin['username'])})")
        if not view.admins:
            lines.append("    none")
    else:
        lines.append(f"  {fedramp_note[0].upper()}{fedramp_note[1:]}.")
    return "\n".join(lines) + "\n"
