"""Faults with real processes on the postgres store (SPEC §12, §7):

* two ``serve`` processes on one database, eight HTTP writer clients (each POST with an
  Idempotency-Key, retried by the http client and then, with the same key, at the other
  server, as a load balancer would), each server SIGKILLed mid-load and restarted on its
  port: every acknowledged write is in the store once, none is there twice;
* four CLI processes at a time, 25 replies each, on one ticket: all 100 there, distinct;
* PostgreSQL restarted (``pg_ctl restart``, and stopped for a while, then started) under
  CLI and HTTP load: every command exits 0 or 6 (a one-line error, no traceback), clients
  succeed on retry, ``store check`` is healthy and every acknowledged write is there once;
* ``GET /api/v1/health`` answers 503 within 5 s when the database is stopped or stops
  answering on the connections already open, and 200 again when it is back; a database
  that does not answer exits 6 within the connect timeout, naming host and database and
  never the password, from a command and from ``serve``.

These run on a PostgreSQL cluster of their own (tests/pg.py), since they stop and restart
it; with SUPPORTCTL_PG_URL (a server that is not the tests' own) the restarts skip.
"""

from __future__ import annotations

import contextlib
import select
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from supportctl.errors import SupportctlError, Unavailable
from supportctl.remote.http import HttpClient
from tests import pg
from tests.conftest import jsonl, run, small_store_docs
from tests.test_faults import Server, cli, make_token
from tests.test_http import unanswering_port

pytestmark = pytest.mark.slow

REPLY_TICKETS = ("1001", "1002", "1003", "1004")  # open tickets of the small store


@pytest.fixture(scope="module")
def cluster():
    """A PostgreSQL of this module's own: the tests stop and restart it."""
    server = pg.start()
    yield server
    pg.finish(server)


@pytest.fixture
def db(cluster, tmp_path) -> str:
    """The small store in an empty database of the module's cluster; its URL."""
    cluster.reset()
    result = run("--store", cluster.url, "store", "import", "-", input=jsonl(small_store_docs()))
    assert result.exit_code == 0, result.stderr
    return cluster.url


def serve(env: dict[str, str], url: str, log: Path, port: int = 0, *options: str) -> Server:
    command = [sys.executable, "-m", "supportctl", *options, "--store", url, "serve"]
    return Server(env, Path("unused"), log, [*command, "--port", str(port)])


