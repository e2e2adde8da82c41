"""`serve --trusted-proxy ADDR` (docs/deploy.md): behind a reverse proxy every connection
comes from the proxy, so the client's address is taken from the X-Forwarded-For the proxy
appended — the access log names it and the limit on failed authentications (10 a minute
per address) applies to each client, not to everyone at once — and only from that proxy."""

from __future__ import annotations

import threading

import requests

from supportctl.server.app import AUTH_FAILURES, create_app
from supportctl.server.serving import make_server


def serving(store, trusted_proxy):
    lines: list[str] = []
    api = create_app(store, log=lines.append)
    server = make_server("127.0.0.1", 0, api, trusted_proxy=trusted_proxy)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"

    def stop() -> None:
        server.shutdown()
        thread.join()
        api.close()

    return url, lines, stop


def bad_token(url: str, client: str) -> int:
    headers = {"Authorization": "Bearer sct_wrong", "X-Forwarded-For": f"10.0.0.9, {client}"}
    return requests.get(f"{url}/me", headers=headers, timeout=10).status_code


def test_behind_a_trusted_proxy_each_client_has_its_own_address(store):
    url, lines, stop = serving(store, "127.0.0.1")
    try:
        statuses = [bad_token(url, "203.0.113.7") for _ in range(AUTH_FAILURES + 1)]
        other = bad_token(url, "198.51.100.2")
    finally:
        stop()
    assert statuses == [401] * AUTH_FAILURES + [429]  # the guesser is stopped
    assert other == 401  # another client behind the same proxy is not
    assert any(line.startswith('203.0.113.7 - "GET /api/v1/me" 401') for line in lines), lines
    assert any(line.startswith('198.51.100.2 - "GET /api/v1/me" 401') for line in lines)


def test_x_forwarded_for_from_anyone_else_is_ignored(store):
    url, lines, stop = serving(store, None)
    try:
        statuses = [bad_token(url, f"203.0.113.{n}") for n in range(AUTH_FAILURES + 1)]
    finally:
        stop()
    assert statuses[-1] == 429  # one address, 127.0.0.1, whatever the header says
    assert all(line.startswith("127.0.0.1 ") for line in lines if '"GET' in line), lines
    url, lines, stop = serving(store, "192.0.2.1")  # a proxy, but not the peer
    try:
        statuses = [bad_token(url, f"203.0.113.{n}") for n in range(AUTH_FAILURES + 1)]
    finally:
        stop()
    assert statuses[-1] == 429
    assert all(line.startswith("127.0.0.1 ") for line in lines if '"GET' in line), lines


def test_a_trusted_proxy_that_is_not_an_ip_address_is_refused_before_serving(tmp_path):
    # The server compares the peer's address as a string: `localhost` never matched (the
    # header was silently ignored) and `*` trusted every client's X-Forwarded-For.
    from tests.conftest import run

    for value in ("localhost", "*", "10.0.0.0/8", ""):
        result = run(
            "--store", str(tmp_path / "none"), "serve", "--port", "0", "--trusted-proxy", value
        )
        assert result.exit_code == 2, (value, result.stdout, result.stderr)
        assert "--trusted-proxy" in result.stderr and "not an IP address" in result.stderr
        assert "serving" not in result.stderr


def test_a_trusted_proxy_address_is_kept_as_written():
    # waitress compares it with the peer's address as the socket spells it; ipaddress
    # would respell an IPv4-mapped address (::ffff:7f00:1) and it would never match
    from supportctl.cli.serve import _proxy_address

    for value in ("127.0.0.1", "::1", "::ffff:127.0.0.1", " 10.0.0.2 "):
        assert _proxy_address(value) == value.strip()
