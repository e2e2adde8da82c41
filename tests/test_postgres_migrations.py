"""The postgres store's schema versions (SPEC §12): "a schema version table; a newer schema
exits 6 and is never touched; older ones are migrated stepwise in a transaction".

A store at version 1 is made with step 1 exactly as it is today; the steps after it are
registered by each test (``MIGRATIONS`` is the list every open reads), so the framework is
exercised with real SQL, real rollbacks and real processes without adding a step to the
product that it does not need.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from supportctl.storage import postgres
from tests import pg
from tests.conftest import jsonl, run, small_store_docs


def versions(pg) -> list[int]:
    return [r[0] for r in pg.execute("SELECT version FROM schema_version ORDER BY version")]


def table_exists(pg, name: str) -> bool:
    return pg.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))[0][0]


def snapshot(pg) -> list[tuple]:
    """Every ticket, user and org as stored, and the counters."""
    return pg.execute(
        "SELECT 't' || id, doc::text FROM tickets UNION ALL "
        "SELECT 'u' || username, doc::text FROM users UNION ALL "
        "SELECT 'o' || id, doc::text FROM orgs UNION ALL "
        "SELECT 'c' || name, next::text FROM counters ORDER BY 1"
    )


@pytest.fixture
def v1(pg_store, pg_server, monkeypatch):
    """The small store in a database at schema version 1, as the previous supportctl left
    it (written today, then schema 2 undone); the real steps are registered."""
    pg_server.execute("DROP TABLE IF EXISTS step_marker, migration_runs")  # earlier tests'
    result = run("store", "import", "-", input=jsonl(small_store_docs()))
    assert result.exit_code == 0, result.stderr
    pg.back_to_schema_1(pg_server)
    assert versions(pg_server) == [1]
    return pg_server


def add_steps(monkeypatch, *steps) -> list[int]:
    """Register ``steps`` after the real ones; their version numbers."""
    migrations = dict(postgres.MIGRATIONS)
    numbers = []
    for step in steps:
        number = max(migrations) + 1
        migrations[number] = step
        numbers.append(number)
    monkeypatch.setattr(postgres, "MIGRATIONS", migrations)
    return numbers


def test_an_older_schema_is_migrated_step_by_step_when_the_store_is_opened(v1, monkeypatch):
    before = snapshot(v1)
    calls = []

    def backfill(cur) -> None:  # a step may be a function of the migration's cursor
        calls.append(1)
        cur.execute("UPDATE tickets SET assignee = NULL WHERE false")
        cur.execute("INSERT INTO store_meta VALUES ('backfilled', 'true')")

    numbers = add_steps(
        monkeypatch,
        ["CREATE INDEX tickets_by_priority_and_update ON tickets (priority, updated_at)"],
        [backfill, "CREATE TABLE step_marker (n integer)"],
    )
    latest = postgres.latest_schema()
    assert numbers[-1] == latest and latest >= 3
    listed = run("--user", "bob", "tickets", "list", "-o", "ids")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.split() == ["1003", "1001"]
    assert versions(v1) == list(range(1, latest + 1))
    assert table_exists(v1, "tickets_by_priority_and_update") and table_exists(v1, "step_marker")
    assert v1.execute("SELECT value FROM store_meta WHERE key = 'backfilled'") == [(True,)]
    assert snapshot(v1) == before  # the documents are untouched
    # migrated once: later opens (and `store init`) leave it alone
    assert run("--user", "bob", "tickets", "list").exit_code == 0
    again = run("store", "init")
    assert again.exit_code == 0 and again.stderr.startswith("store already exists at")
    assert calls == [1]
    assert versions(v1) == list(range(1, latest + 1))


def test_store_init_migrates_an_older_schema(v1, monkeypatch):
    add_steps(monkeypatch, ["CREATE TABLE step_marker (n integer)"])
    result = run("store", "init")
    assert result.exit_code == 0, result.stderr
    assert versions(v1)[-1] == postgres.latest_schema()
    assert table_exists(v1, "step_marker")


def test_a_failing_step_rolls_every_step_back_and_leaves_the_old_version(v1, monkeypatch):
    before = snapshot(v1)
    good = ["CREATE TABLE step_marker (n integer)", "UPDATE counters SET next = next + 100"]
    bad = ["CREATE INDEX half_done ON tickets (type)", "SELECT 1 / 0"]
    add_steps(monkeypatch, good, bad)
    latest = postgres.latest_schema()
    for args in (("--user", "bob", "tickets", "list"), ("store", "init")):
        result = run(*args)
        assert result.exit_code == 6, (args, result.stderr)
        first = result.stderr.splitlines()[0]
        assert first == (
            f"supportctl: error: could not migrate the store at {postgres.redact(v1.url)} "
            f"from schema version 1 to {latest}: division by zero; it is still at version 1"
        )
        assert "the database was left as it was" in result.stderr
    # nothing of either step is left: the old version, the old tables, the old data
    assert versions(v1) == [1]
    assert not table_exists(v1, "step_marker") and not table_exists(v1, "half_done")
    assert snapshot(v1) == before
    # the step mended, the next open migrates
    add_steps(monkeypatch)
    postgres.MIGRATIONS[latest] = ["CREATE INDEX half_done ON tickets (type)"]
    assert run("--user", "bob", "tickets", "list").exit_code == 0
    assert versions(v1) == list(range(1, latest + 1))
    assert table_exists(v1, "step_marker") and table_exists(v1, "half_done")


def test_a_failing_first_step_creates_nothing(pg_store, pg_server, monkeypatch):
    pg_server.execute("DROP TABLE IF EXISTS step_marker, migration_runs")
    monkeypatch.setattr(
        postgres, "MIGRATIONS", {1: [*postgres.MIGRATIONS[1], "SELECT no_such_function()"]}
    )
    result = run("store", "init")
    assert result.exit_code == 6
    assert "could not create the schema of the store at postgresql://" in result.stderr
    assert "nothing was created" in result.stderr
    assert not table_exists(pg_server, "schema_version")
    assert not table_exists(pg_server, "tickets")


def test_a_newer_schema_is_refused_by_every_command_and_serve_and_never_touched(v1):
    latest = postgres.latest_schema()
    v1.execute("INSERT INTO schema_version (version) VALUES (%s)", (latest + 1,))
    before = snapshot(v1)
    tables = v1.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    commands = [
        ("--user", "bob", "tickets", "list"),
        ("--user", "bob", "tickets", "reply", "1001", "-m", "hi"),
        ("store", "init"),
        ("store", "check", "--repair"),
        ("store", "import", "-"),
        ("store", "token", "create", "bob"),
    ]
    for args in commands:
        result = run(*args, input=jsonl([small_store_docs()[0] | {"id": "newco"}]))
        assert result.exit_code == 6, (args, result.stderr)
        assert (
            f"has schema version {latest + 1}, newer than this supportctl understands "
            f"({latest}); upgrade supportctl"
        ) in result.stderr
    from supportctl.errors import Unavailable
    from supportctl.server.app import create_app

    with pytest.raises(Unavailable, match="newer than this supportctl understands"):
        create_app(v1.url)
    assert snapshot(v1) == before
    assert versions(v1) == [1, latest + 1]
    assert tables == v1.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    )


MIGRATING_PROCESS = """
import os, sys
from supportctl.storage import postgres
from supportctl.cli import cli
if os.environ.get("EXTRA_STEP"):
    steps = dict(postgres.MIGRATIONS)
    steps[max(steps) + 1] = [
        "SELECT pg_sleep(1)",  # long enough for the other process to arrive meanwhile
        "INSERT INTO migration_runs VALUES (pg_backend_pid())",
    ]
    postgres.MIGRATIONS = steps