def stored_bodies(url: str) -> Counter[str]:
    """Every message body of every ticket, counted, read from the database itself."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT m->>'body' FROM tickets, json_array_elements(doc->'messages') AS m"
        ).fetchall()
    return Counter(r[0] for r in rows)


def stored_subjects(url: str) -> dict[str, list[str]]:
    import psycopg

    found: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        for ticket_id, subject in conn.execute("SELECT id, doc->>'subject' FROM tickets"):
            found.setdefault(subject, []).append(ticket_id)
    return found


def store_check(env: dict[str, str], url: str) -> None:
    check = cli(env, url, "store", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "healthy" in check.stderr


# -- HTTP writers ---------------------------------------------------------------------------------


class CountingClient(HttpClient):
    """The http client, counting the tries that failed (what its -v would print)."""

    failed_tries = 0

    def _say(self, text: str) -> None:
        if " failed after " in text or " 50" in text:
            self.failed_tries += 1


class Writer(threading.Thread):
    """An HTTP client of the servers at ``urls``: ``count`` POSTs, every fourth a new ticket and
    the rest replies, sent to the servers in turn (as a load balancer spreads them). Each
    POST has an Idempotency-Key of its own, kept on every try: the http client retries it
    (connection errors, 502/503/504) and, when it gives up (exit 6), the same request goes
    to the next server, until it is answered or ``deadline``."""

    def __init__(
        self,
        name: str,
        urls: list[str],
        token: str,
        count: int,
        deadline: float,
        until: threading.Event | None = None,
    ):
        super().__init__(daemon=True)
        self.until = until  # given: more than ``count`` POSTs, until it is set
        self.name_, self.urls, self.token, self.count = name, urls, token, count
        self.deadline = deadline
        #: (kind, unique text, outcome: "acked" | "unanswered" | an error, ticket id, replayed)
        self.writes: list[tuple[str, str, str, str | None, bool]] = []
        self.gave_up = 0  # times the http client gave up (exit 6) before another server answered
        self.clients: list[CountingClient] = []

    def acked(self) -> int:
        return sum(w[2] == "acked" for w in self.writes)

    def failed_tries(self) -> int:
        return sum(c.failed_tries for c in self.clients)

    def run(self) -> None:
        clients = [CountingClient(url, self.token, timeout=15, verbose=True) for url in self.urls]
        self.clients = clients
        k = -1
        while True:
            k += 1
            if k >= self.count and (self.until is None or self.until.is_set()):
                break
            text = f"{self.name_}-{k}"
            if k % 4 == 3:
                kind, path, payload = "create", "/tickets", {"subject": text, "body": "new"}
            else:
                ticket_id = REPLY_TICKETS[k % len(REPLY_TICKETS)]
                kind, path = "reply", f"/tickets/{ticket_id}/messages"
                payload = {"body": text}
            headers = {"Idempotency-Key": f"key-{text}"}
            outcome, ticket, replayed, tries = "unanswered", None, False, 0
            while time.monotonic() < self.deadline:
                client = clients[(k + tries) % len(clients)]
                tries += 1
                try:
                    doc, response = client.call("POST", path, json=payload, headers=headers)
                except Unavailable:
                    self.gave_up += 1
                    time.sleep(0.05)
                    continue
                except SupportctlError as exc:
                    outcome = f"error: {exc.message}"
                    break
                outcome, ticket = "acked", doc["id"]
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                break
            self.writes.append((kind, text, outcome, ticket, replayed))


def verify_writes(url: str, writers: list[Writer]) -> dict[str, int]:
    """Every acknowledged write is in the store once; no write is there twice (an
    unanswered one may be there once: its change committed, its answer was lost)."""
    bodies, subjects = stored_bodies(url), stored_subjects(url)
    problems: list[str] = []
    figures = Counter()
    for writer in writers:
        for kind, text, outcome, ticket, replayed in writer.writes:
            figures[f"{kind} {outcome.split(':')[0]}"] += 1
            figures["replayed"] += replayed
            found = bodies[text] if kind == "reply" else len(subjects.get(text, []))
            if outcome == "acked" and found != 1:
                problems.append(f"{kind} {text} was acknowledged and is there {found} times")
            elif found > 1:
                problems.append(f"{kind} {text} ({outcome}) is there {found} times")
            if kind == "create" and outcome == "acked" and subjects.get(text) != [ticket]:
                problems.append(f"ticket {text} was answered as {ticket}: {subjects.get(text)}")
    assert not problems, "\n".join(problems[:20])
    return dict(figures)


# -- (a) two servers, one killed -------------------------------------------------------------------


def test_two_servers_one_killed_mid_load_lose_no_acknowledged_write_and_apply_none_twice(
    db, tmp_path, child_env
):
    tokens = [make_token(child_env, db, agent) for agent in ("dana", "eve")]
    servers = [serve(child_env, db, tmp_path / f"serve-{n}.log") for n in range(2)]
    ports = [s.port for s in servers]
    urls = [s.url for s in servers]
    started = time.monotonic()
    writers = [
        Writer(f"w{n}", urls[n % 2 :] + urls[: n % 2], tokens[n % 2], 60, started + 240)
        for n in range(8)
    ]
    kills = 0
    try:
        for writer in writers:
            writer.start()
        total = 8 * 60
        for victim, share in ((0, 0.3), (1, 0.65)):
            while sum(w.acked() for w in writers) < total * share:
                assert any(w.is_alive() for w in writers), "the writers stopped early"
                time.sleep(0.005)
            servers[victim].kill()  # SIGKILL, requests in flight and all
            kills += 1
            time.sleep(0.3)
            servers[victim] = serve(
                child_env, db, tmp_path / f"serve-{victim}-again.log", ports[victim]
            )
        for writer in writers:
            writer.join(300)
            assert not writer.is_alive(), "a writer hangs"
    finally:
        for server in servers:
            server.stop()
    elapsed = time.monotonic() - started
    figures = verify_writes(db, writers)
    assert figures.get("reply acked", 0) + figures.get("create acked", 0) == 8 * 60, figures
    assert sum(w.failed_tries() for w in writers) > 0  # the kills did hit the writers
    store_check(child_env, db)
    print(
        f"\n2 servers, 8 writers x 60 POSTs, {kills} servers SIGKILLed and restarted: "
        f"{elapsed:.1f} s, {figures}; tries that failed and were retried: "
        f"{sum(w.failed_tries() for w in writers)}; the http client gave up "
        f"{sum(w.gave_up for w in writers)} times before the other server answered"
    )


# -- (b) CLI processes on one ticket ----------------------------------------------------------------


REPLYING_PROCESS = """
import sys
from supportctl.cli import cli
lane = sys.argv[1]
print("ready", flush=True)
sys.stdin.readline()  # every process starts at once
for k in range(25):
    body = f"lane{lane}-reply{k}"
    try:
        cli.main(
            args=["--user", "dana", "tickets", "reply", "1001", "-m", body],
            prog_name="supportctl",
            standalone_mode=False,
        )
        status = 0
    except SystemExit as exc:
        status = exc.code
    print(body, status, flush=True)
