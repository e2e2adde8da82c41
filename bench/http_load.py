"""Load check of the reference server (issue 5): many clients, one `supportctl serve`.

Usage (from a checkout, no installation needed; not a pytest test; needs ``requests``)::

    python bench/http_load.py                          # demo store, 8 clients x 200 requests
    python bench/http_load.py --clients 16 --requests 500
    python bench/http_load.py --tickets 5000           # a store of 5,000 tickets from gen.py
    python bench/http_load.py --workdir /tmp/load --keep   # keep the store and the server log
    python bench/http_load.py --store postgresql://…/db    # a PostgreSQL store (an empty database)
    python bench/http_load.py --store postgresql://…/db --servers 2   # two serves, one database

What it does:

1. builds a store in a private work directory: the demo (``store init --demo``) or, with
   ``--tickets N``, ``bench/gen.py N --seed S`` imported with ``store import``;
2. creates one API token per agent (``store token create``) and starts ONE
   ``python -m supportctl --store DIR serve --host 127.0.0.1 --port 0`` (stderr, the access
   log, goes to ``serve.log`` in the work directory);
3. picks, over the API, the tickets to show (any) and the tickets to reply to (not closed);
4. starts ``--clients`` processes (multiprocessing), each an agent with one
   ``requests.Session`` (keep-alive, no proxies from the environment), which warm up with
   ``GET /me``, wait for each other, then send ``--requests`` requests each: a weighted mix
   (``--mix``) of ``GET /tickets?scope=org`` (sometimes with a filter),
   ``GET /tickets/{id}`` and ``POST /tickets/{id}/messages`` with a unique body and a fresh
   ``Idempotency-Key``; a few replies (``--replay-ratio``) are sent a second time with the
   same key and body, which must be answered from the idempotency record
   (``Idempotent-Replayed: true``) and must not add a message.  Every request has a timeout
   (``--connect-timeout``, ``--timeout``) and the run a bound (``--max-seconds``);
5. prints throughput, p50/p95/p99 latency per kind and overall, counts by status, the 5xx,
   the TCP connections the clients opened (distinct local ports) and the server's own timing
   from its access log;
6. reads every ticket replied to back (``GET /tickets/{id}``) and checks that each reply
   acknowledged with 201 is there exactly once ("lost replies: 0", "duplicated replies: 0"),
   that refused replies are absent and that nothing else appeared; then stops the server
   with SIGTERM (it must exit 0), runs ``store check`` and checks the same from
   ``store export``.

Exit status 0 when everything held; 1 when any request got a 5xx or no answer, any status
was unexpected, a reply was lost, duplicated or misplaced, the server logged a traceback or
did not stop cleanly, or the store check failed.  Only 127.0.0.1 is ever contacted.

Subprocesses get ``PYTHONPATH`` = the repository root and ``HOME``, ``XDG_*`` and
``SUPPORTCTL_CONFIG`` inside the work directory (other ``SUPPORTCTL_*`` variables are
dropped), so the real home and config are never touched.  Without ``--workdir`` a temporary
directory is used and removed at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import math
import multiprocessing as mp
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"  # the only address this script ever talks to
DEMO_AGENTS = ("sam", "priya")
NOT_CLOSED = "new,open,pending,escalated,resolved"
LIST_VARIANTS = (  # extra query parameters of GET /tickets (always with scope=org)
    {},
    {},
    {"status": "open"},
    {"status": "open,pending", "sort": "updated"},
    {"priority": "high,urgent"},
)
EXPECTED = {"list": {200}, "show": {200}, "reply": {201}, "replay": {201}}
ACCESS_ENTRY = re.compile(r'(\S+) (\S+) "(\S+) (\S+)" (\d{3}) (\d+) ([\d.]+)ms')


# -- setup --------------------------------------------------------------------------------------


def child_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTCTL_")}
    home = workdir / "home"
    for sub in (".config", ".local/share", ".cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    pythonpath = os.environ.get("PYTHONPATH")
    env.update(
        PYTHONPATH=str(REPO) + (os.pathsep + pythonpath if pythonpath else ""),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        SUPPORTCTL_CONFIG=str(workdir / "config.toml"),
        PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
        NO_COLOR="1",
    )
    return env


def supportctl(
    env: dict[str, str], store: Path | str, *args: str, stdout: Any = subprocess.PIPE
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "supportctl", "--store", str(store), *args]
    proc = subprocess.run(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"http_load: `supportctl {' '.join(args)}` exited {proc.returncode}: "
            f"{proc.stderr.strip()}"
        )
    return proc


def build_store(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> list[str]:
    """Create the store; return the agents the clients act as."""
    store = args.store or workdir / "store"
    if not args.tickets:
        supportctl(env, store, "store", "init", "--demo")
        return list(DEMO_AGENTS)
    data = workdir / f"tickets-{args.tickets}-{args.seed}.jsonl"
    with data.open("w") as out:
        gen = subprocess.run(
            [sys.executable, str(BENCH / "gen.py"), str(args.tickets), "--seed", str(args.seed)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
    if gen.returncode != 0:
        raise SystemExit(f"http_load: gen.py exited {gen.returncode}: {gen.stderr.strip()}")
    supportctl(env, store, "store", "import", str(data))
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return list(importlib.import_module("gen").AGENTS)


def start_server(env: dict[str, str], store: Path | str, log_path: Path) -> tuple[Any, int]:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportctl", "--store", str(store), "serve"]
        + ["--host", HOST, "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # complete lines only; notes (e.g. the triggers of the demo's config) may come first
        lines = log_path.read_text(errors="replace").split("\n")[:-1]
        for line in lines:
            match = re.search(r"on http://127\.0\.0\.1:(\d+)/api/v1", line)
            if match:
                return proc, int(match.group(1))
        if len(lines) > 5:
            stop_server(proc)
            raise SystemExit(f"http_load: unexpected first lines from serve: {lines!r}")
        if proc.poll() is not None:
            raise SystemExit(
                f"http_load: serve exited {proc.returncode}: {log_path.read_text().strip()}"
            )
        time.sleep(0.05)
    stop_server(proc)
    raise SystemExit("http_load: serve did not announce its port within 30 s")


def stop_server(proc: Any, timeout: float = 30.0) -> tuple[int | None, float]:
    """SIGTERM, then wait; SIGKILL (and None) if it does not stop in time."""
    if proc.poll() is not None:
        return proc.returncode, 0.0
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None, time.monotonic() - started
    return code, time.monotonic() - started


def new_session(token: str) -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False  # no proxies or netrc from the environment: straight to loopback
    session.headers.update(
        {"Authorization": f"Bearer {token}", "User-Agent": "supportctl-http-load/1"}
    )
    return session


def ticket_ids(
    session: Any, base: str, timeout: tuple[float, float], limit: int, **filters: str
) -> list[str]:
    """Up to ``limit`` ticket ids of ``GET /tickets?scope=org`` (following cursors)."""
    ids: list[str] = []
    params: dict[str, str] = {"scope": "org", "limit": "1000", **filters}
    while len(ids) < limit:
        resp = session.get(f"{base}/tickets", params=params, timeout=timeout)
        resp.raise_for_status()
        page = resp.json()
        ids += [t["id"] for t in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    return ids[:limit]


# -- the clients --------------------------------------------------------------------------------


def _local_port(resp: Any) -> int | None:
    try:
        return int(resp.raw.connection.sock.getsockname()[1])
    except (AttributeError, OSError, TypeError, IndexError):
        return None


def client_main(
    index: int,
    cfg: dict[str, Any],
    barrier: Any,
    results: Any,
) -> None:
    """One client process: warm up, wait for the others, send the requests, report."""
    import requests

    rng = random.Random(f"{cfg['seed']}:{index}")
    base = cfg["base"]
    timeout = (cfg["connect_timeout"], cfg["timeout"])
    session = new_session(cfg["token"])
    records: list[tuple[str, int, float, int | None, str, str]] = []
    replies: list[tuple[str, str, str, int, str]] = []  # ticket, body, key, status, error
    ports: set[int] = set()
    report: dict[str, Any] = {"client": index, "agent": cfg["agent"], "error": None}

    def send(kind: str, method: str, url: str, target: str, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            resp = session.request(method, url, timeout=timeout, stream=True, **kw)
            port = _local_port(resp)
            _ = resp.content  # read the whole body (and hand the connection back)
        except requests.RequestException as exc:
            records.append(
                (kind, 0, time.perf_counter() - started, None, type(exc).__name__, target)
            )
            return None
        records.append((kind, resp.status_code, time.perf_counter() - started, port, "", target))
        if port is not None:
            ports.add(port)
        return resp

    try:
        warm = session.get(f"{base}/me", timeout=timeout, stream=True)
        port = _local_port(warm)
        _ = warm.content
        if port is not None:
            ports.add(port)
        if warm.status_code != 200:
            raise RuntimeError(f"GET /me answered {warm.status_code}: {warm.text[:200]}")
    except Exception as exc:
        report["error"] = f"warm-up failed: {exc}"
        barrier.abort()
        results.put(report)
        return
    try:
        barrier.wait(timeout=120)
    except Exception:
        report["error"] = "the clients did not all start"
        results.put(report)
        return

    kinds, weights = ("list", "show", "reply"), cfg["mix"]
    report["start"] = time.monotonic()
    deadline = report["start"] + cfg["max_seconds"]
    sent = 0
    while sent < cfg["requests"] and time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        sent += 1
        if kind == "list":
            params = {"scope": "org", "limit": "50", **rng.choice(LIST_VARIANTS)}
            send("list", "GET", f"{base}/tickets", "-", params=params)
            continue
        if kind == "show":
            tid = rng.choice(cfg["show_ids"])
            send("show", "GET", f"{base}/tickets/{tid}", tid)
            continue
        tid = rng.choice(cfg["reply_ids"])
        key = str(uuid.uuid4())
        body = f"load {cfg['tag']} c{index} r{sent} t{tid} {uuid.uuid4().hex}"
        payload = {"json": {"body": body}, "headers": {"Idempotency-Key": key}}
        resp = send("reply", "POST", f"{base}/tickets/{tid}/messages", tid, **payload)
        status = resp.status_code if resp is not None else 0
        error = records[-1][4]
        if resp is not None and resp.headers.get("Idempotent-Replayed"):
            error = "replayed on first send"
        replies.append((tid, body, key, status, error))
        if status != 201 or sent >= cfg["requests"] or rng.random() >= cfg["replay_ratio"]:
            continue
        sent += 1  # the same request again, as a client whose answer was lost would send it
        again = send("replay", "POST", f"{base}/tickets/{tid}/messages", tid, **payload)
        if again is not None and again.status_code == 201:
            replayed = again.headers.get("Idempotent-Replayed") == "true"
            same = again.content == resp.content
            if not (replayed and same):
                report.setdefault("replay_problems", []).append(
                    f"ticket {tid} key {key}: replayed={replayed} same_body={same}"
                )
    report["end"] = time.monotonic()
    report["skipped"] = cfg["requests"] - sent
    report.update(records=records, replies=replies, ports=sorted(ports))
    session.close()
    results.put(report)


# -- figures ------------------------------------------------------------------------------------


def pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_row(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    if not ms:
        return f"  {name:<8} {0:>6}"
    mean = sum(ms) / len(ms)
    return (
        f"  {name:<8} {len(ms):>6} {pct(ms, 50):>9.1f} {pct(ms, 95):>9.1f} "
        f"{pct(ms, 99):>9.1f} {ms[-1]:>9.1f} {mean:>9.1f}"
    )


def latency_table(title: str, by_kind: dict[str, list[float]], overall: list[float]) -> None:
    print(title)
    print(f"  {'kind':<8} {'count':>6} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9} {'mean':>9}")
    for kind in ("list", "show", "reply", "replay"):
        if kind in by_kind:
            print(latency_row(kind, by_kind[kind]))
    print(latency_row("overall", overall))


def route_of(method: str, target: str) -> str:
    path = target.split("?", 1)[0].removeprefix("/api/v1")
    if method == "GET" and path == "/tickets":
        return "list"
    if method == "GET" and re.fullmatch(r"/tickets/[^/]+", path):
        return "show"
    if method == "POST" and re.fullmatch(r"/tickets/[^/]+/messages", path):
        return "reply"
    return f"{method} {path}"


class ServerLog:
    """The server's stderr: access-log entries (in order), and everything else."""

    def __init__(self, path: Path) -> None:
        self.lines = path.read_text(errors="replace").splitlines()
        self.entries: list[tuple[str, str, int, float, str]] = []  # method, target, status, ms
        self.merged = 0  # lines holding several entries: writes of two threads interleaved
        self.others: list[str] = []
        for line in self.lines:
            found = list(ACCESS_ENTRY.finditer(line))
            if found and "".join(m.group(0) for m in found) == line.strip():
                self.merged += len(found) > 1
                for m in found:
                    _, _, method, target, status, _, elapsed = m.groups()
                    self.entries.append((method, target, int(status), float(elapsed), m.group(0)))
            elif line.strip() and not line.startswith("serving ") and line.strip() != "stopped":
                self.others.append(line)
        self.tracebacks = sum(1 for line in self.others if line.startswith("Traceback"))

    def load_window(self) -> list[tuple[str, str, int, float, str]]:
        """The entries after the clients' warm-up (GET /me, logged before it is answered,
        so before the clients start): when read right after the load, exactly its requests."""
        start = 1 + max(
            (i for i, e in enumerate(self.entries) if e[:2] == ("GET", "/api/v1/me")), default=-1
        )
        return self.entries[start:]


