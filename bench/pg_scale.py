"""Issue 18: the PostgreSQL store against the json store, each figure beside its baseline.

Usage (from a checkout; not a pytest test; needs the test extra — psycopg, and pytest for
``tests/pg.py`` — and PostgreSQL's server binaries as the postgres tests do, or ``--pg-url``)::

    python bench/pg_scale.py                               # 1,000 and 100,000 tickets, ~15 min
    python bench/pg_scale.py --sizes 1000,10000 --runs 3   # a quick run
    python bench/pg_scale.py --only list,reply             # some of: list,reply,import,http
    python bench/pg_scale.py --pg-url postgresql://me@db/postgres   # a server of your own

It starts a throwaway PostgreSQL the way the tests do (``tests/pg.py``: ``initdb`` into a
temp directory, a free port, fsync off) unless ``--pg-url`` names a server where it may
create databases, builds for each size one json store and one PostgreSQL database from the
same ``bench/gen.py`` data, and measures, every command a fresh process as in ``run.py``
(same environment, bytecode cached, alternated with its baseline, medians):

* ``tickets list --scope org --status open --limit 50`` as an agent, on both stores at both
  sizes, alternated: postgres at the largest size against json at that size (target ≤ 1×)
  and against postgres at the smallest size (target ≤ 1.2×);
* ``tickets reply ID -m …`` on postgres, a different open ticket each run: the largest size
  against the smallest (target ≤ 1.2×); json for information;
* ``store import FILE`` of the largest size into a new database against the same into a new
  json directory (for information);
* ``bench/http_load.py`` (8 clients × 200 mixed requests): one ``serve`` over a json store,
  one over PostgreSQL, two over one PostgreSQL database: requests/s, p50, p99 (ms) and the
  lost / duplicated replies (must be 0 / 0).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO))

import run as issue7  # noqa: E402
from gen import AGENTS, generate  # noqa: E402

GROUPS = ("list", "reply", "import", "http")
LEGEND = (
    ("list open --limit 50", "tickets list --scope org --status open --limit 50, as an agent"),
    ("reply", "tickets reply ID -m TEXT, as an agent, a different open ticket each run"),
    ("store import", "store import FILE into a new database / a new store directory"),
    ("pg / json at N", "the same command on the postgres / json store of N tickets"),
)
LIST = ["tickets", "list", "--scope", "org", "--status", "open", "--limit", "50"]


class Postgres:
    """A server where databases are created and dropped (its own, or ``--pg-url``'s)."""

    def __init__(self, admin_url: str | None) -> None:
        self.stop = None
        if admin_url is None:
            from tests import pg

            try:
                server = pg.start()
            except BaseException as exc:  # pytest's skip/fail outcome: no PostgreSQL here
                raise SystemExit(f"pg_scale: {exc}") from None
            admin_url, self.stop = server.admin_url, server.stop
            # tests/pg.py made one database for tests; it goes with the server
        self.admin_url = admin_url
        self.base = admin_url.partition("?")[0].rsplit("/", 1)[0]

    def fresh(self, name: str) -> str:
        """An empty database ``name`` (dropped first if it exists); its URL."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{self.base}/{name}"

    def close(self) -> None:
        if callable(self.stop):
            self.stop()


class Bench(issue7.Bench):
    """run.py's rows and report, over stores named by path or URL."""

    def on(self, store: str) -> list[str]:
        return [self.py, "-m", "supportctl", "--store", store, "--user", self.agent]


def build(size: int, workdir: Path, runner: issue7.Runner, server: Postgres) -> dict[str, str]:
    """The json store and the database of ``size`` tickets, from the same data."""
    data = workdir / f"tickets-{size}.jsonl"
    if not data.exists():
        issue7.write_lines(data, generate(size, seed=0))
    stores = {}
    json_store = workdir / f"json-{size}"
    shutil.rmtree(json_store, ignore_errors=True)
    stores["json"] = str(json_store)
    stores["postgres"] = server.fresh(f"bench_{size}")
    for kind, store in stores.items():
        cmd = [sys.executable, "-m", "supportctl", "--store", store, "store", "import", str(data)]
        took = runner.run(cmd, what=f"building the {kind} store of {size:,}").seconds
        print(f"  {size:>7,}: {kind} store built (store import {took:.1f} s)", flush=True)
    stores["data"] = str(data)
    return stores


def open_ids(bench: Bench, store: str) -> list[str]:
    cmd = [*bench.on(store), *LIST[:-2], "--limit", "0", "-o", "ids"]
    return bench.runner.output(cmd, what="listing open tickets").split()


def listing(bench: Bench, stores: dict[int, dict[str, str]]) -> None:
    print("list --scope org --status open --limit 50:", flush=True)
    commands = {}
    for size, s in stores.items():
        for kind in ("json", "postgres"):
            cmd = [*bench.on(s[kind]), *LIST]
            commands[f"{kind} {size}"] = lambda i, cmd=cmd: cmd
    s = issue7.alternate(bench.runner, commands, bench.runs)
    small, large = min(stores), max(stores)
    where = bench.size_label(large)
    name = "list open --limit 50, pg"
    bench.add(issue7.Row(name, where, s[f"postgres {large}"], f"json at {large:,}",
                         s[f"json {large}"], "ratio<=1"))  # fmt: skip
    bench.add(issue7.Row(name, where, s[f"postgres {large}"], f"pg at {small:,}",
                         s[f"postgres {small}"], "ratio<=1.2"))  # fmt: skip
    bench.add(issue7.Row(name, bench.size_label(small), s[f"postgres {small}"],
                         f"json at {small:,}", s[f"json {small}"]))  # fmt: skip
    bench.add(issue7.Row("list open --limit 50, json", where, s[f"json {large}"],
                         f"json at {small:,}", s[f"json {small}"]))  # fmt: skip


def replies(bench: Bench, stores: dict[int, dict[str, str]]) -> None:
    print("reply (a different open ticket each run):", flush=True)
    need = bench.runs + 1
    commands = {}
    for size, s in stores.items():
        for kind in ("postgres", "json"):
            ids = bench.rng.sample(open_ids(bench, s[kind]), need)
            cli = bench.on(s[kind])
            commands[f"{kind} {size}"] = lambda i, cli=cli, ids=ids: [
                *cli, "tickets", "reply", ids[i], "-m", issue7.REPLY_BODY
            ]  # fmt: skip
    s = issue7.alternate(bench.runner, commands, bench.runs)
    small, large = min(stores), max(stores)
    where = bench.size_label(large)
    bench.add(issue7.Row("reply, pg", where, s[f"postgres {large}"], f"pg at {small:,}",
                         s[f"postgres {small}"], "ratio<=1.2"))  # fmt: skip
    bench.add(issue7.Row("reply, json", where, s[f"json {large}"], f"json at {small:,}",
                         s[f"json {small}"]))  # fmt: skip
    bench.add(issue7.Row("reply, pg", bench.size_label(large), s[f"postgres {large}"],
                         f"json at {large:,}", s[f"json {large}"]))  # fmt: skip


def imports(bench: Bench, size: int, data: str, server: Postgres) -> None:
    print(f"store import ({size:,} tickets, {bench.import_runs} runs):", flush=True)
    Path(data).read_bytes()  # into the page cache for both sides
    scratch = bench.workdir / "import-scratch"
    samples: dict[str, list[issue7.Sample]] = {"json": [], "postgres": []}
    try:
        for n in range(bench.import_runs):
            target = scratch / f"run-{n}"
            cmd = [bench.py, "-m", "supportctl", "--store", str(target), "store", "import", data]
            issue7._settle(1.0)
            samples["json"].append(bench.runner.run(cmd, what="store import (json)"))
            url = server.fresh(f"bench_import_{n}")
            cmd = [bench.py, "-m", "supportctl", "--store", url, "store", "import", data]
            issue7._settle(1.0)
            samples["postgres"].append(bench.runner.run(cmd, what="store import (postgres)"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bench.add(issue7.Row("store import, pg", bench.size_label(size), samples["postgres"],
                         f"json at {size:,}", samples["json"]))  # fmt: skip


HTTP_FIGURES = {
    "throughput": re.compile(r"throughput ([\d.]+) requests/s"),
    "overall": re.compile(r"^\s+overall\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", re.M),
    "lost": re.compile(r"^lost replies: (\d+)", re.M),
    "duplicated": re.compile(r"^duplicated replies: (\d+)", re.M),
}


def http(bench: Bench, server: Postgres) -> list[str]:
    """bench/http_load.py in three set-ups; one line of figures each."""
    print("http load (8 clients x 200 requests, demo store):", flush=True)
    setups = [
        ("1 serve, json", []),
        ("1 serve, postgres", ["--store", server.fresh("bench_load_1")]),
        ("2 serves, 1 postgres", ["--store", server.fresh("bench_load_2"), "--servers", "2"]),
    ]
    lines = [
        f"{'set-up':<22} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'lost':>5} {'dup':>4}  exit"
    ]
    for name, extra in setups:
        proc = subprocess.run(
            [bench.py, str(HERE / "http_load.py"), *extra],
            env=bench.runner.env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        out = proc.stdout
        (bench.workdir / f"http-{name.replace(' ', '_').replace(',', '')}.log").write_text(
            out + proc.stderr
        )
        found = {k: rx.search(out) for k, rx in HTTP_FIGURES.items()}
        if not all(found.values()):
            bench.errors.append(f"http load ({name}) printed no figures (exit {proc.returncode})")
            lines.append(f"{name:<22} (no figures; exit {proc.returncode})")
            continue
        overall = found["overall"]
        line = (
            f"{name:<22} {float(found['throughput'][1]):>7.1f} {float(overall[2]):>8.1f} "
            f"{float(overall[4]):>8.1f} {found['lost'][1]:>5} {found['duplicated'][1]:>4}  "
            f"{proc.returncode}"
        )
        if proc.returncode:
            bench.errors.append(f"http load ({name}) exited {proc.returncode}")
        print("  " + line, flush=True)
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Issue 18: PostgreSQL vs json store figures.")
    parser.add_argument("--sizes", default="1000,100000", help="two sizes (default 1000,100000)")
    parser.add_argument("--runs", type=int, default=7, help="measured runs per figure (default 7)")
    parser.add_argument("--import-runs", type=int, default=3, help="import runs (default 3)")
    parser.add_argument("--only", help=f"comma-separated groups: {','.join(GROUPS)} (default all)")
    parser.add_argument("--workdir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--pg-url", help="a PostgreSQL server's URL where databases may be made")
    parser.add_argument("--seed", type=int, default=0, help="ticket-choice seed")
    args = parser.parse_args(argv)
    sizes = issue7.parse_sizes(args.sizes)
    if len(sizes) != 2:
        parser.error("--sizes takes two sizes: small,large")
    groups = [g for g in (args.only or ",".join(GROUPS)).split(",") if g]
    if set(groups) - set(GROUPS):
        parser.error(f"--only takes some of {','.join(GROUPS)}")
    temp = None
    if args.workdir is None:
        temp = tempfile.mkdtemp(prefix="supportctl-pgbench-")
        workdir = Path(temp)
    else:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    runner = issue7.Runner(issue7.bench_env(workdir), workdir)
    bench = Bench(runner, args.runs, args.import_runs, AGENTS[0], random.Random(args.seed),
                  workdir, sizes[-1])  # fmt: skip
    tree = issue7.describe_tree()
    print(f"work directory {workdir}; {tree}; load average {issue7.load_average()}", flush=True)
    server = Postgres(args.pg_url)
    http_lines: list[str] = []
    try:
        stores: dict[int, dict[str, str]] = {}
        if set(groups) & {"list", "reply", "import"}:
            print("building the stores:", flush=True)
            started = time.perf_counter()
            for size in sizes:
                stores[size] = build(size, workdir, runner, server)
            print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
        if "list" in groups:
            bench.guarded("list", listing, bench, stores)
        if "reply" in groups:
            bench.guarded("reply", replies, bench, stores)
        if "import" in groups:
            bench.guarded("import", imports, bench, sizes[-1], stores[sizes[-1]]["data"], server)
        if "http" in groups:
            http_lines = http(bench, server)
        issue7.LEGEND = LEGEND
        issue7.report(bench, args.runs, tree)
        if http_lines:
            print()
            print("http load: bench/http_load.py, 8 clients x 200 requests (demo store)")
            for line in http_lines:
                print("  " + line)
    finally:
        server.close()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
