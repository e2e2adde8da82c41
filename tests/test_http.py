"""The http backend and the reference server: what only HTTP can get wrong (SPEC §7, §9)."""

from __future__ import annotations

import contextlib
import http.client as http_client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from supportctl.api import TicketQuery
from supportctl.errors import AuthenticationFailed, Unavailable, UsageError
from supportctl.remote.http import HttpClient, HttpService
from supportctl.server.app import create_app
from supportctl.server.serving import make_server
from supportctl.storage import admin
from supportctl.storage.jsonstore import JsonStore
from tests.conftest import jsonl, run, ticket

URL = "http://supportctl.test/api/v1"


class LiveServer:
    def __init__(self, store, port: int = 0) -> None:
        self.server = make_server("127.0.0.1", port, create_app(store, log=self.lines.append))
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self.thread.start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/api/v1"

    lines: list[str] = []

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


@pytest.fixture
def live(store):
    server = LiveServer(store)
    yield server
    server.stop()


def token_for(store, user: str) -> str:
    return admin.create_token(JsonStore(store), user)[1]


def http(live, token: str, *args: str, **kwargs):
    return run(
        "--backend", "http", "--url", live.url, *args, env={"SUPPORTCTL_TOKEN": token}, **kwargs
    )


# -- authentication and reachability ----------------------------------------------------------------


def test_wrong_missing_and_revoked_tokens_exit_4(store, live):
    assert http(live, "sct_wrong", "tickets", "list").exit_code == 4
    good = token_for(store, "bob")
    assert http(live, good, "tickets", "list").exit_code == 0
    record = JsonStore(store).list_tokens()[-1]
    assert run("store", "token", "revoke", record.id).exit_code == 0
    revoked = http(live, good, "tickets", "list")  # the running server sees the revocation
    assert revoked.exit_code == 4
    assert revoked.stderr == "supportctl: error: invalid or revoked token\n"
    missing = run("--backend", "http", "--url", live.url, "tickets", "list")
    assert missing.exit_code == 4
    assert "needs a token" in missing.stderr


@pytest.mark.slow
def test_unreachable_server_exits_6_quickly(isolated_home):
    start = time.monotonic()
    result = run("--backend", "http", "--url", "http://127.0.0.1:9/api/v1", "tickets", "list",
                 env={"SUPPORTCTL_TOKEN": "x"})  # fmt: skip
    assert result.exit_code == 6
    assert "is unreachable (4 tries)" in result.stderr
    assert time.monotonic() - start < 15


def test_http_needs_a_url(isolated_home):
    result = run("--backend", "http", "tickets", "list", env={"SUPPORTCTL_TOKEN": "x"})
    assert result.exit_code == 2
    assert "needs a URL" in result.stderr


def test_store_commands_are_refused_over_http(store, live):
    result = http(live, token_for(store, "bob"), "store", "export")
    assert result.exit_code == 2
    assert (
        result.stderr
        == "supportctl: error: `store export` is not supported by the `http` backend\n"
    )


def test_verbose_logs_requests_without_the_token(store, live):
    token = token_for(store, "bob")
    result = http(live, token, "-v", "tickets", "list")
    assert result.exit_code == 0
    assert f"GET {live.url}/tickets 200" in result.stderr
    assert token not in result.stderr
    assert all(token not in line for line in live.lines)
    assert any('bob "GET /api/v1/tickets?' in line for line in live.lines)


def test_a_listing_is_one_request_and_a_configured_user_is_still_checked(store, live):
    token = token_for(store, "bob")
    live.lines.clear()
    plain = http(live, token, "tickets", "list")
    assert plain.exit_code == 0, plain.stderr
    assert "warning" not in plain.stderr
    same = http(live, token, "--user", "bob", "tickets", "list")
    assert (same.exit_code, same.stdout) == (0, plain.stdout)
    assert "warning" not in same.stderr
    other = http(live, token, "--user", "carol", "tickets", "list")
    assert (other.exit_code, other.stdout) == (0, plain.stdout)
    assert other.stderr.startswith(
        "supportctl: warning: the configured user carol (--user, SUPPORTCTL_USER or the "
        "profile) is not the token's user; over http you act as bob\n"
    )
    assert [line.split('"')[1].split("?")[0] for line in live.lines] == ["GET /api/v1/tickets"] * 3
    # An agent's table has the ASSIGNEE column: the page's viewer says who is asking.
    agent = http(live, token_for(store, "dana"), "tickets", "list", "--scope", "org")
    assert agent.exit_code == 0 and "ASSIGNEE" in agent.stdout.splitlines()[0]
    assert not any("/me" in line for line in live.lines)


def test_the_warning_comes_with_an_error_answer_too(store, live):
    token = token_for(store, "bob")
    live.lines.clear()
    result = http(live, token, "--user", "carol", "tickets", "show", "1002")  # carol's
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "supportctl: warning: the configured user carol (--user, SUPPORTCTL_USER or the "
        "profile) is not the token's user; over http you act as bob\n"
        "supportctl: error: "
    )
    assert not any("/me" in line for line in live.lines)


@responses.activate(registry=OrderedRegistry)
def test_a_server_without_the_user_header_is_asked_get_me():
    page = {"items": [], "next_cursor": None, "total": 0}
    me = {"username": "bob", "name": "Bob", "email": "", "org": "acme"}
    responses.get(f"{URL}/tickets", json=page)  # in the order asked: no Supportctl-User
    responses.get(f"{URL}/me", json=me)
    responses.get(f"{URL}/tickets", json=page)
    service = HttpService(client([]), expected_user="carol")
    warnings: list[str] = []
    service.watch_identity(warnings.append)
    service.list_tickets(TicketQuery(limit=20))
    service.list_tickets(TicketQuery(limit=20))  # checked once
    assert [c.request.url.split("?")[0] for c in responses.calls] == [
        f"{URL}/tickets",
        f"{URL}/me",
        f"{URL}/tickets",
    ]
    assert warnings == [
        "the configured user carol (--user, SUPPORTCTL_USER or the profile) is not the "
        "token's user; over http you act as bob"
    ]


