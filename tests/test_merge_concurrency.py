"""SPEC §16 across processes: 8 processes merging overlapping pairs of one set of tickets
at once, on the json store and on PostgreSQL. Every merge is one atomic change of two
tickets, so whatever the interleaving every ticket ends in exactly one consistent state —
open, or a duplicate whose target records it exactly once — no chain of duplicates comes
back on itself, and `store check` finds the store healthy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from supportctl.models import Ticket
from tests.conftest import jsonl, open_store, org, run, ticket, user

pytestmark = pytest.mark.slow  # 8 processes, ~100 merges: several seconds

WORKERS = 8
MERGES = 14  # per worker
IDS = [str(n) for n in range(1001, 1017)]
REPO = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).with_name("_writer.py")


def docs() -> list[dict]:
    people = ["bob", "carol", "kim", "lee"]
    return [
        org("acme", "Acme"),
        org("support", "Support"),
        *(user(name, "acme") for name in people),
        user("dana", "support", "agent"),
        *(
            ticket(t, people[i % 4], "acme", cc=[people[(i + 1) % 4]] if i % 3 == 0 else [])
            for i, t in enumerate(IDS)
        ),
    ]


def race(store: str, tmp_path: Path) -> tuple[list[list[str]], float]:
    """Start the workers at one instant; their outcome lines and the wall time."""
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WRITER),
                "merge",
                store,
                ",".join(IDS),
                str(w),
                str(MERGES),
                str(gate),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for w in range(WORKERS)
    ]
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < WORKERS:
        assert time.monotonic() < deadline, "the workers never got ready"
        for proc in procs:
            assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.01)
    started = time.monotonic()
    (gate / "go").touch()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        outcomes.append(out.splitlines())
    return outcomes, time.monotonic() - started


def assert_consistent(tickets: dict[str, Ticket], outcomes: list[list[str]]) -> dict[str, int]:
    lines = [line.split(" ", 4) for worker in outcomes for line in worker]
    assert len(lines) == WORKERS * MERGES
    merged = [(a, b) for kind, a, b, *_ in lines if kind == "merged"]
    refused = [rest for kind, _a, _b, *rest in lines if kind == "refused"]
    # A refusal is the state forbidding the merge (exit 5), never a lock or a deadlock (6).
    assert all(code == "5" for code, _ in refused), refused
    # Each duplicate was merged exactly once (a second worker found it done or refused).
    assert sorted(a for a, _ in merged) == sorted(set(a for a, _ in merged))
    duplicates = {t.id: t.duplicate_of for t in tickets.values() if t.duplicate_of}
    assert duplicates == dict(merged)
    for t in tickets.values():
        told = [e.detail["duplicate"] for e in t.events if e.action == "merged"]
        assert sorted(told) == sorted(d for d, target in duplicates.items() if target == t.id)
        notes = [m.body for m in t.messages if m.kind == "system"]
        assert len(notes) == len(told) + (1 if t.duplicate_of else 0)
        if t.duplicate_of:
            assert (t.status, t.resolution) == ("closed", "duplicate")
            assert [e.detail.get("duplicate_of") for e in t.events if e.action == "closed"] == [
                t.duplicate_of
            ]
            target = tickets[t.duplicate_of]
            assert t.requester == target.requester or t.requester in target.cc
            assert set(t.cc) <= {target.requester, *target.cc}
        else:
            assert t.status == "open" and t.resolution is None
    for start in duplicates:  # no chain comes back on itself
        seen, step = {start}, duplicates[start]
        while step in duplicates:
            assert step not in seen, f"a cycle through {start}"
            seen.add(step)
            step = duplicates[step]
    return {"merged": len(merged), "refused": len(refused)}


def test_eight_processes_merging_overlapping_pairs_on_the_json_store(tmp_path, isolated_home):
    store = tmp_path / "store"
    assert run("--store", str(store), "store", "import", "-", input=jsonl(docs())).exit_code == 0
    outcomes, took = race(str(store), tmp_path)
    opened = open_store(store)
    counts = assert_consistent({t: opened.get_ticket(t) for t in IDS}, outcomes)
    assert counts["merged"] >= 5, counts
    check = run("--store", str(store), "store", "check")
    assert check.exit_code == 0, check.stdout
    print(f"json: {counts} in {took:.2f} s")


def test_eight_processes_merging_overlapping_pairs_on_postgres(tmp_path, pg_store):
    assert run("store", "import", "-", input=jsonl(docs())).exit_code == 0
    outcomes, took = race(pg_store, tmp_path)
    opened = open_store(pg_store)
    try:
        counts = assert_consistent({t: opened.get_ticket(t) for t in IDS}, outcomes)
    finally:
        opened.close()
    assert counts["merged"] >= 5, counts
    check = run("store", "check")
    assert check.exit_code == 0, check.stdout
    print(f"postgres: {counts} in {took:.2f} s")
    exported = [json.loads(line) for line in run("store", "export").stdout.splitlines()]
    assert sum(1 for d in exported if d.get("duplicate_of")) == counts["merged"]
