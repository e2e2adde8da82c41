"""`tickets sweep` (SPEC §4, §9; seeds 001 and 004) and cron readiness (issue: automation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import NOW, jsonl, run, ticket, ts

pytestmark = pytest.mark.usefixtures("backend")


def ago(**delta) -> str:
    return ts(NOW - timedelta(**delta))


REMINDER = (
    "Reminder: this ticket is waiting for your reply. Reply to keep it open; "
    "it may be closed if we do not hear from you."
)


@pytest.fixture
def aged(store):
    """Tickets at many ages (ids 3001…)."""
    docs = [
        ticket("3001", "bob", "acme", status="resolved", created_at=ago(days=40), updated_at=ago(days=20)),
        ticket("3002", "bob", "acme", status="resolved", created_at=ago(days=40), updated_at=ago(days=13)),
        ticket("3003", "carol", "acme", status="resolved", created_at=ago(days=40), updated_at=ago(days=15),
               priority="urgent"),
        ticket("3004", "bob", "acme", status="new", created_at=ago(days=3), updated_at=ago(days=2)),
        ticket("3005", "bob", "acme", status="new", created_at=ago(hours=2), updated_at=ago(hours=1)),
        ticket("3006", "bob", "acme", status="pending", created_at=ago(days=30), updated_at=ago(days=10)),
        ticket("3007", "gina", "globex", status="pending", created_at=ago(days=30), updated_at=ago(days=9),
               messages=[{"id": "m1", "kind": "system", "author": "dana", "at": ago(days=9),
                          "body": REMINDER, "attachments": []}]),
        ticket("3008", "bob", "acme", status="open", created_at=ago(days=90), updated_at=ago(days=60)),
    ]  # fmt: skip
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    return store


def sweep(*args: str, user: str = "dana"):
    return run("--user", user, "tickets", "sweep", *args)


def status(store: Path, ticket_id: str) -> dict:
    return json.loads((store / "tickets" / f"{ticket_id}.json").read_text())


def export() -> str:
    return run("store", "export").stdout


def test_dry_run_changes_nothing_and_says_what_it_would_do(aged):
    before = export()
    result = sweep("--dry-run", "-o", "json")
    assert result.exit_code == 0
    assert [(o["ticket"], o["result"]) for o in result.json()] == [
        ("3001", "would-close"),
        ("3003", "would-close"),
    ]
    assert "(dry run)" in result.stderr
    assert export() == before


def test_builtin_rule_closes_resolved_idle_14_days_as_solved_and_is_idempotent(aged):
    result = sweep("-o", "json")
    assert result.exit_code == 0
    assert [(o["ticket"], o["result"]) for o in result.json()] == [
        ("3001", "closed"),
        ("3003", "closed"),
    ]
    for ticket_id in ("3001", "3003"):
        doc = status(aged, ticket_id)
        assert (doc["status"], doc["resolution"]) == ("closed", "solved")
        assert doc["events"][-1]["actor"] == "dana"
    assert status(aged, "3002")["status"] == "resolved"  # 13 days: not yet
    before = export()
    again = sweep("-o", "json")
    assert again.exit_code == 0 and again.json() == []
    assert "nothing to do" in again.stderr
    assert export() == before


def test_expire_closes_new_tickets_idle_past_the_rule_as_expired(aged):
    result = sweep("--action", "expire", "--idle", "24h", "-o", "json")
    assert [(o["ticket"], o["result"]) for o in result.json()] == [
        ("1003", "expired"),
        ("3004", "expired"),
    ]
    assert status(aged, "3004")["resolution"] == "expired"
    assert status(aged, "3005")["status"] == "new"


def test_remind_posts_once_and_never_twice_in_a_row(aged):
    result = sweep("--action", "remind", "--idle", "7d", "-o", "json")
    outcomes = {o["ticket"]: o["result"] for o in result.json()}
    assert outcomes == {"3006": "reminded", "3007": "skipped"}  # 3007's last message is one
    doc = status(aged, "3006")
    assert doc["messages"][-1]["kind"] == "system"
    assert doc["messages"][-1]["body"] == REMINDER
    assert doc["status"] == "pending"
    # even once it is idle again, no second reminder follows the first
    from tests.conftest import open_store

    def age(t):
        t.updated_at = ago(days=8)
        return t

    open_store(aged).update_ticket("3006", age)
    again = sweep("--action", "remind", "--idle", "7d", "-o", "json").json()
    assert {o["ticket"]: o["result"] for o in again} == {"3006": "skipped", "3007": "skipped"}
    assert len(status(aged, "3006")["messages"]) == 1


def test_configured_rules_with_filters(aged):
    config = Path(os.environ["SUPPORTCTL_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[sweep.rules.urgent-done]\nstatus = ["resolved"]\nidle = "14d"\naction = "close"\npriority = "urgent"\n'
        '[sweep.rules.stale-new]\nidle = "24h"\naction = "expire"\norg = ["acme"]\n'
    )
    everything = sweep("--dry-run", "-o", "json").json()
    assert {(o["rule"], o["ticket"]) for o in everything} == {
        ("urgent-done", "3003"),
        ("stale-new", "1003"),
        ("stale-new", "3004"),
    }
    one = sweep("--rule", "stale-new", "-o", "json").json()
    assert [(o["ticket"], o["result"]) for o in one] == [("1003", "expired"), ("3004", "expired")]
    unknown = sweep("--rule", "nope")
    assert unknown.exit_code == 2
    assert "configured rules: stale-new, urgent-done" in unknown.stderr


@pytest.mark.parametrize(
    "table",
    [
        '[sweep.rules.x]\nidle = "14d"\naction = "delete"\n',
        '[sweep.rules.x]\nidle = "forever"\naction = "close"\n',
        '[sweep.rules.x]\nidle = "1d"\naction = "close"\nstatus = ["closed"]\n',
        '[sweep.rules.x]\nidle = "1d"\naction = "close"\ncolour = "red"\n',
    ],
)
def test_bad_configured_rules_are_usage_errors(aged, table):
    config = Path(os.environ["SUPPORTCTL_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(table)
    result = sweep("--dry-run")
    assert result.exit_code == 2
    assert "[sweep.rules.x]" in result.stderr


def test_ad_hoc_rule_needs_action_and_idle(aged):
    assert sweep("--action", "close").exit_code == 2
    assert sweep("--idle", "3d").exit_code == 2


def test_sweep_is_for_agents(aged):
    for user in ("bob", "alice"):
        result = sweep(user=user)
        assert result.exit_code == 4
        assert "tickets sweep is for agents" in result.stderr


def test_table_report_and_summary(aged):
    result = sweep()
    assert result.stdout.splitlines()[0].split() == ["TICKET", "RULE", "ACTION", "RESULT", "DETAIL"]
    assert "sweep with rule builtin: 2 closed" in result.stderr


@pytest.mark.local_only("the re-check is observed inside the store's own transaction")
def test_a_ticket_changed_during_the_sweep_is_rechecked_and_skipped(aged):
    from supportctl.api import BUILTIN_SWEEP_RULE
    from supportctl.service import LocalService
    from tests.conftest import open_store

    store = open_store(aged)
    real_update = store.update_ticket

    def customer_replies_first(ticket_id, change):
        if ticket_id == "3001":
            LocalService(open_store(aged), "bob").reply("3001", "Actually it broke again")
        return real_update(ticket_id, change)

    store.update_ticket = customer_replies_first  # type: ignore[method-assign]
    outcomes = LocalService(store, "dana").sweep([BUILTIN_SWEEP_RULE])
    assert {(o.ticket_id, o.result) for o in outcomes} == {("3001", "skipped"), ("3003", "closed")}
    assert status(aged, "3001")["status"] == "open"


@pytest.mark.json_only("starts two processes on the json store")
@pytest.mark.slow
def test_two_sweeps_at_once_act_on_each_ticket_once(store, tmp_path):
    docs = [
        ticket(
            str(5000 + i),
            "bob",
            "acme",
            status="resolved",
            created_at=ago(days=40),
            updated_at=ago(days=20),
        )
        for i in range(150)
    ]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    gate = tmp_path / "go"
    script = (
        "import os, sys, time\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.001)\n"
        "from supportctl.cli import main\n"
        "sys.argv = ['supportctl', '--user', 'dana', 'tickets', 'sweep', '-o', 'json']\n"
        "main()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(2)
    ]
    gate.write_text("go")
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        reports.append(json.loads(out))
    closed = [o["ticket"] for report in reports for o in report if o["result"] == "closed"]
    assert sorted(closed) == sorted(d["id"] for d in docs)  # each exactly once, by one sweep
    for d in docs:
        events = [e for e in status(store, d["id"])["events"] if e["action"] == "closed"]
        assert len(events) == 1


@pytest.mark.json_only("runs the installed command as cron would")
@pytest.mark.slow
def test_cron_environment_without_tty_term_or_locale(tmp_path):
    home = tmp_path / "cronhome"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": os.getcwd()}

    def cron(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "supportctl", *args],
            env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False,
        )  # fmt: skip

    assert cron("store", "init", "--demo").returncode == 0
    assert (home / ".local" / "share" / "supportctl" / "store.json").exists()
    listing = cron(
        "--user", "sam", "tickets", "list", "--scope", "org", "-o", "json", "--limit", "0"
    )
    assert listing.returncode == 0, listing.stderr
    assert b"\x1b[" not in listing.stdout
    docs = json.loads(listing.stdout.decode("utf-8"))
    assert any(not d["subject"].isascii() for d in docs)  # Japanese subjects survive no locale
    report = cron("--user", "sam", "tickets", "sweep", "-o", "json")
    assert report.returncode == 0, report.stderr
    assert b"\x1b[" not in report.stdout + report.stderr
    assert [o["result"] for o in json.loads(report.stdout)] == ["closed"] * 3
    assert b"Sweeping" not in report.stderr  # no progress bar without a terminal


def test_group_narrows_an_ad_hoc_sweep_and_a_configured_rule(aged):
    billing = [
        ticket("3101", "bob", "acme", status="resolved", created_at=ago(days=40), updated_at=ago(days=20), group="billing"),
        ticket("3102", "bob", "acme", status="new", created_at=ago(days=3), updated_at=ago(days=2), group="billing"),
    ]  # fmt: skip
    assert run("store", "import", "-", input=jsonl(billing)).exit_code == 0
    config = Path(os.environ["SUPPORTCTL_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[sweep.rules.billing]\nstatus = ["resolved", "new"]\nidle = "1d"\naction = "close"\ngroup = "billing"\n'
    )
    configured = sweep("--rule", "billing", "--dry-run", "-o", "json").json()
    assert sorted(o["ticket"] for o in configured) == ["3101", "3102"]
    done = sweep("--action", "expire", "--idle", "1d", "--group", "billing", "-o", "json").json()
    assert [(o["ticket"], o["result"]) for o in done] == [("3102", "expired")]  # not 3004
    assert status(aged, "3004")["status"] == "new"
    assert sweep("--group", "billing").exit_code == 2  # a group alone is not a rule
