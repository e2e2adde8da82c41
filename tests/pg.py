"""A throwaway PostgreSQL for the postgres backend's tests (SPEC §12).

``SUPPORTCTL_PG_URL`` names an existing server to use (a database is created in it and
dropped after the session; the role must be allowed to create databases). Otherwise a
cluster of its own is made with Debian's PostgreSQL (``/usr/lib/postgresql/*/bin``, or
``initdb`` on PATH) in a temp directory, on a free port of 127.0.0.1 and a private unix
socket directory, with fsync off; as root it runs as the ``postgres`` user. Without either,
the postgres tests skip and say how to get one; with ``SUPPORTCTL_PG_REQUIRED=1`` (CI) they
fail instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

HOW = (
    "install PostgreSQL 15 (Debian: apt-get install postgresql-15) or set SUPPORTCTL_PG_URL "
    "to a server where you may create databases"
)


@dataclass
class PgServer:
    admin_url: str  # a database to run CREATE/DROP DATABASE from
    url: str  # the tests' database
    stop: object = None
    #: ``pg_ctl`` on this cluster (a cluster of the tests' own; None for SUPPORTCTL_PG_URL)
    ctl: object = None

    def pg_ctl(self, *args: str) -> None:
        """Run ``pg_ctl ACTION …`` on the cluster (``stop -m fast``, ``start``, ``restart``);
        skips the test when the server is not the tests' own."""
        if not callable(self.ctl):
            pytest.skip("the server is not the tests' own (SUPPORTCTL_PG_URL): cannot restart it")
        self.ctl(*args)

    def reset(self) -> None:
        """An empty database: every table of a store dropped (the extension is kept)."""
        import psycopg

        from supportctl.storage.postgres import _TABLES

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS " + ", ".join(_TABLES) + " CASCADE")

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []


#: Schema 2 undone: the store as the previous supportctl wrote it (schema version 1).
SCHEMA_2_UNDONE = (
    "ALTER TABLE tickets DROP COLUMN idkey, DROP COLUMN search_subject, "
    "DROP COLUMN search_public, DROP COLUMN search_notes",
    "DROP INDEX tickets_status_c, tickets_org_c, tickets_created_c, tickets_updated_c",
    "DROP INDEX IF EXISTS tickets_search_subject, tickets_search_public, tickets_search_notes",
    "CREATE INDEX tickets_status ON tickets (status, created_at)",
    "CREATE INDEX tickets_org ON tickets (org, created_at)",
    "CREATE INDEX tickets_created ON tickets (created_at)",
    "CREATE INDEX tickets_updated ON tickets (updated_at)",
    "DELETE FROM schema_version WHERE version = 2",
    # the previous version's documents and listing rows had no duplicate_of
    "UPDATE tickets SET doc = (doc::jsonb - 'duplicate_of')::json, "
    "summary = (summary::jsonb - 'duplicate_of')::json",
)


def back_to_schema_1(server: PgServer) -> None:
    """Turn a store at schema 2 into one at schema 1, as the previous version left it."""
    for statement in SCHEMA_2_UNDONE:
        server.execute(statement)
    if server.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")[0][0]:
        server.execute(
            "CREATE INDEX tickets_subject_trgm ON tickets "
            "USING gin ((lower(summary->>'subject')) gin_trgm_ops)"
        )


def unavailable(why: str) -> None:
    message = f"no PostgreSQL for the postgres backend tests ({why}): {HOW}"
    if os.environ.get("SUPPORTCTL_PG_REQUIRED") == "1":
        pytest.fail(message + " (SUPPORTCTL_PG_REQUIRED=1: required here)", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return os.path.dirname(found[0])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def start() -> PgServer:
    """The session's server and an empty database in it (or skip/fail)."""
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed: pip install -e '.[test]'")
    given = os.environ.get("SUPPORTCTL_PG_URL")
    if given:
        return _database_in(given, stop=None)
    bindir = _bindir()
    if bindir is None:
        unavailable("no initdb found")
    as_postgres = os.geteuid() == 0
    root = tempfile.mkdtemp(prefix="supportctl-pg-")
    data, sockets = os.path.join(root, "data"), os.path.join(root, "sockets")
    os.mkdir(sockets)
    if as_postgres:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no postgres user to run initdb as")
        for path in (root, sockets):
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def command(*args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if as_postgres else list(args)

    port = _free_port()
    log = os.path.join(root, "log")
    try:
        subprocess.run(
            command(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
            + ["-E", "UTF8", "--locale=C.UTF-8"],
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            command(f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start"),
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        with contextlib.suppress(OSError):
            detail += Path(log).read_bytes()[-500:]
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"could not start one: {exc}: {detail.decode(errors='replace').strip()}")

    def ctl(action: str, *args: str) -> None:
        extra = ["-o", options, "-l", log] if action in ("start", "restart") else []
        subprocess.run(
            command(f"{bindir}/pg_ctl", "-D", data, action, "-w", *extra, *args),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def stop() -> None:
        subprocess.run(
            command(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)

    del psycopg
    return _database_in(f"postgresql://postgres@127.0.0.1:{port}/postgres", stop=stop, ctl=ctl)


def _database_in(admin_url: str, *, stop: object, ctl: object = None) -> PgServer:
    import psycopg

    name = f"supportctl_test_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        if callable(stop):
            stop()
        unavailable(f"cannot create a database: {str(exc).strip()}")
    base, _, _query = admin_url.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + (f"?{_query}" if _query else "")
    return PgServer(admin_url=admin_url, url=url, stop=stop, ctl=ctl)


def finish(server: PgServer) -> None:
    import psycopg

    if callable(server.stop):
        server.stop()
        return
    name = server.url.rsplit("/", 1)[1].partition("?")[0]
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(server.admin_url, autocommit=True) as conn,
    ):
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
