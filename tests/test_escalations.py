"""Escalations (SPEC §2, §3, §4, §9): list, track (timeline, --wait), create, advance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from supportctl.models import STAGES
from tests.conftest import jsonl, run

pytestmark = pytest.mark.usefixtures("backend")

TIMES = {
    "submitted": "2026-10-02T09:00:00Z",
    "evaluating": "2026-10-03T09:00:00Z",
    "in_engineering": "2026-10-05T09:00:00Z",
    "confirm_resolution": "2026-10-09T09:00:00Z",
    "resolved": "2026-10-10T09:00:00Z",
}


def escalation(esc_id: str, ticket_id: str, stage: str, expected: str | None = "2026-10-20"):
    reached = STAGES[: STAGES.index(stage) + 1]
    return {
        "kind": "escalation",
        "id": esc_id,
        "ticket_id": ticket_id,
        "description": f"Engineering work for {ticket_id}",
        "stage": stage,
        "timeline": [{"stage": s, "at": TIMES[s]} for s in reached],
        "expected_resolution": expected,
        "created_at": TIMES["submitted"],
        "updated_at": TIMES[stage],
    }


@pytest.fixture
def esc_store(store):
    """One escalation per stage on new tickets of bob (2001–2005) plus one of gina's."""
    from tests.conftest import ticket

    docs = []
    for number, stage in enumerate(STAGES, 1):
        ticket_id = f"200{number}"
        status = "open" if stage == "resolved" else "escalated"
        docs.append(ticket(ticket_id, "bob", "acme", status=status, escalation_id=f"CP-{number}"))
        docs.append(escalation(f"CP-{number}", ticket_id, stage))
    docs.append(ticket("2009", "gina", "globex", status="escalated", escalation_id="CP-9"))
    docs.append(escalation("CP-9", "2009", "evaluating"))
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    return store


def track(user: str, *args: str):
    return run("--user", user, "escalations", "track", *args)


@pytest.mark.parametrize(("number", "stage"), list(enumerate(STAGES, 1)))
def test_timeline_at_each_stage(esc_store, number, stage):
    out = track("bob", f"CP-{number}").stdout
    lines = out.splitlines()
    current = STAGES.index(stage)
    for i, name in enumerate(STAGES):
        line = next(line for line in lines if name.replace("_", " ") in line and "CP-" not in line)
        if i < current:
            assert line.lstrip().startswith("✓"), line
        elif i == current:
            assert line.lstrip().startswith("▶"), line
        else:
            assert line.lstrip().startswith("·") and line.endswith("pending"), line
    confirm = "please confirm that the fix resolves your issue" in out
    assert confirm == (stage == "confirm_resolution")
    estimate = "Expected resolution: 2026-10-20 (an estimate, not a promise)" in out
    assert estimate == (stage != "resolved")


def test_track_by_ticket_and_json(esc_store):
    doc = track("bob", "--ticket", "2003", "-o", "json").json()
    assert doc["id"] == "CP-3" and doc["stage"] == "in_engineering"
    assert [s["stage"] for s in doc["timeline"]] == ["submitted", "evaluating", "in_engineering"]
    assert track("bob", "--ticket", "1001").exit_code == 3  # no escalation
    assert track("bob").exit_code == 2
    assert track("bob", "CP-1", "--ticket", "2001").exit_code == 2


def test_track_visibility_and_fedramp_first(esc_store):
    assert track("gina", "CP-1").exit_code == 3
    assert track("carol", "CP-1").exit_code == 3
    assert track("alice", "CP-1").exit_code == 0  # admin of acme
    assert track("dana", "CP-9").exit_code == 0
    fed = track("fed", "CP-404")
    assert fed.exit_code == 4 and "FedRAMP" in fed.stderr
    assert run("--user", "fed", "escalations", "list").exit_code == 4


def test_list_scopes_and_stage_filter(esc_store):
    def ids(user, *args):
        result = run("--user", user, "escalations", "list", "-o", "json", *args)
        assert result.exit_code == 0, result.stderr
        return sorted(e["id"] for e in result.json())

    assert ids("bob") == ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5"]
    assert ids("carol") == []
    assert ids("alice", "--scope", "org") == ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5"]
    assert ids("dana", "--scope", "org") == ["CP-1", "CP-2", "CP-3", "CP-4", "CP-5", "CP-9"]
    assert ids("dana", "--scope", "org", "--stage", "evaluating", "--stage", "resolved") == [
        "CP-2",
        "CP-5",
        "CP-9",
    ]
    assert run("--user", "bob", "escalations", "list", "--scope", "org").exit_code == 4
    table = run("--user", "bob", "escalations", "list").stdout
    assert table.splitlines()[0].split()[:3] == ["ID", "TICKET", "STAGE"]
    assert "2026-10-20 (estimate)" in table
    assert run("--user", "bob", "escalations", "list", "-o", "ids").stdout.split()[0] == "CP-5"