@responses.activate(registry=OrderedRegistry)
def test_no_get_me_after_an_answer_that_failed_anyway():
    for _ in range(4):  # every try of the listing: 503 from something without the header
        responses.get(f"{URL}/tickets", status=503)
    service = HttpService(client([]), expected_user="carol")
    warnings: list[str] = []
    service.watch_identity(warnings.append)
    with pytest.raises(Unavailable):
        service.list_tickets(TicketQuery(limit=20))
    assert len(responses.calls) == 4 and warnings == []  # no GET /me and its own retries


# -- the REST contract ------------------------------------------------------------------------------


def test_problem_json_etag_and_stale_if_match(store, live):
    token = token_for(store, "dana")
    headers = {"Authorization": f"Bearer {token}"}
    first = requests.get(f"{live.url}/tickets/1001", headers=headers, timeout=5)
    assert first.status_code == 200 and first.headers["ETag"].startswith('"')
    stale = first.headers["ETag"]
    assert run("--user", "dana", "tickets", "update", "1001", "--priority", "low").exit_code == 0
    patch = requests.patch(f"{live.url}/tickets/1001", json={"priority": "urgent"},
                           headers={**headers, "If-Match": stale}, timeout=5)  # fmt: skip
    assert patch.status_code == 412
    assert patch.headers["Content-Type"] == "application/problem+json"
    problem = patch.json()
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == 412
    fresh = requests.get(f"{live.url}/tickets/1001", headers=headers, timeout=5).headers["ETag"]
    ok = requests.patch(f"{live.url}/tickets/1001", json={"priority": "urgent"},
                        headers={**headers, "If-Match": fresh}, timeout=5)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["priority"] == "urgent"
    unauthenticated = requests.get(f"{live.url}/tickets", timeout=5)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_needs_no_token_and_says_when_the_store_does_not_answer(store, live):
    ok = requests.get(f"{live.url}/health", timeout=5)
    assert ok.status_code == 200 and ok.json() == {"status": "ok"}
    (store / "users.json").write_text("not json")
    down = requests.get(f"{live.url}/health", timeout=5)
    assert down.status_code == 503
    assert down.headers["Content-Type"] == "application/problem+json"
    assert "users.json" in down.json()["detail"]


def test_idempotency_key_replays_the_first_response(store, live):
    token = token_for(store, "bob")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"}
    body = {"subject": "Once", "body": "only once"}
    first = requests.post(f"{live.url}/tickets", json=body, headers=headers, timeout=5)
    again = requests.post(f"{live.url}/tickets", json=body, headers=headers, timeout=5)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = requests.post(
        f"{live.url}/tickets", json={**body, "subject": "Other"}, headers=headers, timeout=5
    )
    assert other.status_code == 422
    ids = run("--user", "bob", "tickets", "list", "-o", "ids").stdout.split()
    assert ids.count(first.json()["id"]) == 1


def test_request_body_limit(store, live):
    token = token_for(store, "bob")
    big = requests.post(f"{live.url}/tickets/1001/messages", data=b"x" * (11 * 1024 * 1024),
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        timeout=10)  # fmt: skip
    assert big.status_code == 413


def test_lost_post_response_is_retried_with_the_same_key_and_creates_one_ticket(
    store, live, scripted
):
    token = token_for(store, "bob")
    proxy = scripted(FORWARD_DROP, FORWARD, upstream=live.url)  # the answer to the first is lost
    client = HttpClient(proxy.url, token, sleep=lambda s: None)
    before = run("--user", "bob", "tickets", "list", "-o", "ids", "--limit", "0").stdout.split()
    created = HttpService(client).create_ticket(subject="Lost answer", body="hello")
    after = run("--user", "bob", "tickets", "list", "-o", "ids", "--limit", "0").stdout.split()
    keys = [s.headers["Idempotency-Key"] for s in proxy.seen]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert set(after) - set(before) == {created.id}


def test_server_restarted_mid_list_the_client_retries_and_completes(store, monkeypatch):
    from supportctl.remote import http as http_module

    monkeypatch.setattr(http_module, "PAGE_SIZE", 2)
    server = LiveServer(store)
    port = server.port
    token = token_for(store, "dana")
    client = HttpClient(server.url, token)
    real = client.session.request
    restarted: list[LiveServer] = []

    def restart_after_first_page(method, url, **kwargs):
        response = real(method, url, **kwargs)
        if "/tickets" in url and not restarted:
            server.stop()
            restarted.append(None)  # type: ignore[arg-type]

            def start_again():
                time.sleep(0.3)
                restarted[0] = LiveServer(store, port)

            threading.Thread(target=start_again).start()
        return response

    client.session.request = restart_after_first_page  # type: ignore[method-assign]
    try:
        result = HttpService(client).list_tickets(TicketQuery(scope="org", limit=0))
    finally:
        for _ in range(50):
            if restarted and restarted[0] is not None:
                restarted[0].stop()
                break
            time.sleep(0.1)
    assert sorted(t["id"] for t in result.tickets) == [
        "1001",
        "1002",
        "1003",
        "1004",
        "1005",
        "1006",
    ]