"""


def test_four_cli_processes_25_replies_each_on_one_ticket_lose_none(db, child_env):
    """Each process runs the reply command 25 times, each time as a command does: its own
    connection, its own transaction, the ticket's row locked while it changes."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLYING_PROCESS, str(n)],
            env={**child_env, "SUPPORTCTL_STORE": db},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        assert proc.stdout.readline() == "ready\n"
    started = time.monotonic()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results: dict[str, str] = {}
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.update(line.split() for line in out.splitlines())
    elapsed = time.monotonic() - started
    failed = {body: status for body, status in results.items() if status != "0"}
    assert len(results) == 100 and not failed, failed
    from supportctl.storage.postgres import PostgresStore

    store = PostgresStore(db)
    try:
        ticket = store.get_ticket("1001")
    finally:
        store.close()
    replies = [m for m in ticket.messages if m.body.startswith("lane")]
    assert sorted(m.body for m in replies) == sorted(results)  # all 100, each once
    ids = [m.id for m in ticket.messages]
    assert len(set(ids)) == len(ids)  # message ids distinct
    assert [e["action"] if isinstance(e, dict) else e.action for e in ticket.events].count(
        "replied"
    ) >= 100
    store_check(child_env, db)
    print(f"\n4 CLI processes x 25 replies on one ticket: {elapsed:.1f} s, 100 of 100 kept")


# -- (c) PostgreSQL restarted under load -------------------------------------------------------------


def test_postgresql_restarted_under_load_clients_exit_6_or_succeed_and_nothing_is_torn(
    db, cluster, tmp_path, child_env
):
    cluster.pg_ctl("status")  # skips now where the cluster is not the tests' own
    token = make_token(child_env, db, "dana")
    server = serve(child_env, db, tmp_path / "serve.log")
    started = time.monotonic()
    done = threading.Event()
    writers = [
        Writer(f"h{n}", [server.url], token, 20, started + 240, until=done) for n in range(4)
    ]
    exits: Counter[int] = Counter()
    outcomes: dict[str, int] = {}  # every CLI attempt's body -> its exit status
    errors: list[str] = []

    def cli_lane(n: int) -> None:
        k = 0
        while not done.is_set() or k < 10:
            attempt = 0
            while True:  # the same reply again on exit 6, as a script would retry
                body = f"cli{n}-{k}-try{attempt}"
                result = cli(
                    child_env, db, "--user", "eve", "tickets", "reply", REPLY_TICKETS[n], "-m", body
                )
                exits[result.returncode] += 1
                outcomes[body] = result.returncode
                if result.returncode == 6:
                    lines = result.stderr.strip().splitlines()
                    if not lines[0].startswith("supportctl: error: ") or "Traceback" in (
                        result.stderr
                    ):
                        errors.append(result.stderr)
                    attempt += 1
                    time.sleep(0.2)
                    continue
                if result.returncode != 0:
                    errors.append(f"exit {result.returncode}: {result.stderr}")
                break
            k += 1

    lanes = [threading.Thread(target=cli_lane, args=(n,), daemon=True) for n in range(2)]
    try:
        for thread in [*writers, *lanes]:
            thread.start()
        time.sleep(2)
        cluster.pg_ctl("restart", "-m", "fast")  # backends terminated mid-transaction
        time.sleep(2)
        cluster.pg_ctl("stop", "-m", "fast")  # and down for a while
        time.sleep(3)
        cluster.pg_ctl("start")
        done.set()
        for thread in [*writers, *lanes]:
            thread.join(300)
            assert not thread.is_alive(), "a client hangs"
        health = requests.get(server.url + "/health", timeout=10)
        assert health.status_code == 200, health.text  # the pool reconnected
    finally:
        server.stop()
    assert not errors, "\n".join(errors[:5])
    assert set(exits) <= {0, 6} and exits[6] > 0, exits  # the restarts were seen
    figures = verify_writes(db, writers)
    written = sum(len(w.writes) for w in writers)
    assert figures.get("reply acked", 0) + figures.get("create acked", 0) == written, figures
    assert sum(w.failed_tries() for w in writers) > 0  # the restarts did hit the writers
    bodies = stored_bodies(db)
    for body, status in outcomes.items():
        if status == 0:
            assert bodies[body] == 1, f"{body} exited 0 and is there {bodies[body]} times"
        else:  # exit 6: not applied, or applied once with its answer lost in the restart
            assert bodies[body] <= 1, f"{body} exited 6 and is there {bodies[body]} times"
    store_check(child_env, db)
    print(
        f"\nPostgreSQL restarted and stopped for 3 s under load: CLI exits {dict(exits)}, "
        f"HTTP {figures}, tries that failed and were retried: "
        f"{sum(w.failed_tries() for w in writers)}, the http client gave up "
        f"{sum(w.gave_up for w in writers)} times"
    )


