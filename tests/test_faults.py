"""Fault injection (issue 8 item 3): a full disk, a server killed with SIGKILL, hostile
attachment names over HTTP.

* Disk full: ``os.write``, ``os.fsync`` and ``os.replace`` on the store fail with ENOSPC at
  the Nth call, for every N the write makes (once, or from then on), during a reply and an
  import run through the CLI in-process.  The command must exit 6 with one line saying the
  disk is full; once the disk has room again the store must check healthy, the ticket be in
  its old or its new state, an import be all or nothing, and nothing be written outside the
  store.  A slow test fills a real tmpfs when one can be mounted.
* ``supportctl serve`` SIGKILLed while clients post replies, then restarted on the same
  store: every reply that was answered 201 is there exactly once.
* Multipart attachment names like ``../../etc/passwd``: refused (400) or kept under a safe
  name, and nothing written outside the store.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from supportctl.storage import jsonstore
from supportctl.storage.jsonstore import JsonStore
from tests.conftest import jsonl, message, run, small_store_docs, ticket, user

REPO = Path(__file__).resolve().parent.parent
BODY = "Disk-full reply"
FAULTY = ("write", "fsync", "replace")


# -- helpers ----------------------------------------------------------------------------------------


def files_under(root: Path, skip: Path | None = None) -> dict[str, bytes | None]:
    """Every file (and directory, as None) under ``root`` except those under ``skip``."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        found[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return found


def shown(problems: list[str], most: int = 12) -> str:
    more = f"\n… and {len(problems) - most} more" if len(problems) > most else ""
    return "\n".join(problems[:most]) + more


def ticket_doc(store: Path, ticket_id: str) -> dict | None:
    path = store / "tickets" / f"{ticket_id}.json"
    return json.loads(path.read_bytes()) if path.exists() else None


def blob(data: bytes) -> dict:
    return {
        "kind": "attachment",
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_base64": base64.b64encode(data).decode(),
    }


IMPORT_DATA = b"imported attachment bytes"
IMPORT_DOCS = [
    user("zed", "acme"),
    ticket("2001", "zed", "acme", messages=[message("m1", "zed", "imported one")]),
    ticket("2002", "bob", "acme", cc=["zed"]),
    blob(IMPORT_DATA),
]


class DiskFull:
    """``os.write``/``os.fsync``/``os.replace`` on files under ``root`` fail with ENOSPC at
    the ``at``-th such call (and, ``persist``, at every later one: the disk stays full)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path, at: int, persist: bool):
        self.root = str(root.resolve())
        self.at, self.persist = at, persist
        self.calls: list[str] = []
        self.injected = 0
        self.created_outside: list[str] = []
        reals = {name: getattr(os, name) for name in (*FAULTY, "open")}
        for name in FAULTY:
            monkeypatch.setattr(os, name, self._wrap(name, reals[name]))
        real_open = reals["open"]

        def tracking_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & os.O_CREAT and not self._inside(os.fspath(path)):
                self.created_outside.append(os.fspath(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", tracking_open)

    def _inside(self, path: str | bytes) -> bool:
        path = os.path.abspath(os.fsdecode(path))
        return path == self.root or path.startswith(self.root + os.sep)

    def _target(self, name: str, args: tuple) -> str:
        if name == "replace":
            return os.fsdecode(args[1])
        try:
            return os.readlink(f"/proc/self/fd/{args[0]}")
        except OSError:
            return self.root + os.sep + "?"  # no /proc: count every call

    def _wrap(self, name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self._inside(self._target(name, args)):
                self.calls.append(name)
                n = len(self.calls)
                if n == self.at or (self.persist and n > self.at):
                    self.injected += 1
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(*args, **kwargs)

        return wrapper


# -- disk full during a reply and during an import --------------------------------------------------


def _prepare(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A pristine store (or none, for an import that creates it) and the command to run."""
    pristine = tmp_path / "pristine"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "log.txt").write_bytes(b"attached log line\n" * 50)
    (inputs / "import.jsonl").write_text(jsonl(IMPORT_DOCS))
    (inputs / "whole.jsonl").write_text(jsonl(small_store_docs()))
    if kind != "import-new-store":
        result = run(
            "--store", str(pristine), "store", "import", "-", input=jsonl(small_store_docs())
        )
        assert result.exit_code == 0, result.stderr
    if kind == "reply-compacting":
        # A store whose index is due for compaction: the reply ends by rewriting it.
        monkeypatch.setattr(jsonstore, "COMPACT_SLACK", 0)
        index = pristine / "index.jsonl"
        index.write_bytes(index.read_bytes() * 2)  # the same summaries again: last one wins
    reply = ["--user", "bob", "tickets", "reply", "1001", "-m", BODY]
    args = {
        "reply": reply,
        "reply-attachment": [*reply, "--attach", str(inputs / "log.txt")],
        "reply-compacting": reply,
        "import": ["store", "import", str(inputs / "import.jsonl")],
        "import-new-store": ["store", "import", str(inputs / "whole.jsonl")],
    }[kind]
    return pristine, args


