"""The http backend and the reference server: what only HTTP can get wrong (SPEC §7, §9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from supportctl.api import TicketQuery
from supportctl.errors import AuthenticationFailed, Unavailable, UsageError
from supportctl.remote.http import HttpClient, HttpService
from supportctl.server.app import create_app
from supportctl.server.httpd import make_server
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


def test_lost_post_response_is_retried_with_the_same_key_and_creates_one_ticket(store, live):
    token = token_for(store, "bob")
    client = HttpClient(live.url, token, sleep=lambda s: None)
    real = client.session.request
    keys: list[str] = []

    def lose_first_response(method, url, **kwargs):
        response = real(method, url, **kwargs)  # the server did the work …
        if method == "POST":
            keys.append(kwargs["headers"]["Idempotency-Key"])
            if len(keys) == 1:
                raise requests.ConnectionError("connection reset")  # … but the answer is lost
        return response

    client.session.request = lose_first_response  # type: ignore[method-assign]
    before = run("--user", "bob", "tickets", "list", "-o", "ids", "--limit", "0").stdout.split()
    created = HttpService(client).create_ticket(subject="Lost answer", body="hello")
    after = run("--user", "bob", "tickets", "list", "-o", "ids", "--limit", "0").stdout.split()
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


# -- retries, with responses ------------------------------------------------------------------------


def client(sleeps: list[float]) -> HttpClient:
    return HttpClient(URL, "tok", sleep=sleeps.append)


@responses.activate(registry=OrderedRegistry)
def test_503_then_200_is_retried():
    responses.get(f"{URL}/me", status=503)
    responses.get(f"{URL}/me", json={"username": "bob"}, status=200)
    sleeps: list[float] = []
    doc, _ = client(sleeps).call("GET", "/me")
    assert doc == {"username": "bob"}
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.25


@responses.activate(registry=OrderedRegistry)
def test_429_honours_retry_after_seconds_and_dates():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    responses.get(f"{URL}/me", status=429, headers={"Retry-After": "2"})
    responses.get(f"{URL}/me", status=429, headers={"Retry-After": when})
    responses.get(f"{URL}/me", json={}, status=200)
    sleeps: list[float] = []
    client(sleeps).call("GET", "/me")
    assert sleeps[0] == 2.0
    assert 1.0 <= sleeps[1] <= 3.0


@responses.activate(registry=OrderedRegistry)
def test_retry_after_beyond_the_budget_gives_up():
    responses.get(
        f"{URL}/me", status=503, headers={"Retry-After": "3600"}, json={"detail": "maintenance"}
    )
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match="answered 503: maintenance"):
        client(sleeps).call("GET", "/me")
    assert sleeps == []


@responses.activate
def test_retries_are_bounded_in_count_and_total_wait():
    responses.get(f"{URL}/me", status=502)
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match="answered 502"):
        client(sleeps).call("GET", "/me")
    assert len(sleeps) == 3 and sum(sleeps) <= 10
    assert len(responses.calls) == 4


@responses.activate(registry=OrderedRegistry)
def test_timeouts_are_retried_then_exit_6():
    for _ in range(4):
        responses.get(f"{URL}/me", body=requests.exceptions.ConnectTimeout())
    sleeps: list[float] = []
    with pytest.raises(Unavailable, match="timed out"):
        client(sleeps).call("GET", "/me")
    assert len(sleeps) == 3


@responses.activate(registry=OrderedRegistry)
def test_post_is_retried_with_the_same_idempotency_key():
    responses.post(f"{URL}/tickets", status=503)
    responses.post(f"{URL}/tickets", status=201, json={"id": "1"})
    sleeps: list[float] = []
    client(sleeps).call("POST", "/tickets", json={})
    keys = [call.request.headers["Idempotency-Key"] for call in responses.calls]
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) >= 32


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
        [sys.executable, "-m", "supportctl", "serve", "--port", "0"],
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


def test_lost_answer_to_an_upload_is_replayed_not_refused(store, live, tmp_path):
    token = token_for(store, "bob")
    client = HttpClient(live.url, token, sleep=lambda s: None)
    real = client.session.request
    sent: list[bytes] = []

    def lose_first_response(method, url, **kwargs):
        response = real(method, url, **kwargs)
        if method == "POST":
            sent.append(kwargs["data"])
            if len(sent) == 1:
                raise requests.ConnectionError("connection reset")
        return response

    client.session.request = lose_first_response  # type: ignore[method-assign]
    from supportctl.api import NewAttachment

    service = HttpService(client)
    ticket = service.reply(
        "1001", "with a file", attachments=[NewAttachment("ünï %41.txt", b"data")]
    )
    assert sent[0] == sent[1]  # the same multipart bytes on both tries
    assert [a.name for a in ticket.messages[-1].attachments] == ["ünï %41.txt"]
    out = http(live, token, "tickets", "attachment", "1001", "ünï %41.txt")
    assert out.exit_code == 0 and out.stdout == "data"
    replies = [
        m
        for m in json.loads((store / "tickets" / "1001.json").read_text())["messages"]
        if m["body"] == "with a file"
    ]
    assert len(replies) == 1


def test_a_patch_that_may_have_arrived_is_not_sent_again(store, live):
    token = token_for(store, "dana")
    client = HttpClient(live.url, token, sleep=lambda s: None)
    real = client.session.request
    patches = []

    def reset_after_patch(method, url, **kwargs):
        response = real(method, url, **kwargs)
        if method == "PATCH":
            patches.append(url)
            raise requests.ConnectionError("connection reset by peer")
        return response

    client.session.request = reset_after_patch  # type: ignore[method-assign]
    from supportctl.api import TicketChanges

    with pytest.raises(Unavailable):
        HttpService(client).update("1001", TicketChanges(priority="low"))
    assert len(patches) == 1


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
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
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


def test_a_header_line_over_64_kib_and_1000_headers_are_refused(store, live):
    long_line = _raw(live, b"GET /api/v1/health HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert long_line.split(b" ")[1][:1] == b"4", long_line[:60]
    many = _raw(
        live,
        b"GET /api/v1/health HTTP/1.1\r\n"
        + b"".join(b"X-H%d: v\r\n" % n for n in range(1000))
        + b"\r\n",
    )
    assert many.split(b" ")[1][:1] == b"4", many[:60]
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
