"""`supportctl report` (SPEC §10; seed 003): how fast the team answers and resolves.

Pure functions over listing rows that already carry their computed ``sla`` object.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from supportctl.models import PRIORITIES, STATUSES
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


def _week_start(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def build(
    rows: list[dict[str, Any]], *, since: datetime, until: datetime, by: str, scope: dict[str, Any]
) -> dict[str, Any]:
    """Every figure of SPEC §10 for the tickets created in [since, until]."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row["status"]] += 1

    weeks: list[dict[str, Any]] = []
    start = _week_start(since)
    while start <= until and len(weeks) < MAX_WEEKS:
        weeks.append(
            {
                "week": start.strftime("%G-W%V"),
                "start": format_ts(start),
                "created": 0,
                "resolved": 0,
            }
        )
        start += timedelta(weeks=1)
    first_week = _week_start(since).timestamp()
    lower, upper = since.timestamp(), until.timestamp()

    def week_of(moment: float) -> int | None:
        if moment < lower or moment > upper:
            return None
        return int((moment - first_week) // 604800)

    groups: dict[str, dict[str, list[float]]] = {}
    attainment = {p: {"first_response": [0, 0], "resolution": [0, 0]} for p in PRIORITIES}
    breaching = []
    for row in rows:
        sla = row["sla"]
        created = sla["created_ts"] if "created_ts" in sla else epoch(row["created_at"])
        index = week_of(created)
        if index is not None and index < len(weeks):
            weeks[index]["created"] += 1
        if sla["resolved_at"]:
            index = week_of(sla.get("resolved_ts") or epoch(sla["resolved_at"]))
            if index is not None and index < len(weeks):
                weeks[index]["resolved"] += 1
        key = row.get(by) or "-"
        group = groups.setdefault(key, {"tickets": [], "first_response": [], "resolution": []})
        group["tickets"].append(1)
        for name, done, done_ts in (
            ("first_response", sla["first_response_at"], sla.get("first_response_ts")),
            ("resolution", sla["resolved_at"], sla.get("resolved_ts")),
        ):
            if done is not None:
                group[name].append((done_ts or epoch(done)) - created)
            met_missed = attainment[row["priority"]][name]
            if name in sla["breached"]:
                met_missed[1] += 1
            elif done is not None:
                met_missed[0] += 1
        if sla["breached"] and row["status"] not in ("resolved", "closed"):
            breaching.append(
                {
                    "id": row["id"],
                    "priority": row["priority"],
                    "status": row["status"],
                    "breached": sla["breached"],
                    "subject": row["subject"],
                    "type": row["type"],
                    "requester": row["requester"],
                    "assignee": row.get("assignee"),
                }
            )

    def stats(values: list[float]) -> dict[str, Any]:
        return {
            "count": len(values),
            "median_seconds": percentile(values, 0.5),
            "p90_seconds": percentile(values, 0.9),
        }

    group_rows = [
        {
            "group": name,
            "tickets": len(values["tickets"]),
            "first_response": stats(values["first_response"]),
            "resolution": stats(values["resolution"]),
        }
        for name, values in sorted(groups.items(), key=_group_order(by))
    ]

    def pct(met: int, missed: int) -> float | None:
        return round(100.0 * met / (met + missed), 1) if met + missed else None

    return {
        "window": {"since": format_ts(since), "until": format_ts(until)},
        "scope": scope,
        "tickets": len(rows),
        "counts_by_status": counts,
        "weekly": weeks,
        "by": by,
        "groups": group_rows,
        "sla_attainment": {
            p: {
                "first_response_pct": pct(*attainment[p]["first_response"]),
                "resolution_pct": pct(*attainment[p]["resolution"]),
                "first_response": {
                    "met": attainment[p]["first_response"][0],
                    "missed": attainment[p]["first_response"][1],
                },
                "resolution": {
                    "met": attainment[p]["resolution"][0],
                    "missed": attainment[p]["resolution"][1],
                },
            }
            for p in reversed(PRIORITIES)
        },
        "breaching_now": sorted(
            breaching, key=lambda b: (-PRIORITIES.index(b["priority"]), b["id"])
        ),
    }


def _group_order(by: str) -> Any:
    if by == "priority":
        return lambda item: -PRIORITIES.index(item[0]) if item[0] in PRIORITIES else 0
    return lambda item: item[0]