print("go", flush=True)
sys.stdin.readline()
cli.main(args=sys.argv[1:], prog_name="supportctl")
"""


def _race(*commands: tuple[str, ...], step: bool) -> list[subprocess.CompletedProcess]:
    """Run each command in a process of its own, released at one instant (``step``: with a
    slow extra migration step that records each run of it)."""
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "EXTRA_STEP": "1" if step else ""}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATING_PROCESS, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for args in commands
    ]
    for proc in procs:
        assert proc.stdout.readline() == "go\n"
    for proc in procs:
        proc.stdin.write("\n")
        proc.stdin.flush()
    results = []
    for proc, args in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


def test_two_processes_migrating_at_once_migrate_once(v1):
    v1.execute("CREATE TABLE migration_runs (pid integer)")
    started = time.monotonic()
    results = _race(("--user", "bob", "tickets", "list", "-o", "ids"), ("store", "init"), step=True)
    for result in results:
        assert result.returncode == 0, result.stderr
    assert results[0].stdout.split() == ["1003", "1001"]
    assert len(v1.execute("SELECT pid FROM migration_runs")) == 1  # the step ran once
    latest = postgres.latest_schema() + 1
    assert versions(v1) == list(range(1, latest + 1))
    assert time.monotonic() - started >= 1.0  # the step did overlap the other process


def test_two_processes_creating_the_store_at_once_create_it_once(pg_store, pg_server):
    results = _race(("store", "init"), ("store", "init"), step=False)
    for result in results:
        assert result.returncode == 0, result.stderr
    assert versions(pg_server) == list(range(1, postgres.latest_schema() + 1))