@pytest.mark.slow
def test_listing_5000_tickets_uses_one_connection(store):
    docs = [ticket(str(10000 + i), "bob", "acme") for i in range(5000)]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    server = LiveServer(store)
    try:
        result = http(
            server, token_for(store, "bob"), "tickets", "list", "--limit", "0", "-o", "ids"
        )
        assert result.exit_code == 0
        assert len(result.stdout.split()) == 5002
        assert server.server.connections == 1  # 11 pages on one keep-alive connection
    finally:
        server.stop()


def test_lazy_pagination_fetches_no_more_than_needed(store, live):
    docs = [ticket(str(10000 + i), "bob", "acme") for i in range(1200)]
    run("store", "import", "-", input=jsonl(docs))
    live.lines.clear()
    result = http(live, token_for(store, "bob"), "tickets", "list", "--limit", "50", "-o", "ids")
    assert len(result.stdout.split()) == 50
    assert "1152 more" in result.stderr
    pages = [line for line in live.lines if '"GET /api/v1/tickets?' in line]
    assert len(pages) == 1 and "limit=50" in pages[0]


# -- retries, against a scripted server on 127.0.0.1 ------------------------------------------------
#
# responses replaces HTTPAdapter.send, and with it urllib3's Retry: these tests talk to a real
# loopback server that answers from a script, so the client's whole retry path runs.

