"""`supportctl report` (SPEC §10; seed 003): how fast the team answers and resolves.

Pure functions over listing rows that already carry their computed ``sla`` object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from supportctl.models import PRIORITIES, STATUSES
from supportctl.sla import breaching as is_breaching
from supportctl.timeutil import epoch, format_ts

GROUP_FIELDS = ("priority", "type", "category", "assignee", "org")
DEFAULT_WINDOW = timedelta(weeks=12)
MAX_WEEKS = 520  # ten years of weekly rows at most; a wider window keeps its first ten


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (p50 = the median's lower middle for even counts)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week of ``moment``."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def build(
    rows: list[dict[str, Any]],
    *,
    since: datetime,
    until: datetime,
    by: str,
    scope: dict[str, Any],
    resolved_elsewhen: Sequence[dict[str, Any]] = (),
    requested_since: datetime | None = None,
) -> dict[str, Any]:
    """Every figure of SPEC §10 for the tickets created in [since, until], in one pass;
    ``resolved_elsewhen`` (created before, resolved in the window) count in "resolved per
    week" only."""
    counts = dict.fromkeys(STATUSES, 0)
    weekly = _Weekly(since, until)
    groups = _Groups(by)
    attainment = _Attainment()
    breaching = []
    for row in rows:
        sla = row["sla"]
        created = sla["created_ts"] if "created_ts" in sla else epoch(row["created_at"])
        counts[row["status"]] += 1
        weekly.add(sla, created)
        groups.add(row, sla, created)
        if not sla.get("excluded"):
            attainment.add(row["priority"], sla)
        if is_breaching(row, sla):
            breaching.append(_breaching(row, sla))
    for row in resolved_elsewhen:
        weekly.add_resolved(row["sla"])
    window = {"since": format_ts(since), "until": format_ts(until)}
    if requested_since is not None and requested_since != since:
        window["requested_since"] = format_ts(requested_since)
    return {
        "window": window,
        "scope": scope,
        "tickets": len(rows),
        "counts_by_status": counts,
        "weekly": weekly.weeks,
        "by": by,
        "groups": groups.rows(),
        "sla_attainment": attainment.figures(),
        "breaching_now": sorted(
            breaching, key=lambda b: (-PRIORITIES.index(b["priority"]), b["id"])
        ),
    }


def _breaching(row: dict[str, Any], sla: dict[str, Any]) -> dict[str, Any]:
    """What "breaching now" shows of an open ticket whose targets are breached."""
    return {
        "id": row["id"],
        "priority": row["priority"],
        "status": row["status"],
        "breached": sla["breached"],
        "subject": row["subject"],
        "type": row["type"],
        "requester": row["requester"],
        "assignee": row.get("assignee"),
    }


class _Weekly:
    """Tickets created and resolved per ISO week of the window (a resolution counts in its
    own week when that week is in the window)."""

    def __init__(self, since: datetime, until: datetime) -> None:
        self.weeks: list[dict[str, Any]] = []
        start = week_start(since)
        while start <= until and len(self.weeks) < MAX_WEEKS:
            self.weeks.append(
                {
                    "week": start.strftime("%G-W%V"),
                    "start": format_ts(start),
                    "created": 0,
                    "resolved": 0,
                }
            )
            start += timedelta(weeks=1)
        self.first_week = week_start(since).timestamp()
        self.lower, self.upper = since.timestamp(), until.timestamp()

    def _week(self, moment: float) -> dict[str, Any] | None:
        if moment < self.lower or moment > self.upper:
            return None
        index = int((moment - self.first_week) // 604800)
        return self.weeks[index] if index < len(self.weeks) else None

    def add(self, sla: dict[str, Any], created: float) -> None:
        week = self._week(created)
        if week is not None:
            week["created"] += 1
        self.add_resolved(sla)

    def add_resolved(self, sla: dict[str, Any]) -> None:
        if sla["resolved_at"]:
            week = self._week(sla.get("resolved_ts") or epoch(sla["resolved_at"]))
            if week is not None:
                week["resolved"] += 1


_DONE = (
    ("first_response", "first_response_at", "first_response_ts"),
    ("resolution", "resolved_at", "resolved_ts"),
)


class _Groups:
    """Per value of ``--by``: tickets, and median and p90 first-response and resolution times."""

    def __init__(self, by: str) -> None:
        self.by = by
        self.groups: dict[str, dict[str, list[float]]] = {}

    def add(self, row: dict[str, Any], sla: dict[str, Any], created: float) -> None:
        key = row.get(self.by) or "-"
        group = self.groups.setdefault(key, {"tickets": [], "first_response": [], "resolution": []})
        group["tickets"].append(1)
        for name, at, ts in _DONE:
            if sla[at] is not None:
                group[name].append((sla.get(ts) or epoch(sla[at])) - created)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "group": name,
                "tickets": len(values["tickets"]),
                "first_response": _stats(values["first_response"]),
                "resolution": _stats(values["resolution"]),
            }
            for name, values in sorted(self.groups.items(), key=_group_order(self.by))
        ]


class _Attainment:
    """SLA attainment per priority: targets met and missed (SPEC §10)."""

    def __init__(self) -> None:
        self.counts = {p: {"first_response": [0, 0], "resolution": [0, 0]} for p in PRIORITIES}

    def add(self, priority: str, sla: dict[str, Any]) -> None:
        for name, at, _ts in _DONE:
            met_missed = self.counts[priority][name]
            if name in sla["breached"]:
                met_missed[1] += 1
            elif sla[at] is not None:
                met_missed[0] += 1

    def figures(self) -> dict[str, Any]:
        return {
            p: {
                "first_response_pct": _pct(*self.counts[p]["first_response"]),
                "resolution_pct": _pct(*self.counts[p]["resolution"]),
                "first_response": _met_missed(self.counts[p]["first_response"]),
                "resolution": _met_missed(self.counts[p]["resolution"]),
            }
            for p in reversed(PRIORITIES)
        }


def _stats(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "median_seconds": percentile(values, 0.5),
        "p90_seconds": percentile(values, 0.9),
    }


def _met_missed(counts: list[int]) -> dict[str, int]:
    return {"met": counts[0], "missed": counts[1]}


def _pct(met: int, missed: int) -> float | None:
    return round(100.0 * met / (met + missed), 1) if met + missed else None


def _group_order(by: str) -> Any:
    if by == "priority":
        return lambda item: -PRIORITIES.index(item[0]) if item[0] in PRIORITIES else 0
    return lambda item: item[0]
