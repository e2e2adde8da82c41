"""Safety of the local json store (SPEC §6, §9; STYLE "Store safety"), with real processes.

Every test here runs other processes against one store directory: writers racing on one
ticket or on the id counter, writers SIGKILLed at random instants or just before a chosen
file-system call, a process holding the lock, a `store import` failing next to another.
What is asserted is what a user of the CLI can see: exit codes, messages, `store check`,
what `tickets list` / `tickets show` print, and the bytes of the files.

The writer processes run tests/_writer.py (a standalone script) or are forked from here.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from supportctl.errors import StoreDamaged
from supportctl.storage import admin
from supportctl.storage.jsonstore import JsonStore
from tests import _writer

# Real processes, kills and locks: a few seconds each, so CI runs them and quick loops skip them.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).with_name("_writer.py")
AGENT = "dana"  # sees every ticket with --scope org
KILLED = -signal.SIGKILL


# -- documents and stores -------------------------------------------------------------------------


def org_doc(org_id: str) -> dict:
    return {"kind": "org", "id": org_id, "name": org_id.capitalize()}


def user_doc(username: str, org: str, role: str = "user") -> dict:
    return {
        "kind": "user",
        "username": username,
        "name": username.capitalize(),
        "email": f"{username}@example.com",
        "org": org,
        "role": role,
    }


def ticket_doc(ticket_id: str, requester: str = "alice", org: str = "acme") -> dict:
    return {
        "kind": "ticket",
        "id": ticket_id,
        "subject": f"Subject of {ticket_id}",
        "type": "email",
        "category": "technical",
        "status": "open",
        "priority": "normal",
        "requester": requester,
        "org": org,
        "created_at": _writer.stamp(0),
        "updated_at": _writer.stamp(0),
    }


BASE_DOCS = [
    org_doc("acme"),
    org_doc("support"),
    user_doc("alice", "acme"),
    user_doc(AGENT, "support", "agent"),
]


def jsonl(docs: list[dict]) -> bytes:
    return b"".join(json.dumps(doc).encode() + b"\n" for doc in docs)


def make_store(path: Path, ticket_ids: list[str]) -> Path:
    """A store holding two orgs, alice (a user), dana (an agent) and alice's tickets."""
    store = JsonStore.create(path)
    docs = BASE_DOCS + [ticket_doc(t) for t in ticket_ids]
    admin.import_lines(store, jsonl(docs).split(b"\n"))
    return path


def ticket_ids(n: int, first: int = 1001) -> list[str]:
    return [str(first + i) for i in range(n)]


def read_ticket(store: Path, ticket_id: str) -> dict:
    return json.loads((store / "tickets" / f"{ticket_id}.json").read_bytes())


def read_all_tickets(store: Path) -> dict[str, dict]:
    """Every ticket file, parsed as it is on disk; a torn file fails the test."""
    docs = {}
    for path in sorted((store / "tickets").glob("*.json")):
        data = path.read_bytes()
        try:
            docs[path.stem] = json.loads(data)
        except ValueError:
            pytest.fail(f"{path} is torn ({len(data)} bytes): {data[:80]!r}…")
    return docs


def temp_files(store: Path) -> str:
    """The temp files (``.tmp-*``) left in the store, for failure messages."""
    names = sorted(p.name for p in store.rglob(".tmp-*"))
    return f" (temp files: {', '.join(names)})" if names else ""


def summary(doc: dict) -> dict:
    """What the listing index should hold for a ticket file: all but the thread and trail."""
    return {key: value for key, value in doc.items() if key not in ("messages", "events")}