def test_create_escalates_the_ticket(esc_store):
    assert (
        run("--user", "bob", "escalations", "create", "1001", "--description", "x").exit_code == 4
    )
    result = run("--user", "dana", "escalations", "create", "1001", "--description",
                 "Export worker times out", "--expected", "2026-12-01")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    esc_id = result.stdout.strip()
    assert esc_id.startswith("CP-")
    ticket = json.loads((esc_store / "tickets" / "1001.json").read_text())
    assert ticket["status"] == "escalated"
    assert ticket["escalation_id"] == esc_id
    assert [e["action"] for e in ticket["events"][-2:]] == ["escalated", "status_changed"]
    doc = track("bob", esc_id, "-o", "json").json()
    assert doc["stage"] == "submitted" and doc["expected_resolution"] == "2026-12-01"


def test_create_conflicts_and_bad_dates(esc_store):
    esc = run("--user", "dana", "escalations", "create", "2002", "--description", "again")
    assert esc.exit_code == 5  # CP-2 is not resolved yet
    assert "already has escalation CP-2" in esc.stderr
    assert (
        run(
            "--user", "dana", "escalations", "create", "2005", "--description", "new round"
        ).exit_code
        == 0
    )
    assert (
        run("--user", "dana", "escalations", "create", "1006", "--description", "x").exit_code == 5
    )
    bad = run(
        "--user",
        "dana",
        "escalations",
        "create",
        "1001",
        "--description",
        "x",
        "--expected",
        "soon",
    )
    assert bad.exit_code == 2
    assert (
        run("--user", "dana", "escalations", "create", "9999", "--description", "x").exit_code == 3
    )


def test_advance_only_forward_skipping_allowed(esc_store):
    def advance(esc_id, to):
        return run("--user", "dana", "escalations", "advance", esc_id, "--to", to)

    assert (
        run("--user", "bob", "escalations", "advance", "CP-1", "--to", "evaluating").exit_code == 4
    )
    assert advance("CP-1", "in_engineering").exit_code == 0
    doc = track("bob", "CP-1", "-o", "json").json()
    assert [s["stage"] for s in doc["timeline"]] == ["submitted", "in_engineering"]
    assert "evaluating           skipped" in track("bob", "CP-1").stdout
    assert advance("CP-1", "in_engineering").exit_code == 5
    assert advance("CP-1", "evaluating").exit_code == 5
    assert advance("CP-404", "resolved").exit_code == 3
    assert advance("CP-1", "resolved").exit_code == 0
    ticket = json.loads((esc_store / "tickets" / "2001.json").read_text())
    assert ticket["status"] == "open"
    assert ticket["events"][-1]["detail"] == {"from": "escalated", "to": "open"}
    assert ticket["events"][-2]["action"] == "escalation_advanced"


def test_wait_on_a_stage_already_reached_returns_at_once(esc_store):
    start = time.monotonic()
    result = track("bob", "CP-4", "--wait", "--until-stage", "in_engineering", "--interval", "60")
    assert result.exit_code == 0
    assert time.monotonic() - start < 5


def test_wait_times_out_with_exit_5(esc_store):
    result = track("bob", "CP-1", "--wait", "--timeout", "0.3", "--interval", "0.1")
    assert result.exit_code == 5
    assert "timed out after 0.3 s" in result.stderr


def test_wait_sleeps_between_polls(esc_store):
    from supportctl.service import LocalService
    from tests.conftest import open_store

    sleeps: list[float] = []
    clock = iter(range(1000))
    service = LocalService(open_store(esc_store), "bob")
    with pytest.raises(Exception, match="timed out"):
        service.wait_for_stage(
            "CP-1", interval=7, timeout=20, sleep=sleeps.append, monotonic=lambda: next(clock) * 5.0
        )
    assert sleeps and all(0 < s <= 7 for s in sleeps)


@pytest.mark.slow
def test_wait_returns_when_another_process_advances(esc_store, isolated_home):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    waiter = subprocess.Popen(
        [sys.executable, "-m", "supportctl", "--user", "bob", "escalations", "track", "CP-2",
         "--wait", "--until-stage", "in_engineering", "--interval", "0.1", "--timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    time.sleep(0.5)
    assert waiter.poll() is None  # still waiting
    advanced = subprocess.run(
        [sys.executable, "-m", "supportctl", "--user", "dana", "escalations", "advance", "CP-2",
         "--to", "in_engineering"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert advanced.returncode == 0, advanced.stderr
    start = time.monotonic()
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert time.monotonic() - start < 10
    assert "CP-2 is now at in engineering" in err
    assert "▶ in engineering" in out
