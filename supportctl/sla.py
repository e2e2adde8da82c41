"""Service levels (SPEC §10; seed 003): targets, what counts as a response, breach, risk.

Calendar time, no business hours.  Pure functions: the store keeps each ticket's two SLA
marks in its listing index, so lists and reports need not read whole threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from supportctl.errors import UsageError
from supportctl.models import PRIORITIES, Ticket
from supportctl.timeutil import epoch, format_ts, parse_duration, parse_ts

DEFAULT_FIRST_RESPONSE = {
    "urgent": timedelta(hours=1),
    "high": timedelta(hours=4),
    "normal": timedelta(days=1),
    "low": timedelta(days=2),
}
DEFAULT_RESOLUTION = {
    "urgent": timedelta(days=1),
    "high": timedelta(days=3),
    "normal": timedelta(days=7),
    "low": timedelta(days=14),
}
AT_RISK_SHARE = 0.25  # "at risk": not breached, under 25 % of the target left
#: `tickets list --sla`: breached (ever: historical), breaching (not resolved or closed, a
#: target passed and not met: what is breaching now), at-risk, ok.
SLA_FILTERS = ("breached", "breaching", "at-risk", "ok")
#: Tickets closed so have no service level: never breached, at risk or counted (SPEC §15).
EXCLUDED_RESOLUTIONS = frozenset({"spam", "test", "duplicate", "abuse"})


def excluded(row: dict[str, Any]) -> bool:
    return row.get("status") == "closed" and row.get("resolution") in EXCLUDED_RESOLUTIONS


def _first_response(row: dict[str, Any], found: dict[str, str | None]) -> str | None:
    """A phone ticket's first response is the call itself: met at its creation."""
    if row.get("type") == "phone":
        return row["created_at"]
    return found.get("fr")


@dataclass(frozen=True)
class SlaPolicy:
    first_response: dict[str, timedelta] = field(
        default_factory=lambda: dict(DEFAULT_FIRST_RESPONSE)
    )
    resolution: dict[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_RESOLUTION))

    @classmethod
    def from_config(cls, data: dict[str, Any], where: str = "config") -> SlaPolicy:
        """`[sla.first_response]` and `[sla.resolution]`: priority → duration (SPEC §10)."""
        sla = data.get("sla", {})
        if not isinstance(sla, dict):
            raise UsageError(f"{where}: [sla] must be a table")
        unknown = sorted(set(sla) - {"first_response", "resolution"})
        if unknown:
            raise UsageError(f"{where}: unknown [sla] table(s) {', '.join(unknown)}")
        out = {}
        for key, defaults in (
            ("first_response", DEFAULT_FIRST_RESPONSE),
            ("resolution", DEFAULT_RESOLUTION),
        ):
            table = sla.get(key, {})
            if not isinstance(table, dict):
                raise UsageError(f"{where}: [sla.{key}] must be a table of priority = duration")
            targets = dict(defaults)
            for priority, value in table.items():
                if priority not in PRIORITIES:
                    raise UsageError(
                        f"{where}: [sla.{key}] {priority!r} is not a priority ({', '.join(PRIORITIES)})"
                    )
                if not isinstance(value, str):
                    raise UsageError(
                        f'{where}: [sla.{key}] {priority} must be a duration such as "4h"'
                    )
                try:
                    targets[priority] = parse_duration(value)
                except UsageError as exc:
                    raise UsageError(f"{where}: [sla.{key}] {exc.message}") from None
                if not targets[priority]:
                    raise UsageError(f"{where}: [sla.{key}] {priority} must be longer than 0")
            out[key] = targets
        return cls(**out)


def marks(ticket: Ticket, agents: set[str]) -> dict[str, str | None]:
    """The two facts SLAs need, from a whole ticket (SPEC §10):

    first response = the first ``email`` or ``chat`` message by an agent (notes do not count);
    resolution = the first time the ticket became ``resolved`` or ``closed`` (from its events,
    else ``closed_at``).
    """
    responses = [
        m.at for m in ticket.messages if m.kind in ("email", "chat") and m.author in agents
    ]
    first = min(responses, default=None)
    resolutions = [
        e.at
        for e in ticket.events
        if e.action == "closed"
        or (e.action == "status_changed" and e.detail.get("to") in ("resolved", "closed"))
    ]
    resolved = min(resolutions, default=None)
    if resolved is None and ticket.closed_at:
        resolved = ticket.closed_at
    return {"fr": first, "res": resolved}


def evaluate(
    row: dict[str, Any], found: dict[str, str | None], policy: SlaPolicy, now: datetime
) -> dict[str, Any]:
    """The computed ``sla`` object of a ticket (never stored)."""
    created = parse_ts(row["created_at"])
    priority = row["priority"]
    breached = []
    at_risk = False
    out: dict[str, Any] = {}
    skip = excluded(row)
    for name, target, done in (
        ("first_response", policy.first_response[priority], _first_response(row, found)),
        ("resolution", policy.resolution[priority], found.get("res")),
    ):
        due = created + target
        out[f"{name}_due"] = format_ts(due)
        out["first_response_at" if name == "first_response" else "resolved_at"] = done
        if skip:
            continue
        if done is not None:
            if parse_ts(done) > due:
                breached.append(name)
        elif now > due:
            breached.append(name)
        elif (due - now) < target * AT_RISK_SHARE:
            at_risk = True
    return {
        "first_response_due": out["first_response_due"],
        "first_response_at": out["first_response_at"],
        "resolution_due": out["resolution_due"],
        "resolved_at": out["resolved_at"],
        "breached": breached,
        "at_risk": at_risk and not breached,
        "excluded": skip,
    }