def _state_problems(kind: str, pristine: Path, store: Path) -> list[str]:
    """Old or new state, never anything else (after the next opener's recovery)."""
    problems = []
    if kind.startswith("reply"):
        old, new = ticket_doc(pristine, "1001"), ticket_doc(store, "1001")
        if new != old:
            added = new["messages"][len(old["messages"]) :]
            if new["messages"][: len(old["messages"])] != old["messages"] or len(added) != 1:
                problems.append(f"ticket 1001 is torn: {len(new['messages'])} messages")
            elif (added[0]["body"], added[0]["author"]) != (BODY, "bob"):
                problems.append(f"ticket 1001 holds a stranger: {added[0]}")
            elif kind == "reply-attachment":
                (attached,) = added[0]["attachments"]
                kept = store / "blobs" / attached["sha256"][:2] / attached["sha256"]
                if not kept.exists():
                    problems.append("the reply names an attachment whose bytes are not kept")
            if [e["action"] for e in new["events"][len(old["events"]) :]] != ["replied"]:
                problems.append(f"ticket 1001 events: {new['events'][len(old['events']) :]}")
            other = {k for k in new if new[k] != old[k]} - {"messages", "events", "updated_at"}
            if other:
                problems.append(f"ticket 1001 changed in {sorted(other)} as well")
        for path in (pristine / "tickets").glob("*.json"):
            if (
                path.stem != "1001"
                and (store / "tickets" / path.name).read_bytes() != path.read_bytes()
            ):
                problems.append(f"ticket {path.stem} changed, though the reply was to 1001")
    elif kind == "import":
        store_api = JsonStore(store)
        present = {
            "user zed": store_api.get_user("zed") is not None,
            "ticket 2001": store_api.get_ticket("2001") is not None,
            "ticket 2002": store_api.get_ticket("2002") is not None,
            "listed 2001": "2001" in store_api.ticket_ids(),
            "attachment": store_api.get_blob(hashlib.sha256(IMPORT_DATA).hexdigest()) is not None,
        }
        if len(set(present.values())) != 1:
            problems.append(f"a partial import: {present}")
        for path in (pristine / "tickets").glob("*.json"):
            if (store / "tickets" / path.name).read_bytes() != path.read_bytes():
                problems.append(f"ticket {path.stem} changed by an import that adds others")
    return problems