def server_log_report(entries: list[tuple[str, str, int, float, str]]) -> None:
    """Print the server's view of the load window (its access-log entries)."""
    by_route: dict[str, list[float]] = collections.defaultdict(list)
    statuses: collections.Counter[int] = collections.Counter()
    for method, target, status, elapsed, _ in entries:
        by_route[route_of(method, target)].append(elapsed / 1000)
        statuses[status] += 1
    latency_table(
        f"server-side time per request (its access log, {len(entries)} entries in the load "
        "window), ms:",
        by_route,
        [v for values in by_route.values() for v in values],
    )
    print("  statuses logged: " + ", ".join(f"{k}={v}" for k, v in sorted(statuses.items())))
    print("  slowest in the server:")
    for entry in sorted(entries, key=lambda e: e[3], reverse=True)[:5]:
        print(f"    {entry[4]}")


# -- verification -------------------------------------------------------------------------------


def verify(
    tickets: dict[str, dict[str, Any]], replies: list[tuple[str, str, str, int, str]], tag: str
) -> dict[str, int]:
    """Compare the replies sent with the messages the tickets hold."""
    found: collections.Counter[tuple[str, str]] = collections.Counter()
    dup_ids = 0
    for tid, ticket in tickets.items():
        ids = [m["id"] for m in ticket["messages"]]
        dup_ids += len(ids) - len(set(ids))
        for message in ticket["messages"]:
            if tag in message["body"]:
                found[(tid, message["body"])] += 1
    sent = {(tid, body): status for tid, body, _, status, _ in replies}
    out = collections.Counter(acked=0, lost=0, duplicated=0, refused_present=0)
    out.update(unknown=0, unknown_present=0, stray=0, duplicate_message_ids=dup_ids)
    for (tid, body), status in sent.items():
        count = found.get((tid, body), 0)
        if status == 201:
            out["acked"] += 1
            out["lost"] += count == 0
            out["duplicated"] += count > 1
        elif 400 <= status < 500:
            out["refused_present"] += count > 0
        else:  # no answer or a 5xx: either outcome is allowed, but at most once
            out["unknown"] += 1
            out["unknown_present"] += count > 0
            out["duplicated"] += count > 1
    out["stray"] = sum(1 for key in found if key not in sent)
    return dict(out)