# -- health and unreachable databases ------------------------------------------------------------


class Relay:
    """A TCP relay to PostgreSQL that can go silent: ``stall()`` stops forwarding on the
    connections open and leaves new ones unanswered (its accept queue full), as a database
    host that vanished from the network would."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            if self.stalled.is_set():
                time.sleep(0.05)
                continue
            ready, _, _ = select.select([self.listener], [], [], 0.05)
            if not ready or self.stalled.is_set():
                continue
            client, _ = self.listener.accept()
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while not self.closed.is_set():
                if self.stalled.is_set():
                    time.sleep(0.05)
                    continue
                ready, _, _ = select.select([source], [], [], 0.05)
                if ready and not self.stalled.is_set():
                    data = source.recv(65536)
                    if not data:
                        break
                    sink.sendall(data)

    def stall(self) -> None:
        self.stalled.set()
        for _ in range(4):  # fill the accept queue: connection attempts go unanswered
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))
            self.sockets.append(filler)

    def close(self) -> None:
        self.closed.set()
        for sock in [*self.sockets, self.listener]:
            with contextlib.suppress(OSError):
                sock.close()


def timed_health(url: str) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = requests.get(url + "/health", timeout=30)
    return time.monotonic() - started, response


def test_health_is_503_within_5_s_when_the_database_stops_answering(
    db, cluster, tmp_path, child_env
):
    if "@127.0.0.1:" not in db:
        pytest.skip("the relay reaches a server on 127.0.0.1 only")
    port = int(db.split("@127.0.0.1:")[1].split("/")[0])
    relay = Relay(port)
    url = db.replace(f":{port}/", f":{relay.port}/")
    server = serve(child_env, url, tmp_path / "serve.log")
    try:
        took, ok = timed_health(server.url)
        assert ok.status_code == 200 and ok.json() == {"status": "ok"}
        relay.stall()
        took, down = timed_health(server.url)
        assert down.status_code == 503, down.text
        assert took <= 5.0, f"{took:.1f} s"
        assert down.headers["Content-Type"] == "application/problem+json"
        assert "did not answer a health check" in down.json()["detail"]
        # the check still hangs on its connection: the next ones do not queue behind it
        again, down = timed_health(server.url)
        assert down.status_code == 503 and again < 1.0, f"{again:.1f} s"
    finally:
        server.kill()
        relay.close()
    print(f"\nhealth with a silent database: 503 in {took:.2f} s, then in {again:.3f} s")


def test_health_is_503_within_5_s_while_the_database_is_stopped_then_200(
    db, cluster, tmp_path, child_env
):
    cluster.pg_ctl("status")  # skips now where the cluster is not the tests' own
    secret = db.replace("postgres@", "postgres:hunter2@")  # trust: the password is not asked
    log = tmp_path / "serve.log"
    server = serve(child_env, secret, log, 0, "-v")
    try:
        assert timed_health(server.url)[1].status_code == 200
        cluster.pg_ctl("stop", "-m", "fast")
        try:
            timings = []
            for _ in range(2):
                took, down = timed_health(server.url)
                assert down.status_code == 503, down.text
                assert took <= 5.0, f"{took:.1f} s"
                timings.append(took)
            detail = down.json()["detail"]
            assert "database" in detail and "hunter2" not in down.text
        finally:
            cluster.pg_ctl("start")
        deadline = time.monotonic() + 30
        while timed_health(server.url)[1].status_code != 200:
            assert time.monotonic() < deadline, "health never recovered"
            time.sleep(0.2)
        token = make_token(child_env, db, "dana")
        status, doc = server.request("GET", "/tickets/1001", token)
        assert status == 200, doc
    finally:
        server.stop()
    logged = log.read_text()
    assert "serving postgresql://postgres@127.0.0.1:" in logged and "hunter2" not in logged
    print(f"\nhealth with the database stopped: 503 in {', '.join(f'{t:.2f}' for t in timings)} s")


def test_an_unanswering_database_exits_6_within_the_connect_timeout_from_a_command_and_serve(
    tmp_path, child_env
):
    with unanswering_port() as port:
        url = f"postgresql://ann:s3cretpw@127.0.0.1:{port}/teamdesk"
        for args in (
            ("-v", "--user", "bob", "tickets", "list"),
            ("-v", "store", "init"),
            ("-v", "serve", "--port", "0"),
        ):
            started = time.monotonic()
            result = cli(child_env, url, *args)
            took = time.monotonic() - started
            assert result.returncode == 6, (args, result.stderr)
            assert took < 7.0, f"{args}: {took:.1f} s"  # 5 s, plus starting Python
            errors = [x for x in result.stderr.splitlines() if "error" in x]
            assert len(errors) == 1 and errors[0].startswith(
                "supportctl: error: cannot reach the PostgreSQL database 'teamdesk' on 127.0.0.1"
            ), result.stderr
            assert "s3cretpw" not in result.stderr + result.stdout
            assert "Traceback" not in result.stderr
            print(f"{args}: exit 6 in {took:.2f} s")


def test_a_refused_database_exits_6_at_once_from_serve_without_the_password(tmp_path, child_env):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://ann:s3cretpw@127.0.0.1:{port}/teamdesk?sslmode=disable"
    started = time.monotonic()
    result = cli(child_env, url, "-v", "serve", "--port", "0")
    assert result.returncode == 6, result.stderr
    assert time.monotonic() - started < 5.0
    assert "'teamdesk' on 127.0.0.1" in result.stderr
    assert "s3cretpw" not in result.stderr + result.stdout


# -- one request at two servers at once -----------------------------------------------------------


def test_one_request_at_two_servers_at_once_is_applied_once(db):
    """A client whose first try is slow (here: the ticket is locked by someone else) and
    whose retry, with the same Idempotency-Key, goes to another server: the two servers
    hold the same request at once, each having found no record of it. The change is made
    once; the other server answers from the first one's record."""
    import psycopg
    from werkzeug.test import Client

    from supportctl.server.app import create_app
    from supportctl.storage import admin

    apis = [create_app(db, log=lambda line: None) for _ in range(2)]
    _record, token = admin.create_token(apis[0].storage, "dana")
    answers: list = [None, None]

    def post(n: int) -> None:
        answers[n] = Client(apis[n]).post(
            "/api/v1/tickets/1001/messages",
            json={"body": "sent once, tried twice"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "slow-then-retried"},
        )

    holder = psycopg.connect(db)
    try:
        holder.execute("SELECT 1 FROM tickets WHERE id = '1001' FOR UPDATE")
        threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while True:  # both servers wait for the ticket's row lock, past their record check
            (waiting,) = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ).fetchone()
            if waiting == 2:
                break
            assert time.monotonic() < deadline, "the two requests never met at the lock"
            time.sleep(0.02)
        holder.rollback()
        for thread in threads:
            thread.join(30)
    finally:
        holder.close()
        for api in apis:
            api.close()
    assert [a.status_code for a in answers] == [201, 201], [a.get_data() for a in answers]
    replayed = sorted(a.headers.get("Idempotent-Replayed", "") for a in answers)
    assert replayed == ["", "true"]
    bodies = stored_bodies(db)
    assert bodies["sent once, tried twice"] == 1
    assert answers[0].get_json()["messages"] == answers[1].get_json()["messages"]