DROP = "drop"  # close the connection without answering: a read error
FORWARD = "forward"  # pass the request to the upstream server and its answer back
FORWARD_DROP = "forward-drop"  # … and lose the answer: the server did the work


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Scripted:
    """An HTTP/1.1 server answering each request with its script's next step (the last step
    repeats) and recording what it received. A step is ``(status, headers, body)``, ``DROP``,
    ``("slow", seconds)`` (a 200 that late), ``FORWARD`` or ``FORWARD_DROP``."""

    def __init__(self, *steps, upstream: str | None = None) -> None:
        self.steps = list(steps)
        self.seen: list[Seen] = []
        self.connections = 0
        self.upstream = urlsplit(upstream) if upstream else None
        self.lock = threading.Lock()
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with script.lock:
                    script.connections += 1

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with script.lock:
                    script.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                    step = script.steps.pop(0) if len(script.steps) > 1 else script.steps[0]
                if step in (FORWARD, FORWARD_DROP):
                    answer = script.forward(self.command, self.path, dict(self.headers), body)
                    step = DROP if step == FORWARD_DROP else answer
                if step == DROP:
                    self.close_connection = True
                    return
                if step[0] == "slow":
                    time.sleep(step[1])
                    step = (200, {}, b"{}")
                status, headers, out = step
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:  # the client has given up
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes):
        assert self.upstream is not None
        conn = http_client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=10)
        hop = {"host", "connection"}
        conn.request(
            method, path, body or None, {k: v for k, v in headers.items() if k.lower() not in hop}
        )
        answer = conn.getresponse()
        out = answer.read()
        conn.close()
        hop |= {"content-length", "transfer-encoding", "date", "server"}
        return answer.status, {k: v for k, v in answer.getheaders() if k.lower() not in hop}, out

    def methods(self) -> list[str]:
        return [s.method for s in self.seen]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers: list[Scripted] = []

    def start(*steps, upstream: str | None = None) -> Scripted:
        servers.append(Scripted(*steps, upstream=upstream))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def refused_url() -> str:
    """A port nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


def wait_for(condition, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def verbose_lines(capsys) -> list[str]:
    return [re.sub(r"\b\d+ ms\b", "N ms", line) for line in capsys.readouterr().err.splitlines()]


def test_503_twice_then_200_is_retried_with_backoff_and_logged(scripted, capsys):
    server = scripted((503, {}, b""), (503, {}, b""), (200, {}, b'{"username": "bob"}'))
    sleeps: list[float] = []
    doc, _ = HttpClient(server.url, "tok", verbose=True, sleep=sleeps.append).call(
        "GET", "/me", params={"q": "1"}
    )
    assert doc == {"username": "bob"}
    assert server.methods() == ["GET", "GET", "GET"]
    assert all(s.path == "/api/v1/me?q=1" for s in server.seen)
    assert len(sleeps) == 2 and 0.125 <= sleeps[0] < 0.25 and 0.25 <= sleeps[1] < 0.5
    assert verbose_lines(capsys) == [  # the URL without the query string
        f"supportctl: GET {server.url}/me 503 N ms",
        f"supportctl: GET {server.url}/me 503 N ms",
        f"supportctl: GET {server.url}/me 200 N ms",
    ]
    assert server.connections == 1  # the 503s were read and the connection kept


def test_429_honours_retry_after_seconds_and_dates(scripted):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    server = scripted(
        (429, {"Retry-After": "2"}, b""),
        (503, {"Retry-After": when}, b""),
        (200, {}, b"{}"),
    )
    sleeps: list[float] = []
    HttpClient(server.url, "tok", sleep=sleeps.append).call("GET", "/me")
    assert len(server.seen) == 3
    assert sleeps[0] == 2.0
    assert 1.0 <= sleeps[1] <= 3.0


def test_retry_after_beyond_what_is_left_of_10_s_stops_at_once(scripted):
    server = scripted(
        (503, {"Retry-After": "3600"}, b'{"detail": "maintenance"}'), (200, {}, b"{}")
    )
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match="answered 503: maintenance"):
        HttpClient(server.url, "tok", sleep=sleeps.append).call("GET", "/me")
    assert sleeps == [] and len(server.seen) == 1
    # The budget is for the whole call: 6 s slept, then 5 s asked for with 4 s left.
    server = scripted(
        (429, {"Retry-After": "6"}, b""),
        (503, {"Retry-After": "5"}, b'{"detail": "busy"}'),
        (200, {}, b"{}"),
    )
    with pytest.raises(Unavailable, match="answered 503: busy"):
        HttpClient(server.url, "tok", sleep=sleeps.append).call("GET", "/me")
    assert sleeps == [6.0] and len(server.seen) == 2


def test_retries_are_bounded_in_count_and_total_wait(scripted, capsys):
    server = scripted((502, {}, b""))
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match="answered 502"):
        HttpClient(server.url, "tok", verbose=True, sleep=sleeps.append).call("PUT", "/x")
    assert server.methods() == ["PUT"] * 4
    assert len(sleeps) == 3 and sum(sleeps) <= 10
    assert verbose_lines(capsys) == [f"supportctl: PUT {server.url}/x 502 N ms"] * 4


def test_other_statuses_are_not_retried(scripted):
    server = scripted((500, {}, b'{"detail": "bug"}'), (200, {}, b"{}"))
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match="answered 500: bug"):
        HttpClient(server.url, "tok", sleep=sleeps.append).call("GET", "/me")
    server = scripted((404, {}, b'{"detail": "no such ticket"}'), (200, {}, b"{}"))
    with pytest.raises(Exception, match="no such ticket"):
        HttpClient(server.url, "tok", sleep=sleeps.append).call("GET", "/me")
    assert sleeps == [] and len(server.seen) == 1


def test_a_post_with_files_sends_the_same_key_and_bytes_on_every_try(scripted):
    server = scripted((503, {}, b""), DROP, (201, {}, b'{"id": "1"}'))
    sleeps: list[float] = []
    doc, _ = HttpClient(server.url, "tok", sleep=sleeps.append).call(
        "POST",
        "/tickets/1/messages",
        data={"body": "with a file", "internal": "false"},
        files=[("attach", ("ünï %41.txt", b"data", "text/plain"))],
    )
    assert doc == {"id": "1"} and len(sleeps) == 2
    assert server.methods() == ["POST"] * 3  # after a 503 and after a lost answer
    keys = {s.headers["Idempotency-Key"] for s in server.seen}
    assert len(keys) == 1 and uuid.UUID(keys.pop()).version == 4
    bodies = {s.body for s in server.seen}
    types = {s.headers["Content-Type"] for s in server.seen}
    assert len(bodies) == 1 and len(types) == 1  # byte for byte, one boundary
    body, content_type = bodies.pop(), types.pop()
    boundary = content_type.removeprefix("multipart/form-data; boundary=")
    assert boundary != content_type and f"--{boundary}--".encode() in body
    assert b'name="body"\r\n\r\nwith a file\r\n' in body
    assert 'filename="ünï %41.txt"'.encode() in body and b"\r\n\r\ndata\r\n" in body


def test_a_patch_is_not_sent_again_once_it_may_have_arrived(scripted, capsys):
    server = scripted(DROP, (200, {}, b"{}"))
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match=r"is unreachable \(1 tries\)"):
        HttpClient(server.url, "tok", verbose=True, sleep=sleeps.append).call(
            "PATCH", "/tickets/1", json={}, headers={"If-Match": '"e1"'}
        )
    assert server.methods() == ["PATCH"] and sleeps == []
    assert verbose_lines(capsys) == [
        f"supportctl: PATCH {server.url}/tickets/1 failed after N ms: ConnectionError"
    ]
    server = scripted(("slow", 0.5), (200, {}, b"{}"))
    with pytest.raises(Unavailable, match=r"timed out \(1 tries\)"):
        HttpClient(server.url, "tok", timeout=0.05, verbose=True, sleep=sleeps.append).call(
            "PATCH", "/tickets/1", json={}
        )
    assert server.methods() == ["PATCH"] and sleeps == []
    assert verbose_lines(capsys) == [
        f"supportctl: PATCH {server.url}/tickets/1 failed after N ms: ReadTimeout"
    ]


def test_a_patch_that_did_not_arrive_or_was_refused_with_503_is_retried(scripted):
    server = scripted((503, {}, b""), (200, {}, b"{}"))
    sleeps: list[float] = []
    HttpClient(server.url, "tok", sleep=sleeps.append).call(
        "PATCH", "/tickets/1", json={}, headers={"If-Match": '"e1"'}
    )
    assert server.methods() == ["PATCH", "PATCH"] and len(sleeps) == 1
    assert {s.headers["If-Match"] for s in server.seen} == {'"e1"'}
    with pytest.raises(Unavailable, match=r"is unreachable \(4 tries\)"):
        HttpClient(refused_url(), "tok", sleep=sleeps.append).call("PATCH", "/tickets/1")
    assert len(sleeps) == 1 + 3


def test_refused_connections_are_retried_then_exit_6(capsys):
    url = refused_url()
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match=r"is unreachable \(4 tries\)") as caught:
        HttpClient(url, "tok", verbose=True, sleep=sleeps.append).call("POST", "/tickets")
    assert caught.value.exit_status == 6
    assert caught.value.hint == "check --url and that the server is running"
    assert len(sleeps) == 3 and 0.5 <= sleeps[2] < 1.0
    assert (
        verbose_lines(capsys)
        == [f"supportctl: POST {url}/tickets failed after N ms: ConnectionError"] * 4
    )


def test_read_timeouts_are_retried_then_exit_6(scripted, capsys):
    server = scripted(("slow", 0.5))
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match=r"timed out \(4 tries\)"):
        HttpClient(server.url, "tok", timeout=0.05, verbose=True, sleep=sleeps.append).call(
            "GET", "/me"
        )
    wait_for(lambda: len(server.seen) == 4)
    assert server.methods() == ["GET"] * 4 and len(sleeps) == 3
    assert (
        verbose_lines(capsys)
        == [f"supportctl: GET {server.url}/me failed after N ms: ReadTimeout"] * 4
    )


@contextlib.contextmanager
def unanswering_port() -> Iterator[int]:
    """A port whose accept queue is full: new connections are not answered (connect
    timeouts), as with a host that drops connection attempts."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for sock in fillers:
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
        try:
            yield port
        finally:
            for sock in fillers:
                sock.close()


