"""How the json store scales: listing and changing one ticket at 1,000 vs 100,000 tickets.

Usage (from a checkout, no installation needed; not a pytest test)::

    python bench/store_scale.py                                  # sizes 1000,100000, 5 runs
    python bench/store_scale.py --sizes 1000,10000 --runs 3      # a quick run
    python bench/store_scale.py --workdir /tmp/scale --reuse     # keep and reuse the stores

For each size it generates the data (``bench/gen.py``, fixed seed), builds a store with
``python -m supportctl --store DIR store import FILE`` (timed), then takes the median over
``--runs`` runs (after one unmeasured warm-up run) of these one-shot commands, each a fresh
process:

* ``list mine``: ``tickets list --status open --limit 50`` as an agent (default scope: tickets
  the agent is requester, cc or assignee of);
* ``list org``: the same with ``--scope org`` (agents see every org: a scan of everything);
* ``change one``: ``JsonStore(DIR).update_ticket(ID, fn)`` in ``python -c``, appending an
  email message and an event to a random ticket (reply/close commands do not exist yet);
* ``cli --version`` and ``python -c pass``: process start-up baselines.

It prints a table (figure, size, median/min/max seconds) and the targets of the issue with
PASS/FAIL: listing at the largest size under 1 s, and changing one ticket at the largest
size within 1.5x of the same change at the smallest size.  Exit status 0 when every target
passes, 1 when one fails.

Subprocesses run with ``sys.executable``, ``PYTHONPATH`` set to the repository root, and
``HOME``, ``XDG_*`` and ``SUPPORTCTL_CONFIG`` pointing into the work directory, so the real
home and config are never touched.  Without ``--workdir`` a temporary directory is used and
removed at the end.  With ``--reuse``, a store already built in the work directory (by an
earlier run with the same seed) is used as it is; note that every run changes a few of its
tickets.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from gen import AGENTS, generate  # noqa: E402

LIST_TARGET_S = 1.0
CHANGE_RATIO_TARGET = 1.5
FIRST_ID = 1001

# One-shot "change one ticket": open the store, append a reply to one ticket, exit.
CHANGE_SCRIPT = """\
import sys
from supportctl.storage.jsonstore import JsonStore
from supportctl.models import Event, Message
from supportctl.timeutil import format_ts, now

root, ticket_id, agent = sys.argv[1:4]

def change(ticket):
    at = format_ts(now())
    mid = f"m{len(ticket.messages) + 1}"
    body = "Thanks for the details. We pushed a fix; please try again and tell us how it goes."
    ticket.messages.append(Message(id=mid, kind="email", author=agent, at=at, body=body))
    ticket.events.append(Event(at=at, actor=agent, action="replied", detail={"message": mid}))
    ticket.updated_at = at
    return ticket