# -- processes -------------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for child processes: home, data and config under tmp_path, no SUPPORTCTL_*."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    out = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTCTL_")}
    pythonpath = [str(REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    out.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        SUPPORTCTL_CONFIG=str(home / "config" / "supportctl" / "config.toml"),
        PYTHONPATH=os.pathsep.join(pythonpath),
        TZ="UTC",
        NO_COLOR="1",
    )
    return out


def cli(
    env: dict[str, str], store: Path, *args: str, user: str | None = None, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m supportctl --store STORE [--user USER] ARGS…` in a child process."""
    command = [sys.executable, "-m", "supportctl", "--store", str(store)]
    if user:
        command += ["--user", user]
    return subprocess.run(
        command + list(args),
        env=dict(env, **extra_env),
        cwd=store.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_cli(env: dict[str, str], store: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "supportctl", "--store", str(store), *args],
        env=env,
        cwd=store.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def start_writer(env: dict[str, str], *args: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """The next line the child prints, failing (not hanging) if it never comes.

    Read byte by byte from the pipe, so that nothing after the line sits in a buffer that
    ``communicate()`` (which reads the pipe itself) would never see."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        byte = os.read(fd, 1) if ready else b""
        if not byte:
            kill(proc)
            pytest.fail(f"{proc.args} printed no line within {timeout} s: {proc.stderr.read()}")
        line += byte
    return line.decode().strip()


def wait_until(condition: Callable[[], bool], procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"{proc.args} exited early ({proc.returncode}): {proc.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail("children never got ready")
        time.sleep(0.005)


def kill(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGKILL)
    return proc.communicate(timeout=60)


def listed(env: dict[str, str], store: Path) -> dict[str, dict]:
    """`tickets list -o json` of every ticket (an agent's org scope), by id, without the
    computed ``sla`` object (it is derived, not stored)."""
    result = cli(
        env, store, "tickets", "list", "--scope", "org", "-o", "json", "--limit", "0", user=AGENT
    )
    assert result.returncode == 0, result.stderr
    return {row["id"]: without(row, "sla") for row in json.loads(result.stdout)}


def without(row: dict, key: str) -> dict:
    return {k: v for k, v in row.items() if k != key}


def assert_check_passes(env: dict[str, str], store: Path) -> None:
    result = cli(env, store, "store", "check")
    assert result.returncode == 0, f"store check failed:\n{result.stdout}{result.stderr}"


def first_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert lines, f"nothing on stderr (stdout: {result.stdout!r})"
    assert lines[0].startswith("supportctl: error:"), result.stderr
    return lines[0]


# -- 1. no lost update -----------------------------------------------------------------------------


def test_eight_processes_appending_to_one_ticket_lose_no_message(tmp_path, env):
    workers, per_worker = 8, 25
    store = make_store(tmp_path / "store", ticket_ids(3))
    untouched = (store / "tickets" / "1001.json").read_bytes()
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [
        start_writer(env, "append", store, "1002", w, per_worker, gate) for w in range(workers)
    ]
    try:
        wait_until(lambda: len(list(gate.glob("ready-*"))) == workers, procs)
        (gate / "go").touch()  # all start appending at once
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                kill(proc)

    ticket = read_ticket(store, "1002")
    ids = [m["id"] for m in ticket["messages"]]
    assert len(ids) == workers * per_worker
    assert len(set(ids)) == len(ids), "a message was written twice"
    assert set(ids) == {f"w{w}-{i}" for w in range(workers) for i in range(per_worker)}
    for w in range(workers):  # each writer's messages in the order it wrote them
        assert [i for i in ids if i.startswith(f"w{w}-")] == [
            f"w{w}-{i}" for i in range(per_worker)
        ]
    assert ticket["updated_at"] == _writer.stamp(len(ids))
    assert (store / "tickets" / "1001.json").read_bytes() == untouched

    assert_check_passes(env, store)
    rows = listed(env, store)
    assert sorted(rows) == ["1001", "1002", "1003"]
    assert rows["1002"] == summary(ticket)
    assert rows["1002"]["updated_at"] == _writer.stamp(workers * per_worker)


# -- 2. concurrent creates -------------------------------------------------------------------------


def test_concurrent_creates_get_distinct_sequential_ids(tmp_path, env):
    workers, per_worker = 4, 15
    store = make_store(tmp_path / "store", [])
    gate = tmp_path / "gate"
    gate.mkdir()
    procs = [start_writer(env, "create", store, w, per_worker, gate) for w in range(workers)]
    try:
        wait_until(lambda: len(list(gate.glob("ready-*"))) == workers, procs)
        (gate / "go").touch()
        got: list[str] = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            got += out.split()
    finally:
        for proc in procs:
            if proc.poll() is None:
                kill(proc)

    expected = ticket_ids(workers * per_worker)  # 1001 … 1060, no gap
    assert len(got) == len(set(got)), "two creates got the same id"
    assert sorted(got, key=int) == expected
    assert sorted(read_all_tickets(store), key=int) == expected
    assert_check_passes(env, store)
    assert sorted(listed(env, store), key=int) == expected
    # The counter went on: the next ticket continues the sequence.
    made = JsonStore(store).create_ticket(lambda n: _writer.new_ticket(n, "one more"))
    assert made.id == str(1001 + workers * per_worker)


# -- 3. a writer SIGKILLed at random instants ------------------------------------------------------


def test_sigkilled_writer_never_leaves_a_torn_or_lost_update(tmp_path, env):
    ids = ticket_ids(4)
    store = make_store(tmp_path / "store", ids)
    rng = random.Random(20261001)
    count = dict.fromkeys(ids, 0)  # messages of each ticket as last seen
    mid_write = 0  # kills that landed inside a write (a journal was left)
    for round_ in range(20):
        proc = start_writer(env, "loop", store, *ids)
        assert read_line(proc) == "ready"
        time.sleep(rng.uniform(0.005, 0.08))
        out, err = kill(proc)
        assert proc.returncode == KILLED, f"the writer died on its own: {err}"
        reported = {}  # updates the writer saw committed before it died
        for line in out.splitlines():
            ticket_id, n = line.split()
            reported[ticket_id] = int(n)

        # Straight after the kill, before anyone replays the journal: old or new state.
        mid_write += (store / "journal.json").exists()
        docs = read_all_tickets(store)
        assert sorted(docs) == ids
        grown = []
        for ticket_id in ids:
            doc = docs[ticket_id]
            n = len(doc["messages"])
            committed = max(count[ticket_id], reported.get(ticket_id, 0))
            in_flight = committed + 1 + committed % 3  # what the next update makes it
            assert n in (committed, in_flight), (
                f"round {round_}: ticket {ticket_id} has {n} messages; "
                f"{committed} were committed (lost or phantom update)"
            )
            if n == in_flight:
                grown.append(ticket_id)
            assert [m["id"] for m in doc["messages"]] == [f"{ticket_id}-{k}" for k in range(n)]
            assert doc["updated_at"] == _writer.stamp(n)
            assert doc["status"] == ("open" if n % 2 else "pending") or n == 0
            count[ticket_id] = n
        assert len(grown) <= 1, f"round {round_}: several updates were in flight: {grown}"

        # Every other round, a reader opens the store at once (it replays an abandoned
        # journal); otherwise the next writer does it when it opens the store.
        if round_ % 2 == 0:
            opened = JsonStore(store)
            assert not opened.journal_path.exists(), "the journal was not replayed"
            report = opened.check()
            assert report.healthy, (
                f"round {round_}, after the kill: {report.problems}{temp_files(store)}"
            )

    assert sum(count.values()) > 20, "the writer hardly wrote anything before being killed"
    assert mid_write, "no kill landed inside a write"
    assert_check_passes(env, store)
    rows = listed(env, store)
    docs = read_all_tickets(store)
    assert {t: rows[t] for t in ids} == {t: summary(docs[t]) for t in ids}


# -- 4. a `store import` SIGKILLed: all or nothing -------------------------------------------------


@pytest.mark.slow
def test_sigkilled_import_imports_all_or_nothing(tmp_path, env):
    size = 2000
    pristine = make_store(tmp_path / "pristine", ticket_ids(3))
    new_ids = set(ticket_ids(size, first=5001))
    source = tmp_path / "import.jsonl"
    source.write_bytes(
        jsonl([user_doc("bob", "acme")] + [ticket_doc(t, "bob") for t in sorted(new_ids)])
    )
    store = tmp_path / "store"
    shutil.copytree(pristine, store)
    rng = random.Random(4242)
    write_phase = None  # seconds from the journal's appearance to the end, measured first
    outcomes = []
    for round_ in range(6):
        proc = start_cli(env, store, "store", "import", str(source))
        journal = store / "journal.json"
        while proc.poll() is None and not journal.exists():
            time.sleep(0.0005)
        started = time.monotonic()
        if write_phase is None:  # round 0 runs to the end
            _, err = proc.communicate(timeout=120)
            write_phase = time.monotonic() - started
        else:
            time.sleep(rng.uniform(0, write_phase))
            _, err = kill(proc)
        assert proc.returncode in (0, KILLED), err

        # Before anyone replays the journal: every file there is whole.
        read_all_tickets(store)
        # The next opener rolls the import back or forward.
        opened = JsonStore(store)
        files = {p.stem for p in opened.tickets_dir.glob("*.json")} & new_ids
        indexed = opened.ticket_ids() & new_ids
        has_bob = opened.get_user("bob") is not None
        if files or indexed or has_bob:
            assert files == indexed == new_ids and has_bob, (
                f"round {round_}: a partial import: {len(files)} files, {len(indexed)} "
                f"indexed of {size}, bob {'exists' if has_bob else 'missing'}"
            )
        report = opened.check()
        assert report.healthy, f"round {round_}: {report.problems}{temp_files(store)}"
        outcomes.append("all" if files else "none")
        if files:
            shutil.rmtree(store)
            shutil.copytree(pristine, store)
        # otherwise the next round imports into the rolled-back store: nothing left over

    assert outcomes[0] == "all"
    assert "none" in outcomes, f"no kill landed before the import was decided: {outcomes}"
    assert_check_passes(env, store)
    assert sorted(listed(env, store)) == ticket_ids(3)


# -- kills just before every file-system call of a write --------------------------------------------


def _verify_after_crash(
    op: str, store: Path, before: dict[str, bytes], finished: bool
) -> list[str]:
    """What a user would find wrong after the writer died; empty when all is well."""
    problems = []
    for path in sorted(store.glob("*.json")) + sorted((store / "tickets").glob("*.json")):
        try:
            json.loads(path.read_bytes())
        except ValueError:
            problems.append(f"{path.relative_to(store)} is torn")
    opened = JsonStore(store)  # the next opener replays an abandoned journal
    if opened.journal_path.exists():
        problems.append("journal.json is still there after the next open")
    problems += [f"store check: {p}{temp_files(store)}" for p in opened.check().problems]
    docs = {p.stem: json.loads(p.read_bytes()) for p in (store / "tickets").glob("*.json")}
    indexed = {row["id"]: without(row, "_sla") for row in opened.ticket_summaries()}
    if indexed != {t: summary(doc) for t, doc in docs.items()}:
        problems.append(f"the listing index disagrees with the files ({sorted(indexed)})")
    old = {f"tickets/{t}.json" for t in ("1001", "1002", "1003")}
    if op in ("update", "compact"):
        n = len(docs["1001"]["messages"])
        if n not in (0, 1):
            problems.append(f"ticket 1001 has {n} messages (expected 0 or 1)")
        if finished and n != 1:
            problems.append("the finished update is not there")
        old.discard("tickets/1001.json")
    elif op == "create":
        if set(docs) not in ({"1001", "1002", "1003"}, {"1001", "1002", "1003", "1004"}):
            problems.append(f"tickets after a create: {sorted(docs)}")
        made = opened.create_ticket(lambda n: _writer.new_ticket(n, "next"))
        if int(made.id) <= max(map(int, docs)):  # a skipped number would be fine; a reused one not
            problems.append(f"the next create got id {made.id}, after {sorted(docs)}")
    elif op == "escalate":
        escalations = {
            p.stem: json.loads(p.read_bytes()) for p in (store / "escalations").glob("*.json")
        }
        ticket = docs["1001"]
        if ticket["escalation_id"] is None:
            if escalations:
                problems.append(f"escalation files without their ticket: {sorted(escalations)}")
            if finished:
                problems.append("the finished escalation is not there")
        elif escalations.get(ticket["escalation_id"], {}).get("ticket_id") != "1001":
            problems.append(f"ticket 1001 names {ticket['escalation_id']}, which is not there")
        elif ticket["status"] != "escalated":
            problems.append("the escalation was written but the ticket was not escalated")
        old.discard("tickets/1001.json")
    elif op == "merge":
        # Both tickets changed, or neither: never a duplicate without its target knowing.
        merged = docs["1001"]["duplicate_of"] == "1002" and docs["1001"]["status"] == "closed"
        told = [m["id"] for m in docs["1002"]["messages"]] == ["1002-merged"]
        if merged != told or docs["1002"]["cc"] != (["bob"] if told else []):
            problems.append(
                f"a torn merge: 1001 {'is' if merged else 'is not'} a duplicate, 1002 "
                f"{'was' if told else 'was not'} told (cc {docs['1002']['cc']})"
            )
        if finished and not merged:
            problems.append("the finished merge is not there")
        old -= {"tickets/1001.json", "tickets/1002.json"}
    elif op == "import":
        new = set(docs) & {"2001", "2002"}
        has_bob = opened.get_user("bob") is not None
        if (new, has_bob) not in ((set(), False), ({"2001", "2002"}, True)):
            problems.append(f"a partial import: tickets {sorted(new)}, bob {has_bob}")
    for rel in old:
        if (store / rel).read_bytes() != before[rel]:
            problems.append(f"{rel} changed, though the write did not touch it")
    compacted = json.loads((store / "store.json").read_bytes())["index_base"] > 0
    if op == "compact" and finished and not compacted:
        problems.append("the index was never compacted: the test does not test compaction")
    return problems


@pytest.mark.parametrize("op", ["update", "create", "import", "compact", "escalate", "merge"])
def test_writer_killed_before_any_file_system_call_leaves_a_healthy_store(tmp_path, op):
    """Fork a writer that SIGKILLs itself just before its Nth open/write/fsync/replace/
    unlink/truncate/sync, for N = 1, 2, … until the write completes; after each death the
    next opener must find every file whole, old or new state, and `store check` healthy."""
    pristine = make_store(tmp_path / "pristine", ticket_ids(3))
    source = tmp_path / "import.jsonl"
    source.write_bytes(jsonl([user_doc("bob", "acme"), ticket_doc("2001"), ticket_doc("2002")]))
    arg = {
        "update": "1001",
        "compact": "1001",
        "escalate": "1001",
        "merge": "1001,1002",
        "import": str(source),
        "create": "",
    }[op]
    before = {f"tickets/{p.name}": p.read_bytes() for p in (pristine / "tickets").glob("*.json")}
    fork = multiprocessing.get_context("fork")
    failures = []
    for limit in range(1, 400):
        store = tmp_path / f"store-{limit}"
        shutil.copytree(pristine, store)
        note = tmp_path / f"note-{limit}"
        child = fork.Process(target=_writer.crash_at, args=(limit, op, store, arg, note))
        child.start()
        child.join(60)
        assert child.exitcode in (0, KILLED), f"call {limit}: exit {child.exitcode}"
        finished = child.exitcode == 0
        where = "finished" if finished else f"killed just before {note.read_text()} (call {limit})"
        failures += [f"{where}: {p}" for p in _verify_after_crash(op, store, before, finished)]
        shutil.rmtree(store)
        if finished:
            break
    else:
        pytest.fail(f"the {op} never finished")
    assert limit > 10, f"the {op} made only {limit - 1} calls: nothing was exercised"
    assert not failures, f"{len(failures)} crash point(s) of {op} went wrong:\n" + "\n".join(
        failures
    )


# -- 5. damaged files are reported with their path and never overwritten ----------------------------

GARBAGE = {
    "binary": b"\x00\xff\xfe garbage \x00",
    "torn": None,  # the first half of the real file
    "not-a-ticket": b'{"id": "1002", "hello": [1, 2]}',
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_damaged_ticket_file_is_reported_and_left_alone(tmp_path, env, kind):
    store = make_store(tmp_path / "store", ticket_ids(3))
    path = store / "tickets" / "1002.json"
    damaged = GARBAGE[kind] or path.read_bytes()[: len(path.read_bytes()) // 2]
    path.write_bytes(damaged)

    show = cli(env, store, "tickets", "show", "1002", user="alice")
    assert show.returncode == 6, show.stderr
    assert str(path) in first_error_line(show)
    export = cli(env, store, "store", "export")
    assert export.returncode == 6, export.stderr
    assert str(path) in first_error_line(export)
    # The other tickets are still there to read.
    assert cli(env, store, "tickets", "show", "1001", user="alice").returncode == 0
    # A writer refuses the damaged ticket too, and does not overwrite it.
    with pytest.raises(StoreDamaged) as raised:
        JsonStore(store).update_ticket("1002", _writer.grow)
    assert raised.value.path == str(path)

    check = cli(env, store, "store", "check")
    assert check.returncode == 6
    first_error_line(check)
    assert str(path) in check.stdout
    repair = cli(env, store, "store", "check", "--repair")
    assert repair.returncode == 6, "a damaged ticket is not derivable: --repair cannot fix it"
    first_error_line(repair)
    assert any(
        line.startswith("problem:") and str(path) in line for line in repair.stdout.splitlines()
    )
    assert path.read_bytes() == damaged


STORE_DAMAGE = {
    "garbage": lambda meta: b"\x00 this is not json {",
    "schema-99": lambda meta: json.dumps(dict(json.loads(meta), schema=99)).encode() + b"\n",
}


@pytest.mark.parametrize("kind", sorted(STORE_DAMAGE))
def test_damaged_or_newer_store_json_fails_every_command_untouched(tmp_path, env, kind):
    """Every command but `store check --repair` fails with exit 6 naming store.json and
    leaves it as it is; `--repair` then rebuilds a damaged one from the files (its id
    counters are derivable) but never touches one of a newer schema."""
    store = make_store(tmp_path / "store", ticket_ids(3))
    meta = store / "store.json"
    damaged = STORE_DAMAGE[kind](meta.read_bytes())
    meta.write_bytes(damaged)
    source = tmp_path / "more.jsonl"
    source.write_bytes(jsonl([ticket_doc("3001")]))
    files_before = sorted(p.relative_to(store) for p in store.rglob("*"))
    commands = {
        "list": ["--user", "alice", "tickets", "list"],
        "show": ["--user", "alice", "tickets", "show", "1001"],
        "export": ["store", "export"],
        "check": ["store", "check"],
        "import": ["store", "import", str(source)],
    }
    procs = {name: start_cli(env, store, *args) for name, args in commands.items()}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert result.returncode == 6, f"{name}: exit {result.returncode}: {err}"
        line = out.splitlines()[0] if name == "check" and out else first_error_line(result)
        assert str(meta) in line, f"{name}: {line}"
        if kind == "schema-99":
            assert "99" in line and "newer" in line, f"{name}: {line}"
    assert meta.read_bytes() == damaged
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == files_before
    repair = start_cli(env, store, "store", "check", "--repair")
    out, err = repair.communicate(timeout=120)
    if kind == "schema-99":
        assert repair.returncode == 6 and "newer" in err
        assert meta.read_bytes() == damaged
    else:
        assert repair.returncode == 0, err
        assert f"rebuilt {meta}" in out
        assert json.loads(meta.read_bytes())["next_ticket"] == 1004


# -- 6. a damaged listing index is repairable ------------------------------------------------------


def _insert_garbage_line(index: Path) -> None:
    lines = index.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    index.write_bytes(b"".join(lines[:middle] + [b"this is not json\n"] + lines[middle:]))


def _overwrite_middle(index: Path) -> None:
    data = bytearray(index.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 12] = b"\x00garbage\xff\x00{["
    index.write_bytes(bytes(data))


INDEX_DAMAGE = {
    "garbage-line": _insert_garbage_line,
    "overwritten-bytes": _overwrite_middle,
    "deleted": Path.unlink,
}


@pytest.mark.parametrize("kind", sorted(INDEX_DAMAGE))
def test_damaged_index_is_reported_repairable_and_rebuilt(tmp_path, env, kind):
    ids = ticket_ids(6)
    store = make_store(tmp_path / "store", ids)
    opened = JsonStore(store)
    for ticket_id in ("1002", "1004", "1002", "1005"):  # several lines per ticket
        opened.update_ticket(ticket_id, _writer.grow)
    index = store / "index.jsonl"
    assert len(index.read_bytes().splitlines()) > len(ids)
    INDEX_DAMAGE[kind](index)
    tickets_before = {p.name: p.read_bytes() for p in (store / "tickets").iterdir()}

    if kind != "deleted":
        listing = cli(env, store, "--user", AGENT, "tickets", "list", "--scope", "org")
        assert listing.returncode == 6
        line = first_error_line(listing)
        assert str(index) in line and "repair" in listing.stderr

    check = cli(env, store, "store", "check")
    assert check.returncode == 6
    first_error_line(check)
    assert any(str(index) in line and "repairable" in line for line in check.stdout.splitlines()), (
        check.stdout
    )

    repair = cli(env, store, "store", "check", "--repair")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert any(line.startswith("repaired:") for line in repair.stdout.splitlines()), repair.stdout

    rows = listed(env, store)
    docs = read_all_tickets(store)
    assert sorted(rows) == ids
    assert rows == {t: summary(docs[t]) for t in ids}
    assert {p.name: p.read_bytes() for p in (store / "tickets").iterdir()} == tickets_before
    assert_check_passes(env, store)


# -- 7. the lock ------------------------------------------------------------------------------------


def test_held_lock_times_out_naming_the_holder_and_a_dead_holder_blocks_nothing(tmp_path, env):
    store = make_store(tmp_path / "store", ticket_ids(3))
    source = tmp_path / "more.jsonl"
    source.write_bytes(jsonl([ticket_doc("3001")]))
    held = (store / "tickets" / "1001.json").read_bytes()
    holder = start_writer(env, "hold", store, "1001")  # stops inside update_ticket
    try:
        assert read_line(holder) == "locked"

        # Readers are not blocked by a writer at work.
        show = cli(env, store, "tickets", "show", "1001", user="alice")
        assert show.returncode == 0, show.stderr

        started = time.monotonic()
        blocked = cli(env, store, "store", "import", str(source), SUPPORTCTL_LOCK_TIMEOUT="0.5")
        waited = time.monotonic() - started
        assert blocked.returncode == 6, blocked.stderr
        line = first_error_line(blocked)
        assert f"pid {holder.pid}" in line, line
        assert waited >= 0.5
        assert "3001" not in read_all_tickets(store)
    finally:
        kill(holder)
    assert holder.returncode == KILLED

    # The kernel released the dead holder's flock: the next writer goes straight through.
    done = cli(env, store, "store", "import", str(source), SUPPORTCTL_LOCK_TIMEOUT="0.5")
    assert done.returncode == 0, done.stderr
    assert sorted(listed(env, store)) == ["1001", "1002", "1003", "3001"]
    assert (store / "tickets" / "1001.json").read_bytes() == held  # its change never landed
    assert_check_passes(env, store)


# -- other writers at work -------------------------------------------------------------------------


def test_store_check_while_a_writer_is_at_work_reports_no_damage(tmp_path, env):
    """A healthy store being written to is healthy: `store check` must not cry wolf."""
    store = make_store(tmp_path / "store", ticket_ids(200))
    writer = start_writer(env, "busy", store, *ticket_ids(3))
    try:
        assert read_line(writer) == "ready"
        checks = [cli(env, store, "store", "check") for _ in range(5)]
    finally:
        out, _ = kill(writer)
    assert len(out.splitlines()) > 10, "the writer was not writing during the checks"
    for result in checks:
        assert result.returncode == 0, result.stdout + result.stderr
    assert_check_passes(env, store)


def test_failed_import_into_a_new_store_keeps_what_another_process_imported(tmp_path, env):
    """Two `store import`s into a store that does not exist yet: the one that fails (a bad
    last line) must not take the other's successfully imported documents with it."""
    store = tmp_path / "store"
    big = tmp_path / "big-with-a-bad-last-line.jsonl"
    big.write_bytes(
        jsonl(BASE_DOCS + [ticket_doc(t) for t in ticket_ids(25000, first=100001)])
        + b'{"kind": "nonsense"}\n'
    )
    small = tmp_path / "small.jsonl"
    small.write_bytes(jsonl(BASE_DOCS + [ticket_doc("1001")]))

    failing = start_cli(env, store, "store", "import", str(big))
    try:
        ok = cli(env, store, "store", "import", str(small))
        if failing.poll() is not None:
            pytest.skip("the big import finished before the small one: no overlap to test")
        assert ok.returncode == 0, ok.stderr
        assert "imported" in ok.stderr
        _, err = failing.communicate(timeout=120)
    finally:
        if failing.poll() is None:
            kill(failing)
    assert failing.returncode == 2, err
    assert "nothing imported" in err

    export = cli(env, store, "store", "export")
    assert export.returncode == 0, f"the store that was imported into is gone: {export.stderr}"
    assert '"id":"1001"' in export.stdout.replace(" ", "")