def test_connect_timeouts_are_retried_then_exit_6(capsys):
    sleeps: list[float] = []
    with unanswering_port() as port:
        url = f"http://127.0.0.1:{port}/api/v1"
        with pytest.raises(Unavailable, match=r"timed out \(4 tries\)"):
            HttpClient(url, "tok", timeout=0.05, verbose=True, sleep=sleeps.append).call(
                "GET", "/me"
            )
    assert len(sleeps) == 3
    assert (
        verbose_lines(capsys) == [f"supportctl: GET {url}/me failed after N ms: ConnectTimeout"] * 4
    )


def test_no_try_starts_that_could_end_after_the_14_s_deadline(capsys):
    now = [100.0]

    def sleep(seconds: float) -> None:  # then the next try hangs for its 5 s connect timeout
        now[0] += seconds + 5.0

    url = refused_url()
    with pytest.raises(Unavailable, match=r"is unreachable \(3 tries\)"):
        HttpClient(url, "tok", sleep=sleep, clock=lambda: now[0]).call("GET", "/me")
    # Tries began at 0 and about 5.2 and 10.4–10.75 s: a fourth, after 0.5–1 s more, could end
    # after 14 s (elapsed + backoff + the 5 s connect timeout), so it is not started.
    assert 10.375 <= now[0] - 100.0 <= 10.75  # 10 s of connect timeouts + 2 jittered backoffs


@pytest.mark.slow
def test_a_host_that_drops_connection_attempts_fails_in_about_10_s():
    with unanswering_port() as port:
        start = time.monotonic()
        with pytest.raises(Unavailable, match=r"timed out \(2 tries\)"):
            HttpClient(f"http://127.0.0.1:{port}/api/v1", "tok").call("GET", "/me")
    assert 10.0 <= time.monotonic() - start < 11.5  # 2 × 5 s connect timeout + the backoff


def test_the_session_retries_through_urllib3():
    from urllib3.util.retry import Retry

    from supportctl.remote.http import CallRetry

    c = HttpClient(URL, "tok", verbose=True, sleep=print)
    for scheme in ("http", "https"):
        retry = c.session.get_adapter(f"{scheme}://example.org/").max_retries
        assert isinstance(retry, CallRetry) and isinstance(retry, Retry)
        assert (retry.total, set(retry.status_forcelist), retry.raise_on_status) == (
            3,
            {429, 502, 503, 504},
            False,
        )
    copy = c.retry.for_call("PATCH", URL).new(total=1)  # what urllib3 does on every increment
    assert copy.sleeper is print and copy.say == c._say and copy.read is False
    assert copy.call is not None and copy.call.url == URL
    assert c.retry.for_call("POST", URL).read is None


def test_tls_errors_are_not_retried():
    accepted: list[int] = []
    with socket.socket() as listener:  # speaks plain HTTP to a TLS client
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(2)

        def serve() -> None:
            try:
                while True:
                    conn, _ = listener.accept()
                    accepted.append(1)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    conn.close()
            except OSError:
                return

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        url = f"https://127.0.0.1:{listener.getsockname()[1]}/api/v1"
        sleeps: list[float] = []
        with pytest.raises(Unavailable, match=r"^TLS error talking to https://127\.0\.0\.1"):
            HttpClient(url, "tok", sleep=sleeps.append).call("GET", "/me")
    assert sleeps == [] and accepted == [1]


def test_the_cli_exits_6_with_the_server_detail_after_the_last_429_or_5xx(store, scripted):
    problem = b'{"detail": "maintenance", "status": 503}'
    server = scripted((503, {"Retry-After": "0"}, problem))
    result = run("--backend", "http", "--url", server.url, "-v", "tickets", "list",
                 env={"SUPPORTCTL_TOKEN": "tok"})  # fmt: skip
    assert result.exit_code == 6
    lines = [re.sub(r"\b\d+ ms\b", "N ms", line) for line in result.stderr.splitlines()]
    assert lines[-5:] == [f"supportctl: GET {server.url}/tickets 503 N ms"] * 4 + [
        f"supportctl: error: the server at {server.url} answered 503: maintenance"
    ]


# -- what responses can still check -------------------------------------------------------------------


def client(sleeps: list[float]) -> HttpClient:
    return HttpClient(URL, "tok", sleep=sleeps.append)


@responses.activate
def test_every_call_carries_user_agent_and_token_and_a_timeout():
    from supportctl import __version__

    responses.get(
        f"{URL}/me",
        json={},
        match=[
            matchers.header_matcher(
                {"User-Agent": f"supportctl/{__version__}", "Authorization": "Bearer tok"}
            )
        ],
    )
    seen = {}
    c = client([])
    real = c.session.request

    def spy(method, url, **kwargs):
        seen.update(kwargs)
        return real(method, url, **kwargs)

    c.session.request = spy  # type: ignore[method-assign]
    c.call("GET", "/me")
    assert seen["timeout"] == (5.0, 30.0)