def _run_with_disk_full(
    tmp_path: Path, args: list[str], at: int, persist: bool, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    pristine = tmp_path / "pristine"
    store = tmp_path / f"store-{at}-{int(persist)}"
    if pristine.exists():
        shutil.copytree(pristine, store)
    outside_before = files_under(tmp_path, skip=store)
    with monkeypatch.context() as patch:
        patch.setattr(os, "sync", lambda: None)  # not a fault point; spares a system-wide sync
        fault = DiskFull(patch, store, at, persist)
        result = run("--store", str(store), *args)
    outside_after = files_under(tmp_path, skip=store)
    return {
        "store": store,
        "result": result,
        "fault": fault,
        "outside": sorted(set(outside_after) ^ set(outside_before))
        + [k for k in outside_before if outside_after.get(k) != outside_before[k]],
    }


#: Importing is the long one (every call of a whole import is a fault point): slow.
DISK_FULL_KINDS = [
    "reply",
    "reply-attachment",
    "reply-compacting",
    pytest.param("import", marks=pytest.mark.slow),
    pytest.param("import-new-store", marks=pytest.mark.slow),
]


def _disk_full_runs(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch, modes: tuple[bool, ...]
) -> list[dict]:
    """Run the command once without a fault (to count its calls), then once per call N and
    per mode (the disk full for that call only, or from then on); return every outcome."""
    _pristine, args = _prepare(tmp_path, kind, monkeypatch)
    clean = _run_with_disk_full(tmp_path, args, 10**9, False, monkeypatch)
    assert clean["result"].exit_code == 0, clean["result"].stderr
    total = len(clean["fault"].calls)
    assert total >= 8, f"{kind} made only {total} calls: {clean['fault'].calls}"
    runs = []
    for persist in modes:
        for at in range(1, total + 1):
            outcome = _run_with_disk_full(tmp_path, args, at, persist, monkeypatch)
            outcome.update(at=at, persist=persist, call=clean["fault"].calls[at - 1], total=total)
            runs.append(outcome)
    return runs


def _where(outcome: dict) -> str:
    mode = "from then on" if outcome["persist"] else "once"
    return f"ENOSPC at call {outcome['at']}/{outcome['total']} (os.{outcome['call']}, {mode})"


@pytest.mark.parametrize(
    "persist", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["once", "stays-full"]
)
@pytest.mark.parametrize("kind", DISK_FULL_KINDS)
def test_disk_full_fails_cleanly_and_leaves_old_or_new_state(tmp_path, monkeypatch, kind, persist):
    """ENOSPC at every write/fsync/replace of the command: exit 6, one line that says the
    disk is full; afterwards a healthy store in the old or the new state, nothing outside."""
    runs = _disk_full_runs(tmp_path, kind, monkeypatch, (persist,))
    pristine = tmp_path / "pristine"
    problems = []
    for outcome in runs:
        where, result, store = _where(outcome), outcome["result"], outcome["store"]
        assert outcome["fault"].injected, f"{where}: the fault was never met"
        lines = result.stderr.strip().splitlines()
        compaction_only = kind == "reply-compacting" and result.exit_code == 0
        if compaction_only:
            # The reply is written; only the optional compaction after it met the full disk,
            # and the longer index it leaves is as correct (tried again by a later write).
            if ticket_doc(store, "1001") == ticket_doc(pristine, "1001"):
                problems.append(f"{where}: exit 0 but the reply is not there")
        elif result.exit_code != 6:
            problems.append(f"{where}: exit {result.exit_code}: {result.stderr.strip()}")
        elif len(lines) != 1 or not lines[0].startswith("supportctl: error: "):
            problems.append(f"{where}: not one error line: {lines}")
        elif "disk is full" not in lines[0]:
            problems.append(f"{where}: the error does not say the disk is full: {lines[0]}")
        if outcome["outside"] or outcome["fault"].created_outside:
            problems.append(
                f"{where}: wrote outside the store: {outcome['outside']} "
                f"{outcome['fault'].created_outside}"
            )
        # The disk has room again: the next command finds the store valid.
        if kind == "import-new-store":
            retry = run(
                "--store", str(store), "store", "import", str(tmp_path / "inputs" / "whole.jsonl")
            )
            done = ticket_doc(store, "1001") is not None
            if retry.exit_code != 0 and not done:
                problems.append(
                    f"{where}: nothing was imported, yet importing again fails: "
                    f"exit {retry.exit_code}: {retry.stderr.strip()}"
                )
                continue
        check = run("--store", str(store), "store", "check")
        if check.exit_code != 0:
            problems.append(
                f"{where}: store check exit {check.exit_code}: {check.stdout}{check.stderr}"
            )
            continue
        show = run("--store", str(store), "--user", "dana", "tickets", "show", "1001", "-o", "json")
        if show.exit_code != 0:
            problems.append(f"{where}: tickets show exit {show.exit_code}: {show.stderr}")
        problems += [f"{where}: {p}" for p in _state_problems(kind, pristine, store)]
        if kind == "import-new-store":
            listed = JsonStore(store).ticket_ids()
            if listed != {"1001", "1002", "1003", "1004", "1005", "1006"}:
                problems.append(f"{where}: after the import the store lists {sorted(listed)}")
        if not problems:
            shutil.rmtree(store)
    injected = sum(o["fault"].injected for o in runs)
    print(f"{kind}: {len(runs)} runs, {injected} ENOSPC injected")
    assert not problems, f"{len(problems)} of {len(runs)} runs went wrong:\n" + shown(problems)


@pytest.mark.parametrize("kind", ["reply", "import"])
def test_disk_full_error_says_what_happened(tmp_path, monkeypatch, kind):
    """The error says "the store was left as it was": then the change must not be there once
    the store is opened again — else a script that retries replies twice or, for an import,
    is told that every document "already exists"."""
    runs = _disk_full_runs(tmp_path, kind, monkeypatch, (False,))
    pristine = tmp_path / "pristine"
    wrong = []
    for outcome in runs:
        result, store = outcome["result"], outcome["store"]
        if "left as it was" not in result.stderr:
            continue
        JsonStore(store)  # the next opener finishes or rolls back what was interrupted
        if kind == "reply":
            changed = ticket_doc(store, "1001") != ticket_doc(pristine, "1001")
        else:
            changed = ticket_doc(store, "2001") is not None
        if changed:
            wrong.append(f"{_where(outcome)}: {result.stderr.strip()!r}, yet the {kind} was done")
    assert not wrong, f"{len(wrong)} of {len(runs)} errors said the wrong thing:\n" + shown(wrong)


# -- a real full disk: a small tmpfs ------------------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Any:
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(directory: Path, leave: int) -> Path:
    """Fill the file system of ``directory`` up, then give back ``leave`` bytes."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = b"\0" * 65536
        for _ in range(100_000):
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                chunk = chunk[: len(chunk) // 2]
                if not chunk:
                    break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)
    return filler


@pytest.mark.slow
def test_a_really_full_tmpfs_during_replies_and_imports(tmp_path):
    """A 2 MiB tmpfs filled up but for 0…96 KiB, then a 30 KB reply and a 30 KB import:
    what does not fit fails with exit 6 and "disk is full"; once the filler is gone the store
    checks healthy, the ticket holds its old or new thread, each import is all or nothing."""
    with small_tmpfs(tmp_path / "mnt", "2m") as mnt:
        store = mnt / "store"
        docs = small_store_docs()
        thread = [message(f"m{i}", "bob", "x" * 2000) for i in range(1, 11)]
        docs[[d.get("id") for d in docs].index("1001")]["messages"] = thread
        assert run("--store", str(store), "store", "import", "-", input=jsonl(docs)).exit_code == 0
        rng = random.Random(3)
        outcomes: Counter[str] = Counter()
        problems = []
        for k, leave in enumerate(range(0, 96 * 1024 + 1, 4096)):
            before = ticket_doc(store, "1001")
            data = rng.randbytes(8000)
            extra = [
                user(f"z{k}", "acme"),
                ticket(
                    str(3000 + k), f"z{k}", "acme", messages=[message("m1", f"z{k}", "z" * 20_000)]
                ),
                blob(data),
            ]
            (tmp_path / "extra.jsonl").write_text(jsonl(extra))
            body = f"reply with {leave} bytes free " + "y" * 30_000
            filler = fill(mnt, leave)
            reply = run(
                "--store", str(store), "--user", "bob", "tickets", "reply", "1001", "-m", body
            )
            imported = run("--store", str(store), "store", "import", str(tmp_path / "extra.jsonl"))
            filler.unlink()
            for what, result in (("reply", reply), ("import", imported)):
                outcomes[f"{what} exit {result.exit_code}"] += 1
                if result.exit_code == 6 and "disk is full" not in result.stderr:
                    problems.append(f"{leave} B free, {what}: {result.stderr.strip()}")
                elif result.exit_code not in (0, 6):
                    problems.append(
                        f"{leave} B free, {what}: exit {result.exit_code} {result.stderr}"
                    )
            check = run("--store", str(store), "store", "check")
            if check.exit_code != 0:
                problems.append(f"{leave} B free: store check: {check.stdout}{check.stderr}")
                break
            after = ticket_doc(store, "1001")
            grew = after["messages"][len(before["messages"]) :]
            if after["messages"][: len(before["messages"])] != before["messages"] or len(grew) > 1:
                problems.append(f"{leave} B free: ticket 1001 is torn")
            if reply.exit_code == 0 and [m["body"] for m in grew] != [body]:
                problems.append(f"{leave} B free: the acknowledged reply is missing")
            if reply.exit_code != 0 and grew:
                outcomes["reply failed yet kept"] += 1
            opened = JsonStore(store)
            present = {
                "user": opened.get_user(f"z{k}") is not None,
                "ticket": opened.get_ticket(str(3000 + k)) is not None,
                "listed": str(3000 + k) in opened.ticket_ids(),
                "attachment": opened.get_blob(hashlib.sha256(data).hexdigest()) is not None,
            }
            if len(set(present.values())) != 1:
                problems.append(f"{leave} B free: a partial import {present}")
            elif imported.exit_code == 0 and not present["ticket"]:
                problems.append(f"{leave} B free: the import said done, but nothing is there")
            elif imported.exit_code != 0 and present["ticket"]:
                outcomes["import failed yet kept"] += 1
        print(f"tmpfs: {dict(outcomes)}")
        assert outcomes["reply exit 6"] and outcomes["import exit 6"], outcomes
        assert outcomes["reply exit 0"] and outcomes["import exit 0"], outcomes
        assert not problems, f"{outcomes}\n" + "\n".join(problems)


# -- the server under kill -9 -------------------------------------------------------------------------


def cli(env: dict[str, str], store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supportctl", "--store", str(store), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_token(env: dict[str, str], store: Path, username: str) -> str:
    result = cli(env, store, "store", "token", "create", username)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


class Server:
    """`python -m supportctl --store STORE serve --port 0` (or another command line)."""

    def __init__(
        self, env: dict[str, str], store: Path, log: Path, command: list[str] | None = None
    ):
        self.log = log
        self.proc = subprocess.Popen(
            command
            or [sys.executable, "-m", "supportctl", "--store", str(store), "serve", "--port", "0"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),  # a file: access-log lines never fill a pipe
        )
        deadline = time.monotonic() + 60
        while True:
            text = log.read_text(errors="replace")
            found = re.search(r"^serving .* on (http://([0-9.]+):(\d+)/api/v1)", text, re.MULTILINE)
            if found:
                self.url, self.host, self.port = found[1], found[2], int(found[3])
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the server did not start (exit {self.proc.returncode}): {text}")
            time.sleep(0.02)

    def request(
        self, method: str, path: str, token: str, body: Any = None, headers: dict | None = None
    ) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            sent = {"Authorization": f"Bearer {token}", **(headers or {})}
            if data is not None:
                sent["Content-Type"] = "application/json"
            conn.request(method, "/api/v1" + path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
        finally:
            conn.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Poster(threading.Thread):
    """Posts replies to one ticket in a loop, on one keep-alive connection, until told to
    stop or the server goes away; records each body and the status it got (None: no answer)."""

    def __init__(self, server: Server, token: str, ticket_id: str, prefix: str, limit: int = 5000):
        super().__init__(daemon=True)
        self.server, self.token, self.ticket_id, self.prefix = server, token, ticket_id, prefix
        self.limit = limit
        self.sent: list[list[Any]] = []  # [body, status]
        self.halt = threading.Event()

    def acked(self) -> int:
        return sum(status == 201 for _body, status in self.sent)

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        try:
            for i in range(self.limit):
                if self.halt.is_set():
                    return
                body = f"{self.prefix}-{i}"
                self.sent.append([body, None])
                try:
                    conn.request(
                        "POST",
                        f"/api/v1/tickets/{self.ticket_id}/messages",
                        body=json.dumps({"body": body}).encode(),
                        headers=headers,
                    )
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    return  # the server is gone
                self.sent[-1][1] = response.status
        finally:
            conn.close()


@pytest.mark.slow
def test_server_killed_with_sigkill_loses_no_acknowledged_reply(tmp_path, child_env):
    store = tmp_path / "store"
    assert (
        run(
            "--store", str(store), "store", "import", "-", input=jsonl(small_store_docs())
        ).exit_code
        == 0
    )
    tokens = {name: make_token(child_env, store, name) for name in ("bob", "carol", "dana")}
    rng = random.Random(8)
    posters: list[Poster] = []
    kills = 0
    for round_ in range(5):
        server = Server(child_env, store, tmp_path / f"server-{round_}.log")
        try:
            # Every reply answered 201 so far (by earlier servers) is there exactly once.
            _assert_replies(server, tokens["dana"], posters)
            threads = [
                Poster(server, tokens["bob"], "1001", f"r{round_}-bob"),
                Poster(server, tokens["dana"], "1001", f"r{round_}-dana"),
                Poster(server, tokens["carol"], "1002", f"r{round_}-carol"),
            ]
            for thread in threads:
                thread.start()
            wanted = rng.randint(5, 60)
            deadline = time.monotonic() + 60
            while sum(t.acked() for t in threads) < wanted and time.monotonic() < deadline:
                if not any(t.is_alive() for t in threads):
                    break
                time.sleep(0.002)
            time.sleep(rng.random() * 0.05)  # somewhere inside a request
            server.kill()
            kills += 1
            for thread in threads:
                thread.join(30)
                assert not thread.is_alive(), "a client thread hangs after the kill"
            assert sum(t.acked() for t in threads) >= 5, [t.sent[-3:] for t in threads]
            posters += threads
        finally:
            server.kill()
        if round_ % 2:  # sometimes `store check` is the first to open the store after the kill
            check = cli(child_env, store, "store", "check")
            assert check.returncode == 0, check.stdout + check.stderr
    server = Server(child_env, store, tmp_path / "server-last.log")
    try:
        checked, kept = _assert_replies(server, tokens["dana"], posters)
    finally:
        server.stop()
    check = cli(child_env, store, "store", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    statuses = Counter(status for p in posters for _b, status in p.sent)
    print(
        f"{kills} kills, {checked} acknowledged replies checked, statuses {dict(statuses)}, "
        f"{kept} unanswered replies kept"
    )
    assert set(statuses) <= {201, None}, statuses


def _assert_replies(server: Server, token: str, posters: list[Poster]) -> tuple[int, int]:
    """Each reply answered 201 is in its ticket once; none is there twice.  Returns how many
    answered replies were checked, and how many unanswered ones were kept all the same."""
    bodies: dict[str, Counter[str]] = {}
    for ticket_id in ("1001", "1002"):
        status, doc = server.request("GET", f"/tickets/{ticket_id}", token)
        assert status == 200, doc
        bodies[ticket_id] = Counter(m["body"] for m in doc["messages"])
    problems = []
    checked = kept_unanswered = 0
    for poster in posters:
        for body, status in poster.sent:
            count = bodies[poster.ticket_id][body]
            if status == 201:
                checked += 1
                if count != 1:
                    problems.append(f"{body} was answered 201 but is there {count} times")
            elif count > 1:
                problems.append(f"{body} (no answer) is there {count} times")
            else:
                kept_unanswered += count
    assert not problems, "\n".join(problems)
    return checked, kept_unanswered


KILLED_AT_A_COMMIT_POINT = """
import os, signal, sys
from supportctl.storage import jsonstore
real = jsonstore.atomic_write
point = sys.argv[2]
seen = {"idempotency": 0}
def atomic_write(path, data, **kwargs):
    where = os.fspath(path)
    if "/idempotency/" in where:
        seen["idempotency"] += 1
    if (
        (point == "journal" and where.endswith("journal.json"))
        or (point == "ticket" and where.endswith("/tickets/1001.json"))
        or (point == "record" and seen["idempotency"] == 1)
        or (point == "answer" and seen["idempotency"] == 2)
    ):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, data, **kwargs)