def assess(
    row: dict[str, Any], found: dict[str, str | None], policy: SlaPolicy, now_ts: float
) -> dict[str, Any]:
    """What `evaluate` decides, in epoch arithmetic and without due dates (for reports).

    The epochs it computes are kept (``*_ts``) so a report parses each timestamp once."""
    created = epoch(row["created_at"])
    priority = row["priority"]
    breached = []
    at_risk = False
    done_ts = {}
    skip = excluded(row)
    first = _first_response(row, found)
    for name, target, done in (
        ("first_response", policy.first_response[priority].total_seconds(), first),
        ("resolution", policy.resolution[priority].total_seconds(), found.get("res")),
    ):
        due = created + target
        if done is not None:
            done_ts[name] = epoch(done)
        if skip:
            continue
        if done is not None:
            if done_ts[name] > due:
                breached.append(name)
        elif now_ts > due:
            breached.append(name)
        elif due - now_ts < target * AT_RISK_SHARE:
            at_risk = True
    return {
        "first_response_at": first,
        "resolved_at": found.get("res"),
        "breached": breached,
        "at_risk": at_risk and not breached,
        "excluded": skip,
        "created_ts": created,
        "first_response_ts": done_ts.get("first_response"),
        "resolved_ts": done_ts.get("resolution"),
    }


def state(sla: dict[str, Any]) -> str:
    """`breached`, `at-risk`, `ok`, or `excluded` (no service level)."""
    if sla.get("excluded"):
        return "excluded"
    if sla["breached"]:
        return "breached"
    return "at-risk" if sla["at_risk"] else "ok"


def breaching(row: dict[str, Any], sla: dict[str, Any]) -> bool:
    """Breaching now: not resolved or closed, and a target passed without being met."""
    return row["status"] not in ("resolved", "closed") and any(
        name in sla["breached"] and sla[done] is None
        for name, done in (("first_response", "first_response_at"), ("resolution", "resolved_at"))
    )


def matches(wanted: str, row: dict[str, Any], sla: dict[str, Any]) -> bool:
    """Whether a ticket passes `tickets list --sla WANTED`."""
    if wanted == "breaching":
        return breaching(row, sla)
    return state(sla) == wanted


_TARGETS = (
    ("first_response", "first_response_due", "first_response_at"),
    ("resolution", "resolution_due", "resolved_at"),
)


def due_clock(policy: SlaPolicy) -> Callable[[dict[str, Any], dict[str, str | None]], float | None]:
    """`tickets list --sort due`: a function of a listing row and its SLA marks giving the
    nearest due time (epoch seconds) of a target not yet met; None when none is pending: the
    ticket is resolved or closed, excluded, or both targets were met.  Epoch arithmetic, as
    `assess`: it runs on every row a sort reads."""
    first = {p: t.total_seconds() for p, t in policy.first_response.items()}
    resolution = {p: t.total_seconds() for p, t in policy.resolution.items()}

    def due(row: dict[str, Any], found: dict[str, str | None]) -> float | None:
        if row["status"] in ("resolved", "closed"):  # excluded tickets are closed ones
            return None
        pending = []
        if _first_response(row, found) is None:
            pending.append(first[row["priority"]])
        if found.get("res") is None:
            pending.append(resolution[row["priority"]])
        # the nearer of the two (a config may give a resolution target shorter than the
        # first response's)
        return epoch(row["created_at"]) + min(pending) if pending else None

    return due


def targets(sla: dict[str, Any], created_at: str, now: datetime) -> list[dict[str, Any]]:
    """Each target of a ticket's ``sla`` object as `tickets show` tells it: ``name``,
    ``due``, ``at`` (when it was met, or None), ``state`` (``met``, ``breached``,
    ``at-risk`` or ``on-time``) and ``left`` (time to the due time; negative once it passed;
    for a met target, how early or late it was met).  Empty for an excluded ticket."""
    if sla.get("excluded"):
        return []
    created = parse_ts(created_at)
    out = []
    for name, due_key, done_key in _TARGETS:
        due = parse_ts(sla[due_key])
        at = sla[done_key]
        if at is not None:
            left = due - parse_ts(at)
            state = "met" if left >= timedelta(0) else "breached"
        else:
            left = due - now
            if left < timedelta(0):
                state = "breached"
            elif left < (due - created) * AT_RISK_SHARE:
                state = "at-risk"
            else:
                state = "on-time"
        out.append({"name": name, "due": sla[due_key], "at": at, "state": state, "left": left})
    return out


def describe(sla: dict[str, Any], now: datetime) -> str:
    """The SLA column: time left, or how long ago it was breached (a target met late is
    named after the time left of one still pending)."""
    if sla.get("excluded"):
        return "excluded"
    pending = []
    for name, due_key, done_key in (
        ("response", "first_response_due", "first_response_at"),
        ("resolution", "resolution_due", "resolved_at"),
    ):
        due = parse_ts(sla[due_key])
        if sla[done_key] is None:
            pending.append((due, name))
    if sla["breached"]:
        what = sla["breached"][0].replace("first_", "").replace("_", " ")
        open_breach = [due for due, name in pending if due < now]
        if open_breach:
            return f"breached {human(now - min(open_breach))} ago"
        if pending:  # met late, the other target still to come (what --sort due orders by)
            due, name = min(pending)
            return f"{human(due - now)} left ({name}), {what} late"
        return f"{what} late"
    if not pending:
        return "met"
    due, name = min(pending)
    return f"{human(due - now)} left ({name})"


def human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{max(seconds // 60, 0)}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