@responses.activate
@pytest.mark.parametrize(
    ("body", "status", "error", "text"),
    [
        (b"<html>oops</html>", 200, Unavailable, "not JSON"),
        (b'{"items": [', 200, Unavailable, "not JSON"),
        (b'{"detail": "no such ticket", "status": 404}', 404, Exception, "no such ticket"),
        (b"", 401, AuthenticationFailed, "the server answered 401"),
        (b'{"detail": "bad"}', 400, UsageError, "bad"),
    ],
)
def test_malformed_and_error_bodies_are_clear_errors(body, status, error, text):
    responses.get(f"{URL}/me", body=body, status=status)
    with pytest.raises(error, match=text):
        client([]).call("GET", "/me")


# -- `supportctl serve` as a real process -----------------------------------------------------------


@pytest.mark.slow
def test_serve_process_end_to_end_and_clean_shutdown(store):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    token = run("store", "token", "create", "bob")
    assert token.exit_code == 0
    secret = token.stdout.strip().splitlines()[-1]
    assert "shown once" in token.stderr
    listing = run("store", "token", "list", "-o", "json").json()
    assert listing[0]["user"] == "bob"
    assert set(listing[0]) == {"id", "user", "created_at", "expires_at"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportctl", "serve", "--port", "0", "--threads", "2"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        announce = proc.stderr.readline()
        assert announce.startswith("serving ")
        url = announce.split(" on ")[1].split()[0]
        result = subprocess.run(
            [sys.executable, "-m", "supportctl", "--backend", "http", "--url", url, "tickets", "list", "-o", "ids"],
            capture_output=True, text=True, env={**env, "SUPPORTCTL_TOKEN": secret}, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["1003", "1001"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "stopped" in err
    assert secret not in err
    assert '"GET /api/v1/tickets?' in err
    assert json.loads(json.dumps(listing))


def test_lost_answer_to_an_upload_is_replayed_not_refused(store, live, tmp_path, scripted):
    token = token_for(store, "bob")
    proxy = scripted(FORWARD_DROP, FORWARD, upstream=live.url)
    client = HttpClient(proxy.url, token, sleep=lambda s: None)
    from supportctl.api import NewAttachment

    service = HttpService(client)
    ticket = service.reply(
        "1001", "with a file", attachments=[NewAttachment("ünï %41.txt", b"data")]
    )
    sent = [s.body for s in proxy.seen]
    assert len(sent) == 2 and sent[0] == sent[1]  # the same multipart bytes on both tries
    assert [a.name for a in ticket.messages[-1].attachments] == ["ünï %41.txt"]
    out = http(live, token, "tickets", "attachment", "1001", "ünï %41.txt")
    assert out.exit_code == 0 and out.stdout == "data"
    replies = [
        m
        for m in json.loads((store / "tickets" / "1001.json").read_text())["messages"]
        if m["body"] == "with a file"
    ]
    assert len(replies) == 1


def test_a_patch_that_may_have_arrived_is_not_sent_again(store, live, scripted):
    token = token_for(store, "dana")
    proxy = scripted(FORWARD, FORWARD_DROP, FORWARD, upstream=live.url)  # GET, then PATCH
    client = HttpClient(proxy.url, token, sleep=lambda s: None)
    from supportctl.api import TicketChanges

    with pytest.raises(Unavailable):
        HttpService(client).update("1001", TicketChanges(priority="low"))
    assert proxy.methods() == ["GET", "PATCH"]
    shown = json.loads((store / "tickets" / "1001.json").read_text())
    assert shown["priority"] == "low"  # it did arrive: sending it again would have met a 412


def test_405_has_an_allow_header_and_unknown_fields_are_refused(store, live):
    headers = {"Authorization": f"Bearer {token_for(store, 'bob')}"}
    wrong = requests.delete(f"{live.url}/tickets/1001", headers=headers, timeout=5)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, PATCH"
    extra = requests.post(
        f"{live.url}/tickets",
        json={"subject": "s", "body": "b", "requester": "gina"},
        headers=headers,
        timeout=5,
    )
    assert extra.status_code == 400
    assert "unknown field(s) requester" in extra.json()["detail"]


def test_fuzzer_findings_are_clear_errors(store, live):
    agent = {"Authorization": f"Bearer {token_for(store, 'dana')}"}
    group = requests.patch(
        f"{live.url}/tickets/1001", json={"group": {"x": 1}}, headers=agent, timeout=5
    )
    assert group.status_code == 400
    assert run("store", "check").exit_code == 0
    scope = requests.get(f"{live.url}/report", params={"scope": "bogus"}, headers=agent, timeout=5)
    assert scope.status_code == 400
    for bad_cc in ([[]], 6.87e110, {"bob": 1}, True, [1]):
        cc = requests.post(
            f"{live.url}/tickets",
            json={"subject": "s", "body": "b", "cc": bad_cc},
            headers=agent,
            timeout=5,
        )
        assert cc.status_code == 400, (bad_cc, cc.text)
        assert "cc must be a list of usernames" in cc.json()["detail"]
    for params in ({"idle": "100000000000"}, {"since": "0001-01-01T00:30:00+01:00"}):
        answer = requests.get(f"{live.url}/tickets", params=params, headers=agent, timeout=5)
        assert answer.status_code in (200, 400), answer.text
    far = requests.get(
        f"{live.url}/report", params={"until": "0001-01-05T00:00:00Z"}, headers=agent, timeout=5
    )
    assert far.status_code == 200
    sweep = requests.post(f"{live.url}/sweep", json={"rules": [{"action": "close", "idle_seconds": 1e11}]},
                          headers=agent, timeout=5)  # fmt: skip
    assert sweep.status_code == 200 and sweep.json() == []


def test_fedramp_users_act_but_get_no_history_back(store, live):
    fed = {"Authorization": f"Bearer {token_for(store, 'fed')}"}
    reply = requests.post(
        f"{live.url}/tickets/1005/messages", json={"body": "hi"}, headers=fed, timeout=5
    )
    assert reply.status_code == 201
    assert "messages" not in reply.json() and "events" not in reply.json()
    assert requests.get(f"{live.url}/tickets/1005", headers=fed, timeout=5).status_code == 403


def test_chunked_bodies_are_limited_too(store, live):
    import socket

    token = token_for(store, "bob")
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        head = (
            f"POST /api/v1/tickets/1001/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b"x" * (1024 * 1024)
        try:
            for _ in range(12):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass  # the server may hang up once it has seen enough
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 413")


def _raw(live, request: bytes) -> bytes:
    import socket

    answer = b""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and hang up before it has read everything
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer


@pytest.mark.parametrize(
    "size", [b"1_0", b"+a", b"0x10", b"-1", b" 10", b"", b"10000000000000000a"]
)
def test_loose_chunk_sizes_are_refused_before_a_handler_runs(store, live, size):
    token = token_for(store, "bob")
    body = b'{"body":"smug?"}'  # 16 bytes: what "1_0" and "0x10" would wrongly announce
    answer = _raw(
        live,
        b"POST /api/v1/tickets/1001/messages HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + size + b"\r\n" + body + b"\r\n0\r\n\r\n",
    )  # fmt: skip
    # A size over the body limit is refused as such (413), the malformed ones as malformed.
    refusal = b"HTTP/1.1 413" if size == b"10000000000000000a" else b"HTTP/1.1 400"
    assert answer.startswith(refusal), answer[:80]
    assert b"application/problem+json" in answer
    doc = requests.get(
        f"{live.url}/tickets/1001", headers={"Authorization": f"Bearer {token}"}, timeout=5
    ).json()
    assert not any(m["body"] == "smug?" for m in doc["messages"])  # and it still serves


def test_content_length_with_transfer_encoding_is_refused_and_the_connection_closed(store, live):
    token = token_for(store, "bob")
    answer = _raw(
        live,
        b"POST /api/v1/tickets/1001/messages HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 4\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n",
    )  # fmt: skip
    assert answer.startswith(b"HTTP/1.1 400")
    assert answer.count(b"HTTP/1.1 ") == 1  # the smuggled second request is never answered
    assert b"Connection: close" in answer
    assert b"application/problem+json" in answer
    assert live.lines[-1].startswith('127.0.0.1 - "POST /api/v1/tickets/1001/messages" 400 ')
    assert token not in "".join(live.lines)


def test_a_header_line_over_64_kib_and_1000_headers_are_refused(store, live):
    long_line = _raw(live, b"GET /api/v1/health HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert long_line.split(b" ")[1][:1] == b"4", long_line[:60]
    many = _raw(
        live,
        b"GET /api/v1/health HTTP/1.1\r\n"
        + b"".join(b"X-H%d: v\r\n" % n for n in range(1000))
        + b"\r\n",
    )
    assert many.startswith(b"HTTP/1.1 431"), many[:60]
    assert b"at most 100 header fields" in many
    assert requests.get(f"{live.url}/health", timeout=5).status_code == 200


def test_an_expired_token_is_refused_as_expired(store, live):
    from datetime import timedelta

    record, token = admin.create_token(JsonStore(store), "bob", expires=timedelta(seconds=-1))
    result = http(live, token, "tickets", "list")
    assert result.exit_code == 4
    assert result.stderr.startswith("supportctl: error: token expired (")
    listed = run("store", "token", "list", "-o", "json").json()
    assert [t["expires_at"] for t in listed if t["id"] == record.id] == [record.expires_at]
    fresh = run("store", "token", "create", "bob", "--expires", "1h")
    assert fresh.exit_code == 0 and "valid until" in fresh.stderr
    assert http(live, fresh.stdout.strip(), "tickets", "list").exit_code == 0
    assert run("store", "token", "create", "bob", "--expires", "0m").exit_code == 2


def test_guessing_tokens_is_bounded_per_address(store, live):
    guesses = [
        requests.get(f"{live.url}/me", headers={"Authorization": f"Bearer sct_guess{n}"}, timeout=5)
        for n in range(12)
    ]
    assert [g.status_code for g in guesses[:10]] == [401] * 10
    assert [g.status_code for g in guesses[10:]] == [429, 429]
    assert 1 <= int(guesses[-1].headers["Retry-After"]) <= 60
    assert guesses[-1].headers["Content-Type"] == "application/problem+json"
    good = token_for(store, "bob")  # even a good token waits: the address is guessing
    assert (
        requests.get(
            f"{live.url}/me", headers={"Authorization": f"Bearer {good}"}, timeout=5
        ).status_code
        == 429
    )
    assert requests.get(f"{live.url}/health", timeout=5).status_code == 200  # no token asked


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "close", "idle_seconds": 60, "statuses": ["escalated"]},
        {"action": "remind", "idle_seconds": 60, "statuses": ["pending", "open"]},
    ],
)
def test_the_server_refuses_sweep_rules_a_sweep_may_not_run(store, live, rule):
    """The REST API applies the same rule checks as the CLI (400, nothing swept)."""
    token = token_for(store, "dana")
    answer = requests.post(
        f"{live.url}/sweep",
        json={"rules": [rule]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "sweep rule api" in answer.json()["detail"]


def test_a_stop_lets_requests_in_flight_finish_and_refuses_new_connections(store):
    """What SIGTERM does to `serve`: the answer being worked on still goes out, an idle
    keep-alive connection is hung up, and nothing new is accepted."""
    import socket

    started = threading.Event()
    api = create_app(store, log=lambda line: None)

    def slow_app(environ, start_response):
        if environ["PATH_INFO"].endswith("/tickets/1001"):
            started.set()
            time.sleep(0.5)
        return api(environ, start_response)

    server = make_server("127.0.0.1", 0, slow_app, threads=2)
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    worker.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
    headers = {"Authorization": f"Bearer {token_for(store, 'bob')}"}
    idle = requests.Session()
    assert idle.get(f"{url}/health", timeout=5).status_code == 200  # kept alive, then idle
    answers: list[int] = []
    in_flight = threading.Thread(
        target=lambda: answers.append(
            requests.get(f"{url}/tickets/1001", headers=headers, timeout=10).status_code
        )
    )
    in_flight.start()
    assert started.wait(5)
    server.shutdown()  # returns once the drain is over
    in_flight.join(10)
    worker.join(10)
    assert answers == [200]
    assert not worker.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=2)
    with pytest.raises(requests.ConnectionError):
        idle.get(f"{url}/health", timeout=2)


def test_serve_refuses_a_thread_count_out_of_range(store):
    result = run("serve", "--port", "0", "--threads", "0")
    assert result.exit_code == 2
    assert "--threads" in result.stderr


# -- the same app under another WSGI server -------------------------------------------------------


def _smoke(server, token: str, tmp_path) -> None:
    """The smoke set: read, write, attach, refuse, problem documents; on any WSGI server."""
    listed = http(server, token, "tickets", "list", "-o", "ids")
    assert listed.exit_code == 0 and listed.stdout.split() == ["1003", "1001"]
    assert http(server, token, "tickets", "show", "1001").exit_code == 0
    log = tmp_path / "app.txt"
    log.write_bytes(b"line one\n\x00binary\n")
    replied = http(server, token, "tickets", "reply", "1001", "-m", "smoke", "--attach", str(log))
    assert replied.exit_code == 0, replied.stderr
    saved = tmp_path / "fetched.txt"
    fetched = http(server, token, "tickets", "attachment", "1001", "app.txt", "-O", str(saved))
    assert fetched.exit_code == 0 and saved.read_bytes() == log.read_bytes()
    created = http(
        server, token, "tickets", "create", "--subject", "Smoke", "-m", "body", "-o", "json"
    )
    assert created.exit_code == 0
    missing = http(server, token, "tickets", "show", "9999")
    assert missing.exit_code == 3 and "9999" in missing.stderr
    answer = requests.delete(
        f"{server.url}/tickets/1001", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert answer.status_code == 405 and "GET" in answer.headers["Allow"]
    assert answer.headers["Content-Type"] == "application/problem+json"
    traced = requests.request("TRACE", f"{server.url}/health", timeout=5)
    assert traced.status_code == 405 and traced.json()["exit_code"] == 2
    assert requests.get(f"{server.url}/health", timeout=5).json() == {"status": "ok"}


def test_smoke_set_on_waitress(store, live, tmp_path):
    _smoke(live, token_for(store, "bob"), tmp_path)


@pytest.mark.slow
def test_smoke_set_under_gunicorn(store, tmp_path):
    """`supportctl.server.wsgi:app` is the app for production WSGI servers."""
    pytest.importorskip("gunicorn")
    token = token_for(store, "bob")
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "SUPPORTCTL_STORE": str(store)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b", "127.0.0.1:0",
         "supportctl.server.wsgi:app"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        port = None
        for line in proc.stderr:
            if "Listening at: http://" in line:
                port = int(line.rsplit(":", 1)[1].split()[0])
                break
        assert port, "gunicorn did not start"

        class Gunicorn:
            url = f"http://127.0.0.1:{port}/api/v1"

        _smoke(Gunicorn, token, tmp_path)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_an_answer_cut_off_mid_body_is_exit_6_not_a_traceback(store):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_half() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{"items": [')
        conn.close()

    server = threading.Thread(target=answer_half, daemon=True)
    server.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/v1"
    result = run(
        "--backend", "http", "--url", url, "tickets", "list", env={"SUPPORTCTL_TOKEN": "t"}
    )
    listener.close()
    assert result.exit_code == 6
    assert "sent an incomplete answer to GET /tickets" in result.stderr
    assert "Traceback" not in result.stderr


def test_head_has_the_get_headers_and_no_body(store, live):
    import socket

    token = token_for(store, "bob")
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(
            b"HEAD /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
            + b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        time.sleep(0.5)
        answer = sock.recv(65536)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Length: 15" in head
    assert rest.startswith(b"HTTP/1.1 200")  # the next answer, not the HEAD's body


def test_expect_continue_over_the_limit_gets_413_not_100(store, live):
    answer = _raw(
        live,
        b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 20000000\r\nExpect: 100-continue\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:60]
    assert b"100 Continue" not in answer


def test_the_server_refuses_sweep_rule_fields_it_does_not_know(store, live):
    headers = {"Authorization": f"Bearer {token_for(store, 'dana')}"}
    rule = {"action": "close", "idle_seconds": 0, "colour": "red"}
    answer = requests.post(f"{live.url}/sweep", json={"rules": [rule]}, headers=headers, timeout=5)
    assert answer.status_code == 400 and "colour" in answer.json()["detail"]
    rule = {"action": "close", "idle_seconds": 0, "groups": "Tier 1"}
    answer = requests.post(f"{live.url}/sweep", json={"rules": [rule]}, headers=headers, timeout=5)
    assert answer.status_code == 400 and "list of strings" in answer.json()["detail"]