jsonstore.atomic_write = atomic_write
from supportctl.cli import main
sys.argv = ["supportctl", "--store", sys.argv[1], "serve", "--port", "0"]
main()
"""

#: Where the server dies while it answers a POST (each a write of the json store, in order):
#: the journal that decides the change, the ticket file, the request's record committed with
#: it, and the whole answer kept after it.
COMMIT_POINTS = ("journal", "ticket", "record", "answer")


@pytest.mark.slow
@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_retry_with_the_same_idempotency_key_after_a_kill_replies_once(tmp_path, child_env, point):
    """README: "POSTs carry an Idempotency-Key reused on every try, so a lost answer never
    creates a ticket twice".  The server is killed -9 at each commit point of a reply; the
    client, having no answer, retries with the same key against the restarted server: the
    reply must be there exactly once, and the retry answered 201."""
    store = tmp_path / "store"
    assert (
        run(
            "--store", str(store), "store", "import", "-", input=jsonl(small_store_docs())
        ).exit_code
        == 0
    )
    token = make_token(child_env, store, "bob")
    command = [sys.executable, "-c", KILLED_AT_A_COMMIT_POINT, str(store), point]
    dying = Server(child_env, store, tmp_path / "dying.log", command)
    key = {"Idempotency-Key": f"retry-after-kill-{point}"}
    reply = {"body": "Sent once, retried once"}
    try:
        with pytest.raises((OSError, http.client.HTTPException)):
            dying.request("POST", "/tickets/1001/messages", token, reply, key)
    finally:
        dying.kill()
    assert dying.proc.returncode == -signal.SIGKILL
    server = Server(child_env, store, tmp_path / "server.log")
    try:
        status, doc = server.request("POST", "/tickets/1001/messages", token, reply, key)
        assert status == 201, doc
        again, _ = server.request("POST", "/tickets/1001/messages", token, reply, key)
        assert again == 201
        status, doc = server.request("GET", "/tickets/1001", token)
    finally:
        server.stop()
    count = sum(m["body"] == reply["body"] for m in doc["messages"])
    assert count == 1, f"killed at {point}: the reply is there {count} times after retries"


@pytest.mark.slow
@pytest.mark.parametrize("point", COMMIT_POINTS)
def test_a_merge_killed_at_each_commit_point_is_both_tickets_or_neither(tmp_path, child_env, point):
    """SPEC §16: a merge changes two tickets in one atomic step. The server is killed -9 at
    each commit point of `POST /tickets/1005/merge` (the journal, the target's file, the
    record, the answer); after the kill both tickets are old or both new, and the retry with
    the same key leaves exactly one merge."""
    store = tmp_path / "store"
    docs = small_store_docs()
    assert run("--store", str(store), "store", "import", "-", input=jsonl(docs)).exit_code == 0
    token = make_token(child_env, store, "dana")
    command = [sys.executable, "-c", KILLED_AT_A_COMMIT_POINT, str(store), point]
    dying = Server(child_env, store, tmp_path / "dying.log", command)
    key = {"Idempotency-Key": f"merge-{point}"}
    try:
        with pytest.raises((OSError, http.client.HTTPException)):
            dying.request("POST", "/tickets/1005/merge", token, {"into": "1001"}, key)
    finally:
        dying.kill()
    assert dying.proc.returncode == -signal.SIGKILL
    server = Server(child_env, store, tmp_path / "server.log")
    try:
        _, duplicate = server.request("GET", "/tickets/1005", token)
        _, target = server.request("GET", "/tickets/1001", token)
        merged = duplicate["duplicate_of"] == "1001"
        told = "merged" in [e["action"] for e in target["events"]]
        assert merged == told, f"killed at {point}: a torn merge ({merged=}, {told=})"
        status, answer = server.request("POST", "/tickets/1005/merge", token, {"into": "1001"}, key)
        assert status == 200, answer
        _, target = server.request("GET", "/tickets/1001", token)
    finally:
        server.stop()
    assert answer["ticket"]["duplicate_of"] == "1001"
    assert [e["action"] for e in target["events"]].count("merged") == 1
    assert target["cc"] == ["carol", "fed"]
    check = cli(child_env, store, "store", "check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    ["/tickets", "/tickets/1001/close", "/tickets/1001/escalations", "/tickets/1005/merge"],
)
def test_create_close_and_escalate_are_applied_once_across_a_kill(tmp_path, child_env, path):
    """The same for the other POSTs that change a ticket: killed after the change and its
    record committed, before the answer was kept."""
    store = tmp_path / "store"
    docs = small_store_docs()
    assert run("--store", str(store), "store", "import", "-", input=jsonl(docs)).exit_code == 0
    user = "dana"  # an agent: may create, close and escalate
    token = make_token(child_env, store, user)
    body = {
        "/tickets": {"subject": "Once only", "body": "hello"},
        "/tickets/1001/close": {"comment": "Closing once"},
        "/tickets/1001/escalations": {"description": "Escalated once"},
        "/tickets/1005/merge": {"into": "1001"},
    }[path]
    command = [sys.executable, "-c", KILLED_AT_A_COMMIT_POINT, str(store), "answer"]
    dying = Server(child_env, store, tmp_path / "dying.log", command)
    key = {"Idempotency-Key": "once"}
    try:
        with pytest.raises((OSError, http.client.HTTPException)):
            dying.request("POST", path, token, body, key)
    finally:
        dying.kill()
    server = Server(child_env, store, tmp_path / "server.log")
    try:
        status, answer = server.request("POST", path, token, body, key)
        assert status in (200, 201), answer
        status, listed = server.request("GET", "/tickets?scope=org&limit=100", token)
        status, first = server.request("GET", "/tickets/1001", token)
    finally:
        server.stop()
    if path == "/tickets":
        assert sum(t["subject"] == "Once only" for t in listed["items"]) == 1
    elif path.endswith("close"):
        assert sum(m["body"] == "Closing once" for m in first["messages"]) == 1
        assert first["status"] == "closed"
    elif path.endswith("merge"):  # both tickets changed once: the answer rebuilt from them
        assert [e["action"] for e in first["events"]].count("merged") == 1
        assert answer["ticket"]["duplicate_of"] == "1001" and answer["target"]["id"] == "1001"
        assert answer["target"]["cc"] == first["cc"] == ["carol", "fed"]
    else:
        assert [e["action"] for e in first["events"]].count("escalated") == 1
        assert answer["description"] == "Escalated once"


# -- hostile attachment names over HTTP -----------------------------------------------------------------

HOSTILE_NAMES = {
    "dot-dot-passwd": b"../../etc/passwd",
    "dot-dot-passwd-txt": b"../../etc/passwd.txt",
    "dot-dot-deep": b"../../../../../../../../tmp/evil.txt",
    "absolute": b"/abs/x.txt",
    "backslashes": b"..\\..\\windows\\evil.txt",
    "bell": b"a\x07b.txt",
    "escape": b"\x1b[31mred.txt",
    "nul": b"a\x00b.txt",
    "nul-before-ext": b"x.txt\x00.png",
    "newline": b"a\nb.txt",
    "dot": b".",
    "dot-dot": b"..",
    "empty": b"",
    "c1-control": "a\u009b31mb.txt".encode(),
}
RFC2231 = "UTF-8''..%2F..%2Fetc%2Fevil.txt"


def multipart(name: bytes, *, star: bool = False) -> tuple[bytes, str]:
    """A reply with one attachment whose file name is exactly ``name`` (raw bytes), or
    given as an RFC 2231 ``filename*`` parameter."""
    boundary = b"hostile-boundary-1234"
    disposition = b"filename*=" + RFC2231.encode() if star else b'filename="' + name + b'"'
    body = b"".join(
        [
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="body"\r\n\r\n',
            b"Here is the file\r\n",
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="attach"; ' + disposition + b"\r\n",
            b"Content-Type: text/plain\r\n\r\n",
            b"hostile bytes\r\n",
            b"--" + boundary + b"--\r\n",
        ]
    )
    return body, f"multipart/form-data; boundary={boundary.decode()}"


@pytest.fixture
def live_server(store: Path, tmp_path: Path):
    from supportctl.server.app import create_app
    from supportctl.server.serving import make_server
    from supportctl.storage import admin

    _record, token = admin.create_token(JsonStore(store), "bob")
    server = make_server("127.0.0.1", 0, create_app(store, log=lambda line: None))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[1], token
    finally:
        server.shutdown()
        thread.join(30)
        server.server_close()


def _post(port: int, token: str, path: str, body: bytes, ctype: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": ctype},
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def _get(port: int, token: str, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _unsafe(name: str) -> str | None:
    if name in ("", ".", ".."):
        return "empty or a dot name"
    if "/" in name or "\\" in name:
        return "a path separator"
    bad = [c for c in name if unicodedata.category(c) == "Cc"]
    if bad:
        return f"control characters {bad!r}"
    return None


@pytest.mark.parametrize("case", [*HOSTILE_NAMES, "rfc2231-dot-dot"])
def test_hostile_attachment_names_over_http(store, tmp_path, live_server, case):
    port, token = live_server
    before_outside = files_under(tmp_path, skip=store)
    passwd = os.stat("/etc/passwd").st_mtime_ns if os.path.exists("/etc/passwd") else None
    before_ticket = ticket_doc(store, "1001")
    if case == "rfc2231-dot-dot":
        body, ctype = multipart(b"", star=True)
    else:
        body, ctype = multipart(HOSTILE_NAMES[case])
    status, doc = _post(port, token, "/api/v1/tickets/1001/messages", body, ctype)
    assert status in (201, 400), (status, doc)
    after = ticket_doc(store, "1001")
    if status == 400:
        assert doc["status"] == 400 and doc["detail"], doc
        assert after == before_ticket, "a refused message changed the ticket"
    else:
        (added,) = after["messages"][len(before_ticket["messages"]) :]
        (attached,) = added["attachments"]
        problem = _unsafe(attached["name"])
        assert problem is None, f"{case}: kept as {attached['name']!r}: {problem}"
        got, data = _get(
            port, token, f"/api/v1/tickets/1001/attachments/{quote(attached['name'], safe='')}"
        )
        assert (got, data) == (200, b"hostile bytes")
    # Nothing outside the store, and nothing in it under a name taken from the request.
    assert files_under(tmp_path, skip=store) == before_outside
    for path in store.rglob("*"):
        assert re.fullmatch(r"[A-Za-z0-9._-]+", path.name), f"store file {path}"
        assert "passwd" not in path.name and "evil" not in path.name, path
    assert not Path("/abs/x.txt").exists()
    if passwd is not None:
        assert os.stat("/etc/passwd").st_mtime_ns == passwd


def test_attachment_download_by_a_path_name_is_not_found(store, live_server):
    port, token = live_server
    for name in ("../../etc/passwd", "..", "/etc/passwd", "..%2f..%2fstore.json", "%00"):
        status, data = _get(
            port, token, f"/api/v1/tickets/1001/attachments/{quote(name, safe='%')}"
        )
        assert status == 404, (name, status, data[:200])
        assert b"root:" not in data
