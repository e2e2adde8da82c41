"""Latency of one keep-alive client against one `supportctl serve` (issue 16).

Usage (from a checkout, no installation needed; not a pytest test; needs ``requests``)::

    python bench/http_latency.py                      # demo store, 100 GETs and 100 replies
    python bench/http_latency.py --requests 300
    python bench/http_latency.py --workdir /tmp/lat --keep   # keep the store and the server log

What it does: builds the demo store (``store init --demo``) in a private work directory,
creates a token for the agent ``sam`` and starts ONE ``python -m supportctl --store DIR serve
--host 127.0.0.1 --port 0`` (its access log goes to ``serve.log`` in the work directory).
Then, with ONE ``requests.Session`` (keep-alive, no proxies or netrc from the environment),
after an unmeasured warm-up (5 of each request):

* ``--requests`` times ``GET /api/v1/tickets/{id}`` of one ticket (the newest not closed, so
  the replies below do not change it);
* ``--requests`` replies, ``POST /api/v1/tickets/{id}/messages`` with a JSON body
  ``{"body": …, "internal": false}`` and a fresh ``Idempotency-Key`` each, to the other
  tickets that are not closed, in turn (so that no thread grows by more than a few messages).

Each time runs from sending the request to having read the whole body (client side). It
prints median, p90, p99, min and max per kind, the server's own time per request (from its
access log), the ``Server`` header (which server answered) and the number of TCP connections
used (must be 1). Exit status 0 unless a request failed or more than one connection was used.
Only 127.0.0.1 is ever contacted. The environment of the server is that of
``bench/http_load.py`` (``HOME``, ``XDG_*``, ``SUPPORTCTL_CONFIG`` in the work directory).

For reference (issue 16, same machine): Request Tracker 5 answers a ticket GET in ~44 ms and
a reply in ~277 ms. Those are quoted, not measured here.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_load import (  # noqa: E402
    HOST,
    NOT_CLOSED,
    ServerLog,
    _local_port,
    child_env,
    new_session,
    pct,
    start_server,
    stop_server,
    supportctl,
)

AGENT = "sam"  # a demo agent: may read and reply to every ticket
WARMUP = 5
TIMEOUT = (5.0, 30.0)
#: Issue 16's reference figures for Request Tracker 5 on the same machine (not measured here).
RT_REFERENCE_MS = {"get": 44.0, "reply": 277.0}


def timed(session: Any, method: str, url: str, **kwargs: Any) -> tuple[float, Any, int | None]:
    """Seconds from sending to the whole body read, the response, and the local port."""
    start = time.perf_counter()
    response = session.request(method, url, timeout=TIMEOUT, stream=True, **kwargs)
    port = _local_port(response)  # while the connection is still the response's
    response.content  # noqa: B018 - the whole body is part of the time
    return time.perf_counter() - start, response, port


def row(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return (
        f"  {name:<7} {len(ms):>5} {statistics.median(ms):>9.2f} {pct(ms, 90):>9.2f} "
        f"{pct(ms, 99):>9.2f} {ms[0]:>9.2f} {ms[-1]:>9.2f}"
    )


def measure(base: str, token: str, count: int) -> tuple[dict[str, list[float]], set[int], str]:
    session = new_session(token)
    session.headers["Accept"] = "application/json"
    response = session.get(
        f"{base}/tickets", params={"scope": "org", "status": NOT_CLOSED, "limit": "1000"},
        timeout=TIMEOUT,
    )  # fmt: skip
    response.raise_for_status()
    open_ids = [t["id"] for t in response.json()["items"]]
    if len(open_ids) < 2:
        raise SystemExit("http_latency: the store has fewer than 2 tickets that are not closed")
    shown, targets = open_ids[0], open_ids[1:]
    ports: set[int] = set()
    times: dict[str, list[float]] = {"get": [], "reply": []}
    server = response.headers.get("Server", "?")
    sent = 0

    def reply(measured: bool) -> None:
        nonlocal sent
        ticket = targets[sent % len(targets)]
        body = {"body": f"latency bench reply {sent} ({uuid.uuid4()})", "internal": False}
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        url = f"{base}/tickets/{ticket}/messages"
        seconds, resp, port = timed(session, "POST", url, json=body, headers=headers)
        sent += 1
        if resp.status_code != 201:
            raise SystemExit(f"http_latency: POST {url} answered {resp.status_code}: {resp.text}")
        ports.add(port or -1)
        if measured:
            times["reply"].append(seconds)

    def show(measured: bool) -> None:
        url = f"{base}/tickets/{shown}"
        seconds, resp, port = timed(session, "GET", url)
        if resp.status_code != 200:
            raise SystemExit(f"http_latency: GET {url} answered {resp.status_code}")
        ports.add(port or -1)
        if measured:
            times["get"].append(seconds)

    for _ in range(WARMUP):
        show(False)
        reply(False)
    for _ in range(count):
        show(True)
    for _ in range(count):
        reply(True)
    session.close()
    return times, ports, server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="of each kind (default 100)")
    parser.add_argument("--workdir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be 1 or more")
    temp = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="supportctl-latency-")) if temp else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    env = child_env(workdir)
    store = workdir / "store"
    log_path = workdir / "serve.log"
    proc = None
    try:
        supportctl(env, store, "store", "init", "--demo")
        created = supportctl(env, store, "store", "token", "create", AGENT)
        token = next(w for w in (created.stdout + created.stderr).split() if w.startswith("sct_"))
        proc, port = start_server(env, store, log_path)
        base = f"http://{HOST}:{port}/api/v1"
        times, ports, server = measure(base, token, args.requests)
    finally:
        code, _ = stop_server(proc) if proc is not None else (0, 0.0)
    log = ServerLog(log_path)
    window = log.entries[-2 * args.requests :]  # the measured requests, the last ones logged
    server_ms = {
        "get": [e[3] for e in window if e[0] == "GET"],
        "reply": [e[3] for e in window if e[0] == "POST"],
    }
    print(
        f"http_latency: one keep-alive requests.Session, {args.requests} of each request, "
        f"after {WARMUP} unmeasured of each; server {server!r}; python {sys.version.split()[0]}"
    )
    print(
        f"  {'request':<7} {'count':>5} {'median':>9} {'p90':>9} {'p99':>9} {'min':>9} {'max':>9}"
    )
    print(row("get", times["get"]) + "   GET /api/v1/tickets/{id}  (client, ms)")
    print(row("reply", times["reply"]) + "   POST /api/v1/tickets/{id}/messages  (client, ms)")
    for kind in ("get", "reply"):
        ms = server_ms[kind]
        if ms:
            print(f"  server time, {kind}: median {statistics.median(ms):.2f} ms (its access log)")
    print(
        "  reference (issue 16, same machine, not measured here): Request Tracker 5 "
        f"{RT_REFERENCE_MS['get']:.0f} ms a GET, {RT_REFERENCE_MS['reply']:.0f} ms a reply"
    )
    print(f"  TCP connections used: {len(ports)}; server exit status {code}")
    if temp and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    elif args.keep:
        print(f"  work directory kept: {workdir}")
    return 0 if len(ports) == 1 and -1 not in ports and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