def verification_failed(result: dict[str, int]) -> bool:
    return any(
        result[k]
        for k in ("lost", "duplicated", "refused_present", "stray", "duplicate_message_ids")
    )


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load check of `supportctl serve`: clients x requests against one server."
    )
    parser.add_argument("--clients", type=int, default=8, help="client processes (default 8)")
    parser.add_argument(
        "--requests", type=int, default=200, help="requests per client (default 200)"
    )
    parser.add_argument(
        "--tickets",
        type=int,
        default=0,
        metavar="N",
        help="a store of N tickets from bench/gen.py (default 0 = the demo store)",
    )
    parser.add_argument("--seed", type=int, default=0, help="gen.py and request-mix seed")
    parser.add_argument(
        "--mix",
        default="30,40,30",
        metavar="L,S,R",
        help="weights of list, show and reply requests (default 30,40,30)",
    )
    parser.add_argument(
        "--replay-ratio",
        type=float,
        default=0.05,
        help="share of acknowledged replies sent again with the same Idempotency-Key "
        "(default 0.05; 0 = none)",
    )
    parser.add_argument("--connect-timeout", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="read timeout of every request in seconds (default 30, above the store's 10 s "
        "lock timeout so that one shows as a 503, not a client timeout)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        help="each client stops sending after this long (default 300)",
    )
    parser.add_argument(
        "--pick", type=int, default=5000, help="at most this many tickets to show/reply to"
    )
    parser.add_argument(
        "--store",
        help="the store to build and load: a postgresql:// URL of an empty database "
        "(default: a json store in the work directory)",
    )
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="`serve` processes on the one store; client i talks to server i mod N (default 1)",
    )
    parser.add_argument("--workdir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    try:
        mix = [float(w) for w in args.mix.split(",")]
    except ValueError:
        parser.error("--mix takes three numbers, e.g. 30,40,30")
    if len(mix) != 3 or min(mix) < 0 or sum(mix) <= 0:
        parser.error("--mix takes three non-negative weights, e.g. 30,40,30")
    args.mix = mix
    if args.clients < 1 or args.requests < 1 or args.tickets < 0:
        parser.error("--clients and --requests must be 1 or more, --tickets 0 or more")
    if args.servers < 1:
        parser.error("--servers must be 1 or more")
    if not 0 <= args.replay_ratio <= 1:
        parser.error("--replay-ratio must be from 0 to 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        workdir = args.workdir.resolve()
        if workdir.exists() and any(workdir.iterdir()):
            raise SystemExit(f"http_load: {workdir} is not empty; pick a new --workdir")
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="http-load-"))
    try:
        return run(args, workdir)
    finally:
        if args.keep or args.workdir:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> int:
    env = child_env(workdir)
    store: Path | str = args.store or workdir / "store"
    log_path = workdir / "serve.log"
    t_setup = time.monotonic()
    agents = build_store(args, workdir, env)
    agents = agents[: min(len(agents), args.clients)]
    tokens = {
        a: supportctl(env, store, "store", "token", "create", a).stdout.split()[-1] for a in agents
    }
    built = time.monotonic() - t_setup
    server, port = start_server(env, store, log_path)
    base = f"http://{HOST}:{port}/api/v1"
    others = [start_server(env, store, workdir / f"serve-{n}.log") for n in range(1, args.servers)]
    bases = [base] + [f"http://{HOST}:{p}/api/v1" for _, p in others]
    timeout = (args.connect_timeout, args.timeout)
    failures: list[str] = []
    tag = uuid.uuid4().hex[:12]
    server_code: int | None = -1
    stop_seconds = 0.0
    reports: list[dict[str, Any]] = []
    try:
        with new_session(tokens[agents[0]]) as admin:
            show_ids = ticket_ids(admin, base, timeout, args.pick)
            reply_ids = ticket_ids(admin, base, timeout, args.pick, status=NOT_CLOSED)
        if not show_ids or not reply_ids:
            raise SystemExit("http_load: the store has no tickets to show or reply to")
        store_kind = f"{args.tickets} generated tickets" if args.tickets else "demo store"
        print(
            f"http_load: {args.clients} clients x {args.requests} requests against "
            + (
                f"one `supportctl serve` on {base}"
                if args.servers == 1
                else f"{args.servers} `supportctl serve` on {', '.join(bases)} (one store)"
            )
        )
        print(
            f"store: {store_kind} (built in {built:.1f} s); agents: {', '.join(agents)}; "
            f"{len(show_ids)} tickets to show, {len(reply_ids)} not closed to reply to"
        )
        mix = dict(zip(("list", "show", "reply"), args.mix, strict=True))
        print(
            f"mix: list {mix['list']:g} / show {mix['show']:g} / reply {mix['reply']:g}, "
            f"replays {args.replay_ratio:.0%} of acknowledged replies; timeout "
            f"({args.connect_timeout:g} s, {args.timeout:g} s); python "
            f"{sys.version.split()[0]}, {os.cpu_count()} CPUs"
        )

        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(args.clients + 1)
        results = ctx.Queue()
        procs = []
        for i in range(args.clients):
            agent = agents[i % len(agents)]
            cfg = {
                "base": bases[i % len(bases)],
                "token": tokens[agent],
                "agent": agent,
                "seed": args.seed,
                "tag": tag,
                "requests": args.requests,
                "mix": args.mix,
                "replay_ratio": args.replay_ratio,
                "show_ids": show_ids,
                "reply_ids": reply_ids,
                "connect_timeout": args.connect_timeout,
                "timeout": args.timeout,
                "max_seconds": args.max_seconds,
            }
            proc = ctx.Process(target=client_main, args=(i, cfg, barrier, results), daemon=True)
            proc.start()
            procs.append(proc)
        try:
            barrier.wait(timeout=120)
        except Exception:
            failures.append("the clients did not all start")
        wait_until = time.monotonic() + args.max_seconds + args.timeout + 120
        while len(reports) < args.clients and time.monotonic() < wait_until:
            try:
                reports.append(results.get(timeout=1))
            except Exception:  # queue.Empty: check the processes are still there
                if all(not p.is_alive() for p in procs) and results.empty():
                    break
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
                failures.append(f"client process {proc.pid} did not finish; terminated")
        window = ServerLog(log_path).load_window()  # every answer of the load is in
        for n in range(1, args.servers):
            window += ServerLog(workdir / f"serve-{n}.log").load_window()
        if len(reports) < args.clients:
            failures.append(f"only {len(reports)} of {args.clients} clients reported")
        for report in reports:
            if report.get("error"):
                failures.append(f"client {report['client']}: {report['error']}")
        done = sorted((r for r in reports if not r.get("error")), key=lambda r: r["client"])
        records = [rec for r in done for rec in r["records"]]
        replies = [rep for r in done for rep in r["replies"]]

        # -- figures ---------------------------------------------------------------------
        print()
        if done:
            wall = max(r["end"] for r in done) - min(r["start"] for r in done)
            print(
                f"requests: {len(records)} in {wall:.2f} s -> throughput "
                f"{len(records) / wall if wall else math.nan:.1f} requests/s"
            )
            skipped = sum(r["skipped"] for r in done)
            if skipped:
                failures.append(f"{skipped} requests not sent: --max-seconds reached")
                print(f"not sent (--max-seconds reached): {skipped}")
        by_kind: dict[str, list[float]] = collections.defaultdict(list)
        for kind, _status, latency, *_ in records:
            by_kind[kind].append(latency)
        latency_table(
            "client-side latency, ms (request sent -> body read):",
            by_kind,
            [rec[2] for rec in records],
        )
        statuses = collections.Counter(rec[1] for rec in records)
        per_kind = collections.Counter((rec[0], rec[1]) for rec in records)
        print(
            "status counts: "
            + ", ".join(f"{'no answer' if s == 0 else s}={n}" for s, n in sorted(statuses.items()))
        )
        print(
            "  by kind: "
            + ", ".join(
                f"{k} {'no answer' if s == 0 else s}={n}" for (k, s), n in sorted(per_kind.items())
            )
        )
        five = sum(n for s, n in statuses.items() if s >= 500)
        print(f"5xx responses: {five}")
        no_answer = [rec for rec in records if rec[1] == 0]
        if no_answer:
            errors = collections.Counter(rec[4] for rec in no_answer)
            print("no answer (client errors): " + ", ".join(f"{e}={n}" for e, n in errors.items()))
            failures.append(f"{len(no_answer)} requests got no answer")
        if five:
            failures.append(f"{five} responses were 5xx")
        unexpected = [rec for rec in records if rec[1] and rec[1] not in EXPECTED[rec[0]]]
        if unexpected:
            failures.append(f"{len(unexpected)} responses with an unexpected status")
            for kind, status, _, _, _, target in unexpected[:5]:
                print(f"  unexpected: {kind} ticket {target} -> {status}")
        slow = sorted(records, key=lambda rec: rec[2], reverse=True)[:5]
        print(
            "slowest requests (client): "
            + "; ".join(f"{k} {t} {s} {lat * 1000:.0f} ms" for k, s, lat, _, _, t in slow)
        )
        replay_problems = [p for r in done for p in r.get("replay_problems", [])]
        replays = per_kind.get(("replay", 201), 0)
        print(
            f"idempotent replays: {replays} answered 201, "
            f"{replays - len(replay_problems)} of them marked Idempotent-Replayed with the "
            f"first answer's body"
        )
        if replay_problems:
            failures.append(f"{len(replay_problems)} replays were not replayed faithfully")
            for problem in replay_problems[:5]:
                print(f"  replay problem: {problem}")
        replayed_first = [rep for rep in replies if rep[4] == "replayed on first send"]
        if replayed_first:
            failures.append(f"{len(replayed_first)} fresh keys were answered as replays")
        conns = sum(len(r["ports"]) for r in done)
        print(
            f"TCP connections opened by the clients (distinct local ports, warm-up included): "
            f"{conns} for {len(records) + len(done)} requests ("
            + ", ".join(f"c{r['client']}={len(r['ports'])}" for r in done)
            + ")"
        )
        print()
        server_log_report(window)

        # -- verification over the API ---------------------------------------------------
        print()
        replied = sorted({rep[0] for rep in replies}, key=int)
        tickets: dict[str, dict[str, Any]] = {}
        with new_session(tokens[agents[0]]) as reader:
            for tid in replied:
                resp = reader.get(f"{base}/tickets/{tid}", timeout=timeout)
                if resp.status_code != 200:
                    failures.append(f"reading ticket {tid} back answered {resp.status_code}")
                    continue
                tickets[tid] = resp.json()
        result = verify(tickets, replies, tag)
        print(
            f"verification (GET /tickets/{{id}} of the {len(tickets)} tickets replied to): "
            f"{len(replies)} replies sent, {result['acked']} acknowledged with 201"
        )
        print(f"lost replies: {result['lost']}")
        print(f"duplicated replies: {result['duplicated']}")
        print(
            f"refused replies present anyway: {result['refused_present']}; unanswered replies: "
            f"{result['unknown']} (present: {result['unknown_present']}); stray messages: "
            f"{result['stray']}; duplicate message ids: {result['duplicate_message_ids']}"
        )
        if verification_failed(result):
            failures.append("the replies read back over the API do not match those sent")
    finally:
        server_code, stop_seconds = stop_server(server)
        for proc, _ in others:
            code, _seconds = stop_server(proc)
            if code != 0:
                failures.append(f"another server exited {code} on SIGTERM")

    # -- after the server stopped -----------------------------------------------------------
    print()
    print(
        f"server stopped by SIGTERM in {stop_seconds:.2f} s, exit status "
        f"{'none (killed)' if server_code is None else server_code}"
    )
    if server_code != 0:
        failures.append(f"the server exited {server_code} on SIGTERM")
    logs = [ServerLog(log_path)] + [
        ServerLog(workdir / f"serve-{n}.log") for n in range(1, args.servers)
    ]
    log = logs[0]
    for more in logs[1:]:
        log.lines += more.lines
        log.entries += more.entries
        log.others += more.others
        log.tracebacks += more.tracebacks
        log.merged += more.merged
    print(
        f"server stderr: {len(log.lines)} lines, {len(log.entries)} access-log entries, "
        f"{log.tracebacks} tracebacks, {len(log.others)} other lines"
    )
    if log.merged:
        print(
            f"  WARNING: {log.merged} lines hold two or more access-log entries run together "
            "(writes of concurrent requests interleaved)"
        )
    for line in log.others[:20]:
        print(f"  | {line}")
    if log.tracebacks:
        failures.append(f"the server logged {log.tracebacks} tracebacks")
    check = subprocess.run(
        [sys.executable, "-m", "supportctl", "--store", str(store), "store", "check"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(f"store check: exit {check.returncode}")
    if check.returncode != 0:
        for line in (check.stdout + check.stderr).splitlines()[:20]:
            print(f"  | {line}")
        failures.append(f"store check exited {check.returncode} (the store is damaged)")
    export = supportctl(env, store, "store", "export")
    wanted = {rep[0] for rep in replies}
    exported = {}
    for line in export.stdout.splitlines():
        doc = json.loads(line)
        if doc.get("kind") == "ticket" and doc["id"] in wanted:
            exported[doc["id"]] = doc
    again = verify(exported, replies, tag)
    print(
        f"store export: lost replies: {again['lost']}, duplicated replies: "
        f"{again['duplicated']}, stray messages: {again['stray']}, duplicate message ids: "
        f"{again['duplicate_message_ids']}"
    )
    if verification_failed(again):
        failures.append("the replies in `store export` do not match those sent")

    print()
    if failures:
        print("FAILED:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("OK: no 5xx, every request answered, every acknowledged reply present exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
