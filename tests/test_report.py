"""`supportctl report` (SPEC §10): every figure, hand-computed, in table, JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from supportctl.report import percentile
from tests.conftest import NOW, jsonl, message, run, ticket, ts

pytestmark = pytest.mark.usefixtures("backend")


def ago(**delta) -> str:
    return ts(NOW - timedelta(**delta))


def resolved_event(when: str) -> dict:
    return {
        "at": when,
        "actor": "dana",
        "action": "status_changed",
        "detail": {"from": "open", "to": "resolved"},
    }


@pytest.fixture
def history(store):
    """Four high tickets created 10 days ago: responses after 1 h, 2 h, 3 h and 6 h (target 4 h),
    resolved after 1, 2 and 4 days (target 3 d) and one still open; one urgent ticket with no
    reply, open and breaching; all in org acme by bob."""
    base = NOW - timedelta(days=10)

    def at(**delta) -> str:
        return ts(base + timedelta(**delta))

    docs = []
    for n, (reply_h, resolve_d) in enumerate([(1, 1), (2, 2), (3, 4), (6, None)]):
        doc = ticket(
            f"800{n}",
            "bob",
            "acme",
            priority="high",
            assignee="dana",
            status="resolved" if resolve_d else "open",
            created_at=at(),
            updated_at=at(days=resolve_d or 0, hours=reply_h),
            messages=[
                message("m1", "bob", "help", at=at()),
                message("m2", "dana", "answer", at=at(hours=reply_h)),
            ],
            events=[resolved_event(at(days=resolve_d))] if resolve_d else [],
        )
        docs.append(doc)
    docs.append(
        ticket(
            "8009",
            "bob",
            "acme",
            priority="urgent",
            created_at=ago(hours=5),
            updated_at=ago(hours=5),
        )
    )
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    return store


def report(*args: str, user: str = "bob"):
    result = run("--user", user, "report", "--since", "30d", *args)
    assert result.exit_code == 0, result.stderr
    return result


def test_percentiles_are_nearest_rank():
    assert percentile([3, 1, 2, 4], 0.5) == 2
    assert percentile([3, 1, 2, 4], 0.9) == 4
    assert percentile([], 0.5) is None


def test_json_figures_hand_computed(history):
    doc = report("-o", "json").json()
    # bob's own tickets: 1001 and 1003 are older than 30 days, so only 8000–8003 and 8009
    assert doc["tickets"] == 5
    assert doc["counts_by_status"]["resolved"] == 3 and doc["counts_by_status"]["open"] == 2
    high = next(g for g in doc["groups"] if g["group"] == "high")
    assert high["tickets"] == 4
    assert high["first_response"] == {"count": 4, "median_seconds": 7200.0, "p90_seconds": 21600.0}
    assert high["resolution"] == {"count": 3, "median_seconds": 172800.0, "p90_seconds": 345600.0}
    attainment = doc["sla_attainment"]["high"]
    assert attainment["first_response"] == {"met": 3, "missed": 1}
    assert attainment["first_response_pct"] == 75.0
    assert attainment["resolution"] == {"met": 2, "missed": 2}  # 4 days late, and 8003 still open
    assert doc["sla_attainment"]["urgent"]["first_response_pct"] == 0.0
    assert doc["sla_attainment"]["low"]["first_response_pct"] is None
    breaching = [(b["id"], b["breached"]) for b in doc["breaching_now"]]
    assert breaching == [("8009", ["first_response"]), ("8003", ["first_response", "resolution"])]
    assert sum(w["created"] for w in doc["weekly"]) == 5
    assert sum(w["resolved"] for w in doc["weekly"]) == 3


def test_table_holds_the_same_numbers_and_plain_numbers_when_piped(history):
    table = report().stdout
    assert "Created vs resolved per week" in table
    assert "█" not in table  # piped: no bars
    high = next(
        line for line in table.splitlines() if line.strip().startswith("high") and "h" in line
    )
    assert high.split()[1:6] == ["4", "2h", "6h", "2d", "4d"]
    assert "75.0 %" in table
    assert "8009" in table and "8003" in table


def test_bars_on_a_terminal(history):
    from supportctl.cli.report import render_table

    doc = report("-o", "json").json()
    drawn = render_table(doc, bars=True, style=lambda text, **_: text)
    assert "█" in drawn and "▒" in drawn


def test_csv_one_row_per_group(history):
    rows = list(csv.DictReader(io.StringIO(report("-o", "csv").stdout)))
    high = next(r for r in rows if r["group"] == "high")
    assert high["first_response_median_seconds"] == "7200.0"
    assert high["resolution_p90_seconds"] == "345600.0"


def test_group_by_assignee_and_visibility(history):
    doc = run(
        "--user",
        "dana",
        "report",
        "--scope",
        "org",
        "--since",
        "30d",
        "--by",
        "assignee",
        "-o",
        "json",
    ).json()
    groups = {g["group"]: g["tickets"] for g in doc["groups"]}
    assert groups["dana"] == 4
    assert run("--user", "bob", "report", "--scope", "org").exit_code == 4
    carol = run("--user", "carol", "report", "--since", "30d", "-o", "json").json()
    assert carol["tickets"] == 0  # users see their own tickets only


def test_bad_window(history):
    assert run("--user", "bob", "report", "--since", "1d", "--until", "3d").exit_code == 2
