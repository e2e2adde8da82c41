"""`supportctl report`: what is breaching, and how fast the team answers (SPEC §10)."""

from __future__ import annotations

import csv
import io
from typing import Any

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.cli.options import output_option
from supportctl.models import display_subject
from supportctl.render import dumps_json, format_table, printable
from supportctl.sla import human
from supportctl.timeutil import local_display

BAR_WIDTH = 30
BREACHING_SHOWN = 25  # the table lists the most urgent; JSON lists all


@click.command("report")
@click.option(
    "--since",
    metavar="WHEN",
    help="Tickets created from WHEN (default: 12 weeks back); the report starts on the "
    "Monday (00:00 UTC) of its ISO week. A bare date is a UTC day here.",
)
@click.option("--until", metavar="WHEN", help="Tickets created until WHEN (default: now).")
@click.option("--scope", type=click.Choice(("mine", "org")), default="mine", show_default=True)
@click.option("--org", metavar="ORG", help="One organisation (implies --scope org).")
@click.option(
    "--by",
    type=click.Choice(("priority", "type", "category", "assignee", "org")),
    default="priority",
    show_default=True,
    help="Group response and resolution times by this field.",
)
@output_option("table", "json", "csv")
@pass_app
def report(
    app: AppContext,
    since: str | None,
    until: str | None,
    scope: str,
    org: str | None,
    by: str,
    fmt: str,
) -> None:
    """Counts by status, created vs resolved per week, response and resolution times
    (median, p90) per group, SLA attainment per priority, and what is breaching now.

    Same visibility as `tickets list` (users: their own tickets). Service levels are
    calendar time; targets come from [sla.first_response] and [sla.resolution]. On a
    terminal the weekly figures are drawn as bars. CSV has one row per group.

    \b
    Examples:
      supportctl --user sam report --scope org --since 8w
      supportctl report --by assignee -o json | jq '.sla_attainment'
    """
    from supportctl.timeutil import parse_window

    doc = app.service("report").report(
        **parse_window(since, until, utc_dates=True),
        scope=scope,
        org=org,
        by=by,
    )
    if fmt == "json":
        app.out(dumps_json(doc) + "\n")
    elif fmt == "csv":
        app.out(render_csv(doc))
    else:
        app.out(render_table(doc, bars=app.stdout_tty, style=app.style))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    from datetime import timedelta

    return human(timedelta(seconds=seconds))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def render_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "by",
            "group",
            "tickets",
            "first_response_median_seconds",
            "first_response_p90_seconds",
            "resolution_median_seconds",
            "resolution_p90_seconds",
        ]
    )
    for g in doc["groups"]:
        writer.writerow(
            [
                doc["by"],
                g["group"],
                g["tickets"],
                g["first_response"]["median_seconds"],
                g["first_response"]["p90_seconds"],
                g["resolution"]["median_seconds"],
                g["resolution"]["p90_seconds"],
            ]
        )
    return out.getvalue()


def render_table(doc: dict[str, Any], *, bars: bool, style: Any) -> str:
    window = doc["window"]
    lines = [
        style(
            f"Report {local_display(window['since'])} – {local_display(window['until'])}, "
            f"{doc['tickets']} tickets ({doc['scope']['scope']} scope"
            + (f", org {doc['scope']['org']}" if doc["scope"].get("org") else "")
            + ")",
            bold=True,
        ),
        "ISO weeks, from Monday 00:00 UTC"
        + (
            f" (the week of --since {local_display(window['requested_since'])})"
            if window.get("requested_since")
            else ""
        )
        + "; resolved per week counts tickets resolved that week, whenever created",
        "",
        style("Tickets by status", bold=True),
        "  " + "  ".join(f"{s} {n}" for s, n in doc["counts_by_status"].items()),
        "",
        style("Created vs resolved per week", bold=True),
    ]
    weeks = doc["weekly"]
    peak = max([max(w["created"], w["resolved"]) for w in weeks] or [0]) or 1
    for w in weeks:
        if bars:
            created = "█" * round(BAR_WIDTH * w["created"] / peak)
            resolved = "▒" * round(BAR_WIDTH * w["resolved"] / peak)
            lines.append(f"  {w['week']}  created  {created} {w['created']}")
            lines.append(f"  {'':8}  resolved {resolved} {w['resolved']}")
        else:
            lines.append(f"  {w['week']}  created {w['created']:>4}  resolved {w['resolved']:>4}")
    lines += ["", style(f"Response and resolution times by {doc['by']}", bold=True)]
    rows = [
        [
            printable(str(g["group"])),
            g["tickets"],
            _duration(g["first_response"]["median_seconds"]),
            _duration(g["first_response"]["p90_seconds"]),
            _duration(g["resolution"]["median_seconds"]),
            _duration(g["resolution"]["p90_seconds"]),
        ]
        for g in doc["groups"]
    ]
    headers = [
        doc["by"].upper(),
        "TICKETS",
        "RESPONSE p50",
        "RESPONSE p90",
        "RESOLUTION p50",
        "RESOLUTION p90",
    ]
    lines += ["  " + line for line in format_table(rows, headers).splitlines()]
    lines += ["", style("SLA attainment by priority", bold=True)]
    rows = [
        [p, _pct(v["first_response_pct"]), _pct(v["resolution_pct"])]
        for p, v in doc["sla_attainment"].items()
    ]
    lines += [
        "  " + line
        for line in format_table(rows, ["PRIORITY", "FIRST RESPONSE", "RESOLUTION"]).splitlines()
    ]
    breaching = doc["breaching_now"]
    lines += ["", style(f"Open tickets breaching now ({len(breaching)})", bold=True)]
    more = len(breaching) - BREACHING_SHOWN
    breaching = breaching[:BREACHING_SHOWN]
    if breaching:
        rows = [
            [
                b["id"],
                b["priority"],
                b["status"],
                ", ".join(b["breached"]).replace("_", " "),
                printable(display_subject(b["subject"], b.get("type", ""), b.get("requester", "")))[
                    :50
                ],
            ]
            for b in breaching
        ]
        lines += [
            "  " + line
            for line in format_table(
                rows, ["ID", "PRIORITY", "STATUS", "BREACHED", "SUBJECT"]
            ).splitlines()
        ]
    else:
        lines.append("  none")
    if more > 0:
        lines.append(
            f"  … and {more} more (`-o json` lists them all; `tickets list --sla breached`)"
        )
    return "\n".join(lines) + "\n"
