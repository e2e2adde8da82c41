"""Test fixtures: no test touches the real home; a small exact store to read."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from supportctl.cli import cli

NOW = datetime.now(UTC).replace(microsecond=0)


def ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config, data and home at a temp dir; drop every SUPPORTCTL_* variable."""
    import os

    for name in list(os.environ):
        if name.startswith("SUPPORTCTL_") or name in ("NO_COLOR", "PAGER"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("SUPPORTCTL_CONFIG", str(home / "config" / "supportctl" / "config.toml"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    return home


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


# While a test runs against the http backend: the in-process server and its tokens.
_HTTP: dict | None = None
REMOTE_NOUNS = ("tickets", "escalations", "proxy-access", "org", "triggers", "me")


def run(*args: str, input: str | bytes | None = None, env: dict | None = None) -> Result:
    """Invoke the CLI in-process; stdout and stderr separate (click >= 8.2).

    Under the ``backend`` fixture's http parameter, ticket commands given as
    ``--user NAME …`` go to the reference server over a real socket instead, with NAME's
    token: the same command line must give the same output and exit code.
    """
    args_list = list(args)
    if _HTTP is not None:
        args_list, env = _over_http(args_list, env)
    result = CliRunner().invoke(cli, args_list, input=input, env=env, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def _over_http(args: list[str], env: dict | None) -> tuple[list[str], dict | None]:
    user = None
    if len(args) >= 2 and args[0] == "--user":
        user, args = args[1], args[2:]
    if not args or args[0] not in REMOTE_NOUNS or user is None:
        return ([*(["--user", user] if user else []), *args]), env
    import os

    from supportctl.config import default_store_path
    from supportctl.storage import admin

    state = _HTTP
    if state.get("server") is None:
        import threading

        from supportctl.server.app import create_app
        from supportctl.server.serving import make_server

        # The store every local command of the test uses: the default directory, or the
        # PostgreSQL database of the http-postgres parameter (SUPPORTCTL_STORE).
        api = create_app(
            os.environ.get("SUPPORTCTL_STORE") or default_store_path(), log=lambda line: None
        )
        server = make_server("127.0.0.1", 0, api)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        state.update(
            api=api,
            server=server,
            thread=thread,
            url=f"http://127.0.0.1:{server.server_address[1]}/api/v1",
        )
    if user not in state["tokens"]:
        _record, token = admin.create_token(state["api"].storage, user)
        state["tokens"][user] = token
    env = {**(env or {}), "SUPPORTCTL_TOKEN": state["tokens"][user]}
    return ["--backend", "http", "--url", state["url"], *args], env


#: The backend fixture's parameters: the json store, the REST API over it, the postgres
#: store (SPEC §12) and the REST API over that. The PostgreSQL ones are marked slow (each
#: test resets a database): `pytest -m "not slow"` is the quick loop on json and http, and
#: the full `pytest` of CI runs all four.
BACKENDS = [
    "json",
    "http",
    pytest.param("postgres", marks=pytest.mark.slow),
    pytest.param("http-postgres", marks=pytest.mark.slow),
]


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the processes a test starts: a private home, this checkout, no
    supportctl or libpq settings of the developer's own."""
    import os

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORTCTL_", "PG"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        SUPPORTCTL_CONFIG=str(home / "config" / "supportctl" / "config.toml"),
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
        TZ="UTC",
        NO_COLOR="1",
    )
    return env


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL for the session (tests/pg.py); skips (or fails, with
    SUPPORTCTL_PG_REQUIRED=1) where there is none."""
    from tests import pg

    server = pg.start()
    yield server
    pg.finish(server)


@pytest.fixture
def pg_store(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database for this test, named by SUPPORTCTL_STORE (so every command of the
    test uses it, as `--store postgresql://…` would)."""
    pg_server.reset()
    monkeypatch.setenv("SUPPORTCTL_STORE", pg_server.url)
    return pg_server.url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):
    """Run the test on the json backend, over http against `serve`'s app, on a PostgreSQL
    store, and over http against `serve` on that PostgreSQL store."""
    global _HTTP
    name = request.param
    marker = request.node.get_closest_marker("json_only")
    if marker and name != "json":
        pytest.skip(f"json backend only: {marker.args[0] if marker.args else ''}")
    marker = request.node.get_closest_marker("local_only")
    if marker and name.startswith("http"):
        pytest.skip(f"local stores only: {marker.args[0] if marker.args else ''}")
    if name.endswith("postgres"):
        request.getfixturevalue("pg_store")
    if name.startswith("http"):
        _HTTP = {"tokens": {}}
    yield "http" if name.startswith("http") else name
    state, _HTTP = _HTTP, None
    if state and state.get("server"):
        state["server"].shutdown()
        state["thread"].join()
        state["server"].server_close()
        state["api"].close()


def org(id_: str, name: str, **extra) -> dict:
    return {"kind": "org", "id": id_, "name": name, **extra}


def user(username: str, org_id: str, role: str = "user", **extra) -> dict:
    return {
        "kind": "user",
        "username": username,
        "name": username.capitalize(),
        "email": f"{username}@example.com",
        "org": org_id,
        "role": role,
        **extra,
    }


def ticket(id_: str, requester: str, org_id: str, **extra) -> dict:
    doc = {
        "kind": "ticket",
        "id": id_,
        "subject": f"Subject of {id_}",
        "type": "email",
        "category": "technical",
        "status": "open",
        "priority": "normal",
        "requester": requester,
        "org": org_id,
        "created_at": "2026-10-01T09:00:00Z",
        "updated_at": "2026-10-02T09:00:00Z",
    }
    doc.update(extra)
    return doc


def message(
    id_: str, author: str, body: str, kind: str = "email", at: str = "2026-10-01T09:00:00Z"
):
    return {"id": id_, "kind": kind, "author": author, "at": at, "body": body, "attachments": []}


def small_store_docs() -> list[dict]:
    """Three orgs, every role, and tickets chosen so each rule of SPEC §3 can be seen."""
    recent = ts(NOW - timedelta(hours=2))
    return [
        org("acme", "Acme Corp"),
        org("globex", "Globex"),
        org("support", "Support Vendor"),
        user("alice", "acme", "admin"),
        user("bob", "acme", support_access=True),
        user("carol", "acme"),
        user("fed", "acme", fedramp=True),
        user("gina", "globex"),
        user("gadmin", "globex", "admin"),
        user("dana", "support", "agent"),
        user("eve", "support", "agent"),
        ticket(
            "1001",
            "bob",
            "acme",
            subject="Export fails with a timeout",
            cc=["carol"],
            assignee="dana",
            priority="high",
            tags=["export", "api"],
            created_at="2026-10-01T09:00:00Z",
            updated_at="2026-10-03T09:00:00Z",
            proxy_access={"carol": True},
            messages=[
                message("m1", "bob", "The export times out after 30 seconds."),
                message("m2", "dana", "Customer is on the legacy plan", kind="note"),
                message("m3", "dana", "Could you send a HAR file?"),
            ],
        ),
        ticket(
            "1002",
            "carol",
            "acme",
            type="chat",
            subject="Chat about billing",
            category="billing",
            status="pending",
            priority="low",
            created_at="2026-10-05T09:00:00Z",
            updated_at=recent,
            messages=[
                message("c1", "carol", "Hi, my invoice is wrong", kind="chat"),
                message("c2", "eve", "Let me check", kind="chat"),
            ],
        ),
        ticket(
            "1003",
            "bob",
            "acme",
            type="phone",
            subject="",
            status="new",
            priority="urgent",
            tags=["export"],
            created_at="2026-10-10T09:00:00Z",
            updated_at="2026-10-10T09:00:00Z",
        ),
        ticket("1004", "gina", "globex", type="web", created_at="2026-10-12T09:00:00Z"),
        ticket("1005", "fed", "acme", created_at="2026-10-13T09:00:00Z"),
        ticket(
            "1006",
            "alice",
            "acme",
            type="call",
            subject="",
            status="closed",
            resolution="solved",
            assignee="eve",
            created_at="2026-10-14T09:00:00Z",
            updated_at="2026-10-20T09:00:00Z",
            closed_at="2026-10-20T09:00:00Z",
            call={
                "scheduled_at": "2026-10-15T15:00:00Z",
                "status": "accepted",
                "meeting_url": "https://meet.example.com/abc",
                "passcode": "424242",
            },
            feedback={"rating": 4, "comment": "Quick and clear", "at": "2026-10-21T09:00:00Z"},
        ),
    ]


def jsonl(docs: list[dict]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


class PgStoreView:
    """What tests read of a PostgreSQL store, in the json store's path form: ``view /
    "tickets" / "1001.json"`` reads the stored ticket (``read_text``, ``read_bytes``,
    ``exists``), so a test checks the stored state whichever local store holds it."""

    def __init__(self, url: str, parts: tuple[str, ...] = ()) -> None:
        self.url, self.parts = url, parts

    def __truediv__(self, part: str) -> PgStoreView:
        return PgStoreView(self.url, (*self.parts, *str(part).split("/")))

    def __str__(self) -> str:
        from supportctl.storage.pgurl import redact

        return "/".join([redact(self.url), *self.parts])

    def _doc(self) -> dict | None:
        if len(self.parts) != 2 or not self.parts[1].endswith(".json"):
            raise FileNotFoundError(str(self))
        folder, key = self.parts[0], self.parts[1].removesuffix(".json")
        found = None
        storage = open_store(self.url)
        try:
            if folder == "tickets":
                found = storage.get_ticket(key)
            elif folder == "escalations":
                found = storage.get_escalation(key)
        finally:
            storage.close()
        return found.to_dict() if found is not None else None

    def exists(self) -> bool:
        if self.parts == ("blobs",):
            return bool(self.rglob("*"))
        return bool(self.parts) and self._doc() is not None

    def rglob(self, pattern: str) -> list[PgStoreView]:
        """Under ``blobs``: one entry per attachment kept (``is_file()``)."""
        assert self.parts == ("blobs",) and pattern == "*", "only blobs/ is listed"
        storage = open_store(self.url)
        try:
            digests = [r[0] for r in storage._read("SELECT sha256 FROM blobs")]
        finally:
            storage.close()
        return [self / digest for digest in digests]

    def is_file(self) -> bool:
        return len(self.parts) == 2 and self.parts[0] == "blobs"

    def read_bytes(self) -> bytes:
        doc = self._doc()
        if doc is None:
            raise FileNotFoundError(str(self))
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")

    def read_text(self, encoding: str | None = None) -> str:
        return self.read_bytes().decode("utf-8")


def open_store(where):
    """The storage a test's store fixture names: a json directory or a PostgreSQL view."""
    if isinstance(where, PgStoreView | str) and str(getattr(where, "url", where)).startswith(
        "postgres"
    ):
        from supportctl.storage.postgres import PostgresStore

        return PostgresStore(getattr(where, "url", where))
    from supportctl.storage.jsonstore import JsonStore

    return JsonStore(where)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> Path | PgStoreView:
    """The small store, imported through the CLI into the default store location (on the
    postgres parameters: into the test's database)."""
    import os

    if "backend" in request.fixturenames:
        request.getfixturevalue("backend")  # first: it names the store

    result = run("store", "import", "-", input=jsonl(small_store_docs()))
    assert result.exit_code == 0, result.stderr
    from supportctl.config import default_store_path

    url = os.environ.get("SUPPORTCTL_STORE", "")
    if url.startswith("postgres"):
        return PgStoreView(url)
    return default_store_path()
