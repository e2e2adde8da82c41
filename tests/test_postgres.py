"""The postgres backend's own promises (SPEC §12), beyond the suite every backend runs:
selection by URL, connection failures, schema versions, ids across processes, moving stores.

Every test here uses a throwaway PostgreSQL (tests/pg.py); without one they skip, or fail
with SUPPORTCTL_PG_REQUIRED=1.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tests.conftest import jsonl, open_store, run, small_store_docs


@pytest.fixture
def pg(pg_store: str, pg_server):
    """The small store in an empty database (SUPPORTCTL_STORE names it)."""
    result = run("store", "import", "-", input=jsonl(small_store_docs()))
    assert result.exit_code == 0, result.stderr
    return pg_server


def test_a_url_selects_the_postgres_backend_and_is_shown_without_its_password(pg_store):
    secret_url = pg_store.replace("postgres@", "postgres:hunter2@")
    assert run("--store", secret_url, "store", "init").exit_code == 0
    result = run("--store", secret_url, "store", "init")
    assert result.exit_code == 0, result.stderr
    assert "store already exists at postgresql://postgres@" in result.stderr
    assert "hunter2" not in result.stderr
    # --backend postgres needs a URL
    bad = run("--backend", "postgres", "--store", "/tmp/x", "store", "init")
    assert bad.exit_code == 2
    assert "needs a store URL" in bad.stderr


def test_a_database_that_does_not_answer_exits_6_naming_host_and_database_not_the_password():
    url = "postgresql://ann:s3cretpw@127.0.0.1:1/teamdesk"
    for args in (("--user", "bob", "tickets", "list"), ("-v", "store", "init")):
        result = run("--store", url, *args)
        assert result.exit_code == 6, result.stderr
        assert "'teamdesk' on 127.0.0.1" in result.stderr
        assert "s3cretpw" not in result.stderr + result.stdout
        assert "supportctl: error: cannot reach the PostgreSQL database" in result.stderr


def test_no_schema_is_no_store_and_init_creates_it_once(pg_store):
    missing = run("--user", "bob", "tickets", "list")
    assert missing.exit_code == 6
    assert "no store at postgresql://" in missing.stderr
    assert "store init" in missing.stderr
    assert run("store", "init").stderr.startswith("created an empty store at postgresql://")
    assert run("store", "init").stderr.startswith("store already exists at postgresql://")


def test_a_newer_schema_exits_6_and_is_never_touched(pg):
    pg.execute("INSERT INTO schema_version (version) VALUES (99)")
    before = pg.execute("SELECT id, doc::text FROM tickets ORDER BY id")
    for args in (("--user", "bob", "tickets", "list"), ("store", "init"), ("store", "check")):
        result = run(*args)
        assert result.exit_code == 6, (args, result.stderr)
        assert "schema version 99, newer than this supportctl understands" in result.stderr
    assert pg.execute("SELECT id, doc::text FROM tickets ORDER BY id") == before
    assert pg.execute("SELECT max(version) FROM schema_version") == [(99,)]


def test_store_check_reports_and_repairs_what_is_derived(pg):
    assert run("store", "check").exit_code == 0
    pg.execute("UPDATE tickets SET summary = '{}' WHERE id = '1001'")
    pg.execute("UPDATE counters SET next = 5 WHERE name = 'ticket'")
    damaged = run("store", "check")
    assert damaged.exit_code == 6
    assert "1 ticket(s) with a stale listing row" in damaged.stdout
    assert "the ticket counter is behind" in damaged.stdout
    repaired = run("store", "check", "--repair")
    assert repaired.exit_code == 0, repaired.stdout + repaired.stderr
    assert run("store", "check").exit_code == 0
    created = run("--user", "bob", "tickets", "create", "--subject", "x", "-m", "y",
                  "--type", "email", "-o", "id")  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert created.stdout.strip() == "1007"


def test_ids_are_never_allocated_twice_across_processes(pg):
    code = (
        "import sys\n"
        "from supportctl.cli import cli\n"
        "for i in range(8):\n"
        "    try:\n"
        "        cli.main(args=['--user', 'bob', 'tickets', 'create', '--subject', 's', "
        "'-m', 'b', '--type', 'email', '-o', 'id'], prog_name='supportctl', "
        "standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    import os

    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, text=True)
        for _ in range(4)
    ]
    ids = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        ids += out.split()
    assert len(ids) == 32 and len(set(ids)) == 32
    assert sorted(map(int, ids)) == list(range(1007, 1039))


def test_concurrent_changes_of_one_ticket_lose_nothing(pg):
    from supportctl.service import LocalService

    errors: list[BaseException] = []

    def reply(n: int) -> None:
        try:
            storage = open_store(pg.url)
            LocalService(storage, "dana").reply("1001", f"reply {n}")
            storage.close()
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=reply, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ticket = open_store(pg.url).get_ticket("1001")
    bodies = [m.body for m in ticket.messages]
    assert sorted(b for b in bodies if b.startswith("reply ")) == sorted(
        f"reply {n}" for n in range(10)
    )


def test_a_change_and_its_request_record_commit_together(pg):
    from supportctl.service import LocalService

    storage = open_store(pg.url)
    key = "ab" * 32
    storage.record_with_next_change(key, lambda t: {"stored": 1.0, "ticket": t.id})
    LocalService(storage, "dana").reply("1001", "once")
    assert storage.get_request(key) == {"stored": 1.0, "ticket": "1001"}
    # a change that fails writes no record either
    other = "cd" * 32
    storage.record_with_next_change(other, lambda t: {"stored": 1.0, "ticket": t.id})

    def boom(ticket):
        raise RuntimeError("killed mid-change")

    with pytest.raises(RuntimeError):
        storage.update_ticket("1001", boom)
    assert storage.get_request(other) is None


def test_export_from_json_imports_into_postgres_with_every_document(
    tmp_path, pg_store, monkeypatch
):
    json_store = tmp_path / "json"
    assert run("--store", str(json_store), "store", "init", "--demo").exit_code == 0
    exported = run("--store", str(json_store), "store", "export")
    assert exported.exit_code == 0
    imported = run("store", "import", "-", input=exported.stdout)
    assert imported.exit_code == 0, imported.stderr
    again = run("store", "export")
    assert again.stdout == exported.stdout
    # and the listing agrees, row for row, at one moment: an SLA target the demo sets
    # relative to its creation may pass between two listings taken a second apart
    import supportctl.service
    from supportctl.timeutil import now

    frozen = now()
    monkeypatch.setattr(supportctl.service, "now", lambda: frozen)
    listing = ("--user", "sam", "tickets", "list", "--scope", "org", "-o", "json")
    rows = run(*listing).json()
    assert len(rows) == 186  # every demo ticket
    assert rows == run("--store", str(json_store), *listing).json()


def test_a_move_json_to_postgres_to_json_keeps_every_document_and_token(tmp_path, pg_store):
    """SPEC §12: `store export --with-tokens` moves a store without re-issuing tokens."""
    from supportctl.storage import admin
    from supportctl.storage.jsonstore import JsonStore

    first, last = tmp_path / "first", tmp_path / "last"
    assert run("--store", str(first), "store", "init", "--demo").exit_code == 0
    token = run("--store", str(first), "store", "token", "create", "sam", "--expires", "30d")
    secret = token.stdout.strip()
    exported = run("--store", str(first), "store", "export", "--with-tokens")
    assert exported.exit_code == 0 and "tokens' hashes" in exported.stderr
    assert '"kind":"token"' in exported.stdout and secret not in exported.stdout
    assert run("store", "import", "-", input=exported.stdout).exit_code == 0  # into postgres
    middle = run("store", "export", "--with-tokens")
    assert middle.stdout == exported.stdout
    moved = run("--store", str(last), "store", "import", "-", input=middle.stdout)
    assert moved.exit_code == 0 and "1 token" in moved.stderr
    assert run("--store", str(last), "store", "export", "--with-tokens").stdout == exported.stdout
    assert admin.authenticate(JsonStore(last), secret) == "sam"  # the same token works


def test_a_read_only_database_exits_6_and_writes_nothing(pg):
    # A standby after a failover, or default_transaction_read_only: every change is refused
    # by the database. That is the backend being unavailable for writes (exit 6, one line),
    # not a bug (exit 1 with a traceback).
    database = pg.url.rsplit("/", 1)[1]
    before = pg.execute("SELECT id, doc::text FROM tickets ORDER BY id")

    def alter(sql: str) -> None:  # from another database: this one refuses it read-only
        import psycopg

        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" {sql}')

    alter("SET default_transaction_read_only = on")
    try:
        assert run("--user", "bob", "tickets", "list").exit_code == 0  # reads still answer
        for args in (
            ("--user", "dana", "tickets", "update", "1001", "--priority", "low"),
            ("--user", "bob", "tickets", "reply", "1001", "-m", "still there?"),
            ("--user", "dana", "tickets", "merge", "1002", "--into", "1001"),
            ("store", "token", "create", "bob"),
        ):
            result = run(*args)
            assert result.exit_code == 6, (args, result.stderr)
            first = result.stderr.splitlines()[0]
            assert first.startswith("supportctl: error: ") and "read-only" in first, first
            assert "bug" not in result.stderr
    finally:
        alter("RESET default_transaction_read_only")
    assert pg.execute("SELECT id, doc::text FROM tickets ORDER BY id") == before


def test_a_role_without_grants_is_refused_in_one_line(pg):
    # A database role the operator did not grant the tables to: the database's refusal,
    # exit 4 with one line naming the database, never a traceback (reads and writes alike).
    import psycopg

    role = "supportctl_nobody"
    with psycopg.connect(pg.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN")
    database = pg.url.rsplit("/", 1)[1]
    host = pg.url.split("@", 1)[1].split("/", 1)[0]
    url = f"postgresql://{role}@{host}/{database}"
    before = pg.execute("SELECT id, doc::text FROM tickets ORDER BY id")
    try:
        for grant in (None, "GRANT SELECT ON schema_version, store_meta TO {}"):
            if grant:  # past the schema check: refused at the tickets themselves
                pg.execute(grant.format(role))
            for args in (
                ("--user", "bob", "tickets", "list"),
                ("--user", "bob", "tickets", "show", "1001"),
                ("--user", "bob", "tickets", "reply", "1001", "-m", "hello"),
            ):
                result = run("--store", url, *args)
                assert result.exit_code == 4, (grant, args, result.stderr)
                (line,) = result.stderr.splitlines()
                assert line.startswith("supportctl: error: the database at ") and "refused" in line
                assert "bug" not in line
        assert pg.execute("SELECT id, doc::text FROM tickets ORDER BY id") == before
    finally:
        pg.execute(f"DROP OWNED BY {role}")  # its grants in this database
        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")
