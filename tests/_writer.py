"""A standalone store writer for tests/test_store_safety.py, run as a separate process.

    python tests/_writer.py append STORE TICKET WORKER N GATE   8 of these race on one ticket
    python tests/_writer.py create STORE WORKER K GATE          concurrent create_ticket
    python tests/_writer.py loop STORE TICKET...                update forever (to be SIGKILLed)
    python tests/_writer.py busy STORE TICKET...                the same, pausing 5 ms between
    python tests/_writer.py hold STORE TICKET                   hold the store lock, then sleep
    python tests/_writer.py merge STORE IDS WORKER N GATE       N merges of random pairs (racing)
    python tests/_writer.py crash-at N OP STORE [ARG [NOTE]]    SIGKILL itself just before
                                                                the Nth file-system call of OP

GATE is a directory: a worker creates ``ready-WORKER`` there, then waits for ``go`` so that
every worker starts writing at the same instant.  Every message a worker appends has an id
that says who wrote it; the ``loop`` writer numbers messages by their position in the thread
(``<ticket>-<k>``) and sets ``updated_at`` from the thread length, so a reader can tell a lost,
duplicated or torn update from the files alone.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supportctl.models import Escalation, Message, Ticket
from supportctl.storage.jsonstore import JsonStore

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(seconds: int) -> str:
    return (BASE_TIME + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def message(msg_id: str, body: str = "hello") -> Message:
    return Message(id=msg_id, kind="email", author="alice", at=stamp(0), body=body)


def wait_at_gate(gate: Path, worker: str) -> None:
    (gate / f"ready-{worker}").touch()
    deadline = time.monotonic() + 60
    while not (gate / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("the gate never opened")
        time.sleep(0.001)


def append(store_path: str, ticket_id: str, worker: str, count: str, gate: str) -> None:
    store = JsonStore(store_path, lock_timeout=60)
    wait_at_gate(Path(gate), worker)
    for i in range(int(count)):

        def change(ticket: Ticket, i: int = i) -> Ticket:
            n = len(ticket.messages)
            return dataclasses.replace(
                ticket,
                messages=[*ticket.messages, message(f"w{worker}-{i}", f"from {worker}")],
                updated_at=stamp(n + 1),
            )

        store.update_ticket(ticket_id, change)


def create(store_path: str, worker: str, count: str, gate: str) -> None:
    store = JsonStore(store_path, lock_timeout=60)
    wait_at_gate(Path(gate), worker)
    for _ in range(int(count)):
        ticket = store.create_ticket(lambda number: new_ticket(number, f"created by {worker}"))
        print(ticket.id, flush=True)


def new_ticket(number: str, subject: str) -> Ticket:
    return Ticket(
        id=number,
        subject=subject,
        type="email",
        category="technical",
        status="new",
        priority="normal",
        requester="alice",
        org="acme",
        created_at=stamp(0),
        updated_at=stamp(0),
    )


def grow(ticket: Ticket) -> Ticket:
    """Append 1–3 messages numbered by position; status and updated_at follow the length."""
    n = len(ticket.messages)
    added = [message(f"{ticket.id}-{k}") for k in range(n, n + 1 + n % 3)]
    total = n + len(added)
    return dataclasses.replace(
        ticket,
        messages=[*ticket.messages, *added],
        status="open" if total % 2 else "pending",
        updated_at=stamp(total),
    )


def loop(store_path: str, *ticket_ids: str, pause: float = 0.0) -> None:
    store = JsonStore(store_path, lock_timeout=60)
    print("ready", flush=True)
    while True:
        for ticket_id in ticket_ids:
            done = store.update_ticket(ticket_id, grow)
            print(f"{ticket_id} {len(done.messages)}", flush=True)
            time.sleep(pause)


def escalate(ticket: Ticket, allocate) -> tuple[Ticket, Escalation]:  # noqa: ANN001
    """The ticket and a new escalation of it: two files that must change together."""
    esc = Escalation(
        id=allocate(),
        ticket_id=ticket.id,
        description="crash test",
        stage="submitted",
        timeline=[{"stage": "submitted", "at": stamp(1)}],
        created_at=stamp(1),
        updated_at=stamp(1),
    )
    ticket.status, ticket.escalation_id, ticket.updated_at = "escalated", esc.id, stamp(1)
    return ticket, esc


def merge_pair(ticket: Ticket, target: Ticket) -> tuple[Ticket, Ticket]:
    """A merge as the service makes it: two tickets that must change together."""
    ticket.status, ticket.resolution, ticket.duplicate_of = "closed", "duplicate", target.id
    ticket.closed_at = ticket.updated_at = stamp(2)
    ticket.messages.append(message(f"{ticket.id}-merged", f"Merged into ticket {target.id}"))
    target.cc = [*target.cc, "bob"]
    target.messages.append(message(f"{target.id}-merged", f"Ticket {ticket.id} was merged"))
    target.updated_at = stamp(2)
    return ticket, target


def merge(store_path: str, ids: str, worker: str, count: str, gate: str) -> None:
    """``count`` merges of random pairs of ``ids`` (a comma-separated ring shared by every
    worker) through the local service, as an agent; prints each outcome."""
    import random

    from supportctl.errors import SupportctlError
    from supportctl.service import LocalService

    if store_path.startswith("postgres"):
        from supportctl.storage.postgres import PostgresStore

        store = PostgresStore(store_path)
    else:
        store = JsonStore(store_path, lock_timeout=60)
    service = LocalService(store, "dana")
    pool = ids.split(",")
    rng = random.Random(int(worker))
    wait_at_gate(Path(gate), worker)
    for _ in range(int(count)):
        first, second = rng.sample(pool, 2)
        try:
            done = service.merge(first, second)
            print(f"{'merged' if done.changed else 'already'} {first} {second}", flush=True)
        except SupportctlError as exc:
            print(f"refused {first} {second} {int(exc.exit_status)} {exc.message}", flush=True)


def busy(store_path: str, *ticket_ids: str) -> None:
    """Like loop, with a short pause between updates (as people replying would leave)."""
    loop(store_path, *ticket_ids, pause=0.005)


def hold(store_path: str, ticket_id: str) -> None:
    store = JsonStore(store_path, lock_timeout=60)

    def slow(ticket: Ticket) -> None:
        print("locked", flush=True)
        time.sleep(120)
        return None

    store.update_ticket(ticket_id, slow)


# -- crash at a chosen instant --------------------------------------------------------------------

#: The file-system calls a store write is made of; the writer dies just before the Nth one.
CRASH_POINTS = ("open", "write", "fsync", "replace", "unlink", "truncate", "ftruncate", "sync")


def _describe(name: str, args: tuple) -> str:
    shown = []
    for arg in args[:2]:
        if isinstance(arg, (str, os.PathLike)):
            shown.append(os.path.basename(os.fspath(arg)))
        elif isinstance(arg, (bytes, memoryview)):
            shown.append(f"<{len(arg)} bytes>")
        else:
            shown.append(repr(arg))
    return f"os.{name}({', '.join(shown)})"


def arm(limit: int, note: str = "") -> dict:
    """Wrap the calls of CRASH_POINTS so that the process SIGKILLs itself just before the
    ``limit``-th one (after writing what that call was to ``note``); return the real ones."""
    calls = 0
    reals = {name: getattr(os, name) for name in CRASH_POINTS}
    for name, real in reals.items():

        def wrapper(*args, _name=name, _real=real, **kwargs):
            nonlocal calls
            calls += 1
            if calls == limit:
                if note:
                    fd = reals["open"](note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    reals["write"](fd, _describe(_name, args).encode())
                    os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
            return _real(*args, **kwargs)

        setattr(os, name, wrapper)
    return reals


def crash_at(limit: str, op: str, store_path: str, arg: str = "", note: str = "") -> None:
    """Run one store write (update, create, import or compact) and die at call ``limit``.

    ``compact`` is an update with the compaction threshold at zero, so that the write ends
    by rewriting the index.  Exits normally (printing ``finished``) when the write makes
    fewer calls than ``limit``.
    """
    from supportctl.storage import admin, jsonstore

    store = JsonStore(store_path, lock_timeout=60)
    lines = Path(arg).read_bytes().split(b"\n") if op == "import" else []
    if op == "compact":
        jsonstore.COMPACT_SLACK = 0
    reals = arm(int(limit), note)
    if op == "import":
        admin.import_lines(store, lines)
    elif op in ("update", "compact"):
        store.update_ticket(arg, grow)
    elif op == "create":
        store.create_ticket(lambda number: new_ticket(number, "created"))
    elif op == "escalate":
        store.update_with_escalation(arg, escalate)
    elif op == "merge":
        first, second = arg.split(",")
        store.update_pair(first, second, merge_pair)
    else:
        sys.exit(f"unknown op {op}")
    for name, real in reals.items():
        setattr(os, name, real)
    print("finished", flush=True)


if __name__ == "__main__":
    commands = {
        "append": append,
        "create": create,
        "loop": loop,
        "busy": busy,
        "hold": hold,
        "merge": merge,
    }
    if sys.argv[1] == "crash-at":
        crash_at(*sys.argv[2:])
    else:
        commands[sys.argv[1]](*sys.argv[2:])