JsonStore(root).update_ticket(ticket_id, change)
"""


def bench_env(workdir: Path) -> dict[str, str]:
    """The environment of every subprocess: this checkout, and nothing of the real home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTCTL_")}
    home = workdir / "home"
    for sub in ("", ".config", ".local/share", ".cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    pythonpath = os.environ.get("PYTHONPATH")
    env.update(
        PYTHONPATH=str(REPO) + (os.pathsep + pythonpath if pythonpath else ""),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        SUPPORTCTL_CONFIG=str(workdir / "config.toml"),
        NO_COLOR="1",
        # Bytecode is cached (as after an installation), but in the work directory, not the tree.
        PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run(cmd: list[str], env: dict[str, str], *, what: str) -> float:
    """Run one command (stdout to /dev/null) and return its wall-clock time in seconds."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(
            f"store_scale: {what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stderr.decode(errors='replace')}"
        )
    return elapsed


def build(size: int, workdir: Path, env: dict[str, str], *, seed: int, reuse: bool) -> Path:
    """The store of ``size`` tickets in ``workdir``: reused when asked and complete, else built."""
    store = workdir / f"store-{size}"
    done = workdir / f"store-{size}.built"  # written once the import has succeeded
    if reuse and done.exists() and (store / "store.json").exists():
        print(f"size {size:>7,}: reusing {store}", flush=True)
        return store
    if store.exists():
        if not (store / "store.json").exists():
            sys.exit(f"store_scale: {store} exists and is not a supportctl store; remove it")
        shutil.rmtree(store)
    done.unlink(missing_ok=True)
    data = workdir / f"tickets-{size}.jsonl"
    start = time.perf_counter()
    with open(data, "w", encoding="utf-8") as out:
        for line in generate(size, seed=seed):
            out.write(line)
            out.write("\n")
    gen_s = time.perf_counter() - start
    mib = data.stat().st_size / 2**20
    print(f"size {size:>7,}: generated {mib:,.0f} MiB of JSON Lines in {gen_s:.1f} s", flush=True)
    cmd = [sys.executable, "-m", "supportctl", "--store", str(store), "store", "import", str(data)]
    import_s = run(cmd, env, what=f"import of {size} tickets")
    print(f"size {size:>7,}: store import took {import_s:.1f} s", flush=True)
    data.unlink()
    done.write_text(f"seed {seed}\nimport {import_s:.3f} s\n")
    return store


def check_listing(store: Path, env: dict[str, str], agent: str) -> None:
    """Once per store: the org-scope listing works and returns open tickets."""
    cmd = [sys.executable, "-m", "supportctl", "--store", str(store), "--user", agent]
    cmd += ["tickets", "list", "--scope", "org", "--status", "open", "--limit", "50", "-o", "ids"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    ids = proc.stdout.split()
    if proc.returncode != 0 or not 0 < len(ids) <= 50:
        sys.exit(f"store_scale: unexpected listing (exit {proc.returncode}, {len(ids)} ids)")


def measure(
    store: Path, size: int, env: dict[str, str], agent: str, runs: int, rng: random.Random
) -> dict[str, list[float]]:
    py = sys.executable
    cli = [py, "-m", "supportctl", "--store", str(store), "--user", agent]
    listing = ["tickets", "list", "--status", "open", "--limit", "50"]
    figures = {
        "python -c pass": lambda: [py, "-c", "pass"],
        "cli --version": lambda: [py, "-m", "supportctl", "--version"],
        "list mine": lambda: cli + listing,
        "list org": lambda: cli + listing + ["--scope", "org"],
        "change one": lambda: [
            py,
            "-c",
            CHANGE_SCRIPT,
            str(store),
            str(FIRST_ID + rng.randrange(size)),
            agent,
        ],
    }
    times: dict[str, list[float]] = {}
    for name, make in figures.items():
        run(make(), env, what=name)  # warm-up: page cache, .pyc files
        times[name] = [run(make(), env, what=name) for _ in range(runs)]
        print(
            f"size {size:>7,}: {name:<15} median {statistics.median(times[name]):.3f} s", flush=True
        )
    return times


def report(results: dict[int, dict[str, list[float]]], runs: int) -> bool:
    sizes = sorted(results)
    rows = []
    for name in next(iter(results.values())):
        for size in sizes:
            t = results[size][name]
            rows.append((name, f"{size:,}", statistics.median(t), min(t), max(t)))
    print()
    print(f"{'figure':<16}{'size':>9}{'median s':>11}{'min s':>9}{'max s':>9}   ({runs} runs)")
    for name, size, med, low, high in rows:
        print(f"{name:<16}{size:>9}{med:>11.3f}{low:>9.3f}{high:>9.3f}")
    small, large = sizes[0], sizes[-1]

    def med(size: int, name: str) -> float:
        return statistics.median(results[size][name])

    ok = True
    if len(sizes) > 1:
        print()
        ratio = med(large, "change one") / med(small, "change one")
        base = med(small, "python -c pass")
        net_small = med(small, "change one") - base
        net_large = med(large, "change one") - med(large, "python -c pass")
        net = net_large / net_small if net_small > 0 else float("nan")
        print(
            f"change one at {large:,} / at {small:,}: {ratio:.2f}x "
            f"(without interpreter start-up: {net:.2f}x)"
        )
    print()
    print("targets:")
    for name in ("list mine", "list org"):
        value = med(large, name)
        passed = value < LIST_TARGET_S
        ok &= passed
        print(
            f"  {'PASS' if passed else 'FAIL'}  listing ({name}) at {large:,} under "
            f"{LIST_TARGET_S:g} s: {value:.3f} s"
        )
    if len(sizes) > 1:
        passed = ratio <= CHANGE_RATIO_TARGET
        ok &= passed
        print(
            f"  {'PASS' if passed else 'FAIL'}  changing one ticket at {large:,} within "
            f"{CHANGE_RATIO_TARGET:g}x of the same change at {small:,}: {ratio:.2f}x"
        )
    if large != 100_000 or small != 1_000:
        measured = f"{small:,} and {large:,}" if len(sizes) > 1 else f"{large:,} only"
        print(f"  (the issue's targets are for 1,000 and 100,000 tickets; measured: {measured})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure listing and one-ticket changes of the json store at several sizes."
    )
    parser.add_argument(
        "--sizes",
        default="1000,100000",
        help="comma-separated store sizes in tickets (default 1000,100000)",
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure (default 5)")
    parser.add_argument("--workdir", type=Path, help="where stores are built (default: a temp dir)")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse stores already built in --workdir"
    )
    parser.add_argument("--seed", type=int, default=0, help="data and ticket-choice seed")
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes must be numbers separated by commas (got {args.sizes!r})")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs at least one size of 1 or more")
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    if args.reuse and args.workdir is None:
        parser.error("--reuse needs --workdir")

    temp = None
    if args.workdir is None:
        temp = tempfile.mkdtemp(prefix="supportctl-scale-")
        workdir = Path(temp)
    else:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    env = bench_env(workdir)
    agent = AGENTS[0]
    rng = random.Random(args.seed)
    print(f"work directory {workdir}; python {sys.version.split()[0]}; agent {agent}", flush=True)
    try:
        results = {}
        for size in sizes:
            store = build(size, workdir, env, seed=args.seed, reuse=args.reuse)
            check_listing(store, env, agent)
            results[size] = measure(store, size, env, agent, args.runs, rng)
        ok = report(results, args.runs)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
