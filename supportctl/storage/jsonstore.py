"""The local JSON store (SPEC §6): one directory, one file per ticket.

Layout of a store directory::

    store.json          schema version and id counters            (rewritten atomically)
    store.lock          sidecar lock: every write holds it exclusively (flock)
    journal.json        present only while a write is in progress: what to roll back or forward
    orgs.json           list of orgs                                (rewritten atomically)
    users.json          list of users                               (rewritten atomically)
    tickets/<id>.json   one ticket, thread and events included     (rewritten atomically)
    escalations/<id>.json
    index.jsonl         derived listing index: one summary line per ticket change,
                        the last line of an id wins; compacted when it doubles

Safety properties, each tested with real processes:

* no lost update: every read-modify-write holds ``store.lock`` (a sidecar, never the data
  file: ``os.replace`` swaps inodes, so a lock on the data file would protect nothing);
* no torn ticket: every file is written to a temp file in the same directory, fsynced and
  ``os.replace``d; the index is append-only and a torn last line is ignored;
* the index never disagrees with the tickets after a crash: a write first records in
  ``journal.json`` what it touches; whoever takes the lock next and finds a journal replays
  it (re-indexes touched tickets from their files, rolls back an unfinished import);
* cost of one change does not grow with the store: one ticket file, one appended index
  line (compaction is amortised: it runs once the index has doubled);
* a file that does not parse, or a newer schema, is reported with its path and never
  overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from supportctl.errors import NotFound, StoreDamaged, Unavailable, UsageError
from supportctl.fsutil import atomic_write
from supportctl.models import AttachmentBlob, Escalation, Org, Ticket, User, id_sort_key
from supportctl.storage.base import (
    IDEMPOTENCY_TTL,
    CheckReport,
    DuplicateDocuments,
    Prefilter,
    RequestRecorded,
    Storage,
    TokenRecord,
)

# 1 → 2: index lines carry each ticket's SLA marks (`_sla`);
# 2 → 3: account-team members are contacts (a bare name becomes {name, email: null, …});
# 3 → 4: tickets have `duplicate_of` (`tickets merge`): index lines are rebuilt to carry it.
SCHEMA = 4
FIRST_TICKET_ID = 1001
FIRST_ESCALATION_NUMBER = 1001
COMPACT_SLACK = 1 << 20  # bytes of index growth tolerated before compaction is considered

# Every index line starts with the ticket's id (the first field, compact JSON, safe chars).
_INDEX_PREFIX = b'{"id":"'

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DUMPS_KW: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


# json.dumps(doc, **_DUMPS_KW) without making an encoder for each call.
_encode = json.JSONEncoder(**_DUMPS_KW).encode


def _dumps(doc: Any) -> bytes:
    return _encode(doc).encode("utf-8")


def _write_error(path: Path, exc: OSError, *, decided: bool = False) -> Unavailable:
    """The error of a failed write; ``decided``: its journal was already committed, so the
    next opener of the store finishes it (rather than undoing it)."""
    if exc.errno == errno.ENOSPC:
        why = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "permission denied"
    else:
        why = exc.strerror or str(exc)
    if decided:
        return Unavailable(
            f"could not finish writing {path}: {why}; the change is recorded and is completed "
            "the next time the store is opened (do not repeat it)"
        )
    return Unavailable(f"could not write {path}: {why}; the store was left as it was")


class JsonStore(Storage):
    """The json store: one directory of JSON files (the embedded default backend)."""

    def __init__(
        self, root: Path | str, *, lock_timeout: float = 10.0, checking: bool = False
    ) -> None:
        self.root = Path(root)
        #: Opened by `store check`: a damaged store.json is reported (and with --repair
        #: rebuilt from the files) instead of refusing to open. A newer schema still refuses.
        self.checking = checking
        self.meta_damage: str | None = None
        self.location = str(self.root)
        self.lock_timeout = lock_timeout
        self.meta_path = self.root / "store.json"
        self.lock_path = self.root / "store.lock"
        self.journal_path = self.root / "journal.json"
        self.users_path = self.root / "users.json"
        self.orgs_path = self.root / "orgs.json"
        self.tickets_dir = self.root / "tickets"
        self.escalations_dir = self.root / "escalations"
        self.index_path = self.root / "index.jsonl"
        self.blobs_dir = self.root / "blobs"
        self.tokens_path = self.root / "tokens.json"
        self.requests_dir = self.root / "idempotency"
        self._record_next: tuple[str, Callable[[Ticket], dict[str, Any]]] | None = None
        self._tokens: tuple[tuple[int, int], list[TokenRecord]] | None = None
        self._tokens_guard = threading.Lock()
        self._lock_depth = 0
        self._lock_fd: int | None = None
        self._users: dict[str, User] | None = None
        self._orgs: dict[str, Org] | None = None
        self._meta = self._read_meta()
        self._recover_if_abandoned()
        if self._meta["schema"] < SCHEMA:
            self._migrate()

    # -- creation -----------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Any, *, create: bool = False, checking: bool = False) -> JsonStore:
        """The store the resolved settings name (``--store``); ``create`` makes it if
        there is none; ``checking`` opens it for `store check` even if store.json is
        damaged."""
        if create:
            return cls.create(settings.store_path, lock_timeout=settings.lock_timeout)
        return cls(settings.store_path, lock_timeout=settings.lock_timeout, checking=checking)

    @classmethod
    def exists_for(cls, settings: Any) -> bool:
        return cls.exists(settings.store_path)

    @staticmethod
    def exists(root: Path | str) -> bool:
        return (Path(root) / "store.json").exists()

    @classmethod
    def create(cls, root: Path | str, **kwargs: Any) -> JsonStore:
        """Create an empty store at ``root`` (a new or empty directory)."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise UsageError(f"the store {root} is a file, not a store directory")
        if (root / "store.json").exists():
            return cls(root, **kwargs)
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
            leftovers = [p.name for p in root.iterdir() if not p.name.startswith(".tmp-")]
            if leftovers:
                raise UsageError(
                    f"{root} is not empty and is not a supportctl store "
                    f"(it holds {', '.join(sorted(leftovers)[:5])}); choose another --store"
                )
            for sub in ("tickets", "escalations"):
                (root / sub).mkdir(exist_ok=True, mode=0o700)
            atomic_write(root / "users.json", b"[]\n")
            atomic_write(root / "orgs.json", b"[]\n")
            meta = {
                "schema": SCHEMA,
                "next_ticket": FIRST_TICKET_ID,
                "next_escalation": FIRST_ESCALATION_NUMBER,
                "index_base": 0,
            }
            # store.json last: its presence is what makes the directory a store.
            atomic_write(root / "store.json", _dumps(meta) + b"\n")
        except OSError as exc:
            # Nothing of a half-made store may stay: it would block the next `store init`.
            for name in ("store.json", "users.json", "orgs.json"):
                with contextlib.suppress(OSError):
                    (root / name).unlink()
            for sub in ("tickets", "escalations"):
                with contextlib.suppress(OSError):
                    (root / sub).rmdir()
            for leftover in root.glob(".tmp-*"):
                with contextlib.suppress(OSError):
                    leftover.unlink()
            raise _write_error(root, exc) from None
        return cls(root, **kwargs)

    # -- reading helpers ----------------------------------------------------------------------
    def _read_json(self, path: Path) -> Any:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreDamaged(str(path), "is missing") from None
        except OSError as exc:
            raise Unavailable(f"cannot read {path}: {exc.strerror}") from None
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise StoreDamaged(str(path), "is damaged (not valid JSON)") from None

    def _read_meta(self) -> dict[str, Any]:
        try:
            return self._parse_meta()
        except _NewerSchema:
            raise
        except StoreDamaged as exc:
            if not (self.checking and exc.path == str(self.meta_path) and self.meta_path.exists()):
                raise
            self.meta_damage = exc.why
            return {
                "schema": SCHEMA,
                "next_ticket": FIRST_TICKET_ID,
                "next_escalation": FIRST_ESCALATION_NUMBER,
                "index_base": 0,
            }

    def _parse_meta(self) -> dict[str, Any]:
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"the store {self.root} is a file, not a store directory")
        if not self.meta_path.exists():
            if self.root.is_dir() and any(
                p.name not in ("store.lock",) for p in self.root.iterdir()
            ):
                raise StoreDamaged(
                    str(self.meta_path), "is missing: this is not a supportctl store"
                )
            raise Unavailable(
                f"no store at {self.root}",
                hint="create one with `supportctl store init` (or `store init --demo`), "
                "or point --store at an existing one",
            )
        meta = self._read_json(self.meta_path)
        schema = meta.get("schema") if isinstance(meta, dict) else None
        if not isinstance(schema, int) or isinstance(schema, bool):
            raise StoreDamaged(str(self.meta_path), "is damaged (no schema version)")
        if schema > SCHEMA:
            raise _NewerSchema(
                str(self.meta_path),
                f"has schema version {schema}, newer than this supportctl understands "
                f"({SCHEMA}); upgrade supportctl",
            )
        for key in ("next_ticket", "next_escalation", "index_base"):
            if not isinstance(meta.get(key), int):
                raise StoreDamaged(str(self.meta_path), f"is damaged (bad {key!r})")
        return meta

    def _directory(self, path: Path, cls: type, key: str) -> dict[str, Any]:
        docs = self._read_json(path)
        if not isinstance(docs, list):
            raise StoreDamaged(str(path), "is damaged (not a list)")
        try:
            return {d[key]: cls.from_dict(d, validate=False) for d in docs}
        except (KeyError, TypeError):
            raise StoreDamaged(str(path), "is damaged (bad document)") from None

    def _users_map(self) -> dict[str, User]:
        if self._users is None:
            self._users = self._directory(self.users_path, User, "username")
        return self._users

    def _orgs_map(self) -> dict[str, Org]:
        if self._orgs is None:
            self._orgs = self._directory(self.orgs_path, Org, "id")
        return self._orgs

    def ticket_path(self, ticket_id: str) -> Path | None:
        if not isinstance(ticket_id, str) or not _SAFE_ID.match(ticket_id):
            return None
        return self.tickets_dir / f"{ticket_id}.json"

    def escalation_path(self, escalation_id: str) -> Path | None:
        if not isinstance(escalation_id, str) or not _SAFE_ID.match(escalation_id):
            return None
        return self.escalations_dir / f"{escalation_id}.json"

    def _load_doc(self, path: Path | None, cls: type) -> Any:
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Unavailable(f"cannot read {path}: {exc.strerror}") from None
        try:
            return cls.from_dict(json.loads(data), validate=False)
        except (ValueError, UnicodeDecodeError, TypeError, KeyError, AttributeError):
            raise StoreDamaged(str(path), "is damaged (not a valid document)") from None

    def _index_lines(self) -> dict[bytes, bytes]:
        """Raw index lines by ticket id, the last line of an id winning.

        A torn last line (no newline yet: a writer is at work or died) is ignored.
        """
        try:
            with open(self.index_path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            self._refuse_missing_index()
            return {}
        end = data.rfind(b"\n") + 1
        lines = data[: end - 1].split(b"\n") if end else []
        # Every line starts with its id (the first field, compact JSON): slicing it off is
        # three times faster than a regular expression over the whole buffer.
        if not all(line.startswith(_INDEX_PREFIX) for line in lines):
            raise self._index_damaged()
        try:
            return {line[7 : line.index(b'"', 7)]: line for line in lines}
        except ValueError:
            raise self._index_damaged() from None

    def _refuse_missing_index(self) -> None:
        """No index is an empty store, unless there are tickets: then it was lost."""
        if self._has_ticket_files():
            raise StoreDamaged(
                str(self.index_path),
                "is missing; it is derived from the tickets: "
                "`supportctl store check --repair` rebuilds it",
            )

    def _has_ticket_files(self) -> bool:
        with contextlib.suppress(FileNotFoundError), os.scandir(self.tickets_dir) as entries:
            return any(e.name.endswith(".json") for e in entries)
        return False

    def _index_damaged(self) -> StoreDamaged:
        return StoreDamaged(
            str(self.index_path),
            "is damaged; it is derived from the tickets: "
            "`supportctl store check --repair` rebuilds it",
        )

    def _decode_lines(self, lines: Iterable[bytes]) -> list[dict[str, Any]]:
        joined = b"[" + b",".join(lines) + b"]"
        collecting = gc.isenabled()
        gc.disable()  # tens of thousands of fresh dicts: the cycle collector only slows this
        try:
            return json.loads(joined)
        except (ValueError, UnicodeDecodeError):
            raise self._index_damaged() from None
        finally:
            if collecting:
                gc.enable()

    def _read_index(self) -> dict[str, dict[str, Any]]:
        """Last summary of every ticket, decoded."""
        return {row["id"]: row for row in self._decode_lines(self._index_lines().values())}

    # -- Storage: directory --------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        return self._users_map().get(username)

    def list_users(self) -> list[User]:
        return sorted(self._users_map().values(), key=lambda u: u.username)

    def get_org(self, org_id: str) -> Org | None:
        return self._orgs_map().get(org_id)

    def list_orgs(self) -> list[Org]:
        return sorted(self._orgs_map().values(), key=lambda o: o.id)

    # -- Storage: tickets ----------------------------------------------------------------------
    def get_ticket(self, ticket_id: str) -> Ticket | None:
        return self._load_doc(self.ticket_path(ticket_id), Ticket)

    def ticket_summaries(self, prefilter: Prefilter | None = None) -> Iterator[dict[str, Any]]:
        """The last summary of every ticket that may match ``prefilter``, decoded lazily.

        The index is read in blocks, and only lines holding the prefilter's byte-level
        necessary conditions (on their compact JSON) are kept and decoded: memory follows
        the matches, not the store."""
        keep = _line_filter(prefilter)
        batch: list[bytes] = []
        for line in self._scan_index(keep):
            batch.append(line)
            if len(batch) >= _DECODE_BATCH:
                yield from self._decode_lines(batch)
                batch = []
        if batch:
            yield from self._decode_lines(batch)

    def _scan_index(self, keep: Callable[[bytes], bool] | None) -> Iterator[bytes]:
        """The last line of every ticket id that ``keep`` accepts, reading in blocks.

        Lines before the clean offset (``index_clean`` in store.json: the end of the last
        compaction, plus imports of new ids appended right after it) hold each id at most
        once; only the tail written since may repeat an id, and its last line wins. The
        tail is read first, remembering its ids (and the kept lines); the clean part is
        then streamed without looking at ids the tail does not hold."""
        try:
            handle = open(self.index_path, "rb")  # noqa: SIM115 (closed below, a generator)
        except FileNotFoundError:
            self._refuse_missing_index()
            return
        with handle:
            clean = self._clean_offset(handle)
            tail: dict[bytes, bytes | None] = {}
            handle.seek(clean)
            for lines in _line_blocks(handle):
                for line in lines:
                    tail[self._line_id(line)] = line if keep is None or keep(line) else None
            handle.seek(0)
            for lines in _line_blocks(handle, limit=clean):
                for line in lines:
                    if not line.startswith(_INDEX_PREFIX):
                        raise self._index_damaged()
                    if keep is not None and not keep(line):
                        continue
                    if tail and self._line_id(line) in tail:
                        continue  # a later line of the tail holds this ticket
                    yield line
            for line in tail.values():
                if line is not None:
                    yield line

    def _index_identity(self) -> tuple[int, int]:
        """The index file's inode and size, creating it (empty) if need be."""
        fd = os.open(self.index_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        return info.st_ino, info.st_size

    def _recorded_clean(self, ino: int) -> int:
        """The clean offset store.json records for the index file ``ino`` (0 if none)."""
        clean = self._meta.get("index_clean")
        if self._meta.get("index_ino") != ino or not isinstance(clean, int):
            return 0
        return clean

    def clean_prefix_problem(self) -> str | None:
        """What breaks the promise of ``index_clean`` (each id at most once before it, on a
        line boundary), or None; for `store check`."""
        try:
            handle = open(self.index_path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            return None
        with handle:
            clean = self._clean_offset(handle)
            recorded = self._meta.get("index_clean")
            if clean == 0 and isinstance(recorded, int) and recorded > 0:
                if self._meta.get("index_ino") == os.fstat(handle.fileno()).st_ino:
                    return "its clean offset in store.json is not at the end of a line"
                return None
            seen: set[bytes] = set()
            handle.seek(0)
            for lines in _line_blocks(handle, limit=clean):
                for line in lines:
                    key = self._line_id(line)
                    if key in seen:
                        return f"ticket {key.decode(errors='replace')} appears twice before its clean offset"
                    seen.add(key)
        return None

    def _line_id(self, line: bytes) -> bytes:
        """The ticket id an index line starts with (its first field, compact JSON)."""
        end = line.find(b'"', 7)
        if end < 0 or not line.startswith(_INDEX_PREFIX):
            raise self._index_damaged()
        return line[7:end]

    def _clean_offset(self, handle: Any) -> int:
        """Where the duplicate-free part of the open index ends (0 when unknown).

        The offset is trusted only for the very file it was recorded for (its inode): a
        compaction between reading store.json and opening the index cannot mislead it."""
        info = os.fstat(handle.fileno())
        meta = self._meta
        if meta.get("index_ino") != info.st_ino:
            with contextlib.suppress(StoreDamaged, Unavailable, UsageError):
                meta = self._read_meta()
            if meta.get("index_ino") != info.st_ino:
                return 0
        clean = meta.get("index_clean")
        if not isinstance(clean, int) or isinstance(clean, bool) or clean <= 0:
            return 0
        clean = min(clean, info.st_size)
        handle.seek(clean - 1)
        if handle.read(1) != b"\n":
            return 0  # not a line boundary: do not trust it
        return clean

    def index_row(self, ticket: Ticket, agents: set[str] | None = None) -> dict[str, Any]:
        """A ticket's listing line: its summary plus its SLA marks (``_sla``, SPEC §10)."""
        from supportctl.sla import marks

        if agents is None:
            agents = {u.username for u in self._users_map().values() if u.role == "agent"}
        row = ticket.summary()
        row["_sla"] = marks(ticket, agents)
        return row

    def _encoded(self, ticket: Ticket, agents: set[str]) -> tuple[bytes, bytes]:
        """``_dumps(ticket.to_dict())`` and ``_dumps(self.index_row(ticket, agents))``, byte for
        byte, with their common part (the summary, the first fields of both) made and encoded
        once: an import writes both for every ticket."""
        from supportctl.sla import marks

        doc = ticket.to_dict()
        messages, events = doc.pop("messages"), doc.pop("events")  # the rest is the summary
        head = _encode(doc)[:-1]  # without its "}"
        whole = f'{head},"messages":{_encode(messages)},"events":{_encode(events)}}}'
        row = f'{head},"_sla":{_encode(marks(ticket, agents))}}}'
        return whole.encode("utf-8"), row.encode("utf-8")

    def ticket_ids(self) -> set[str]:
        return {key.decode() for key in self._index_lines()}

    def update_ticket(self, ticket_id: str, change: Callable[[Ticket], Ticket | None]) -> Ticket:
        with self._locked():
            path = self.ticket_path(ticket_id)
            current = self._load_doc(path, Ticket)
            if current is None:
                raise NotFound(f"ticket {ticket_id} not found")
            changed = change(current)
            if changed is None:
                return current
            self._commit_tickets([changed], journal={"touched": [changed.id]})
            return changed

    def update_pair(
        self,
        ticket_id: str,
        other_id: str,
        change: Callable[[Ticket, Ticket], tuple[Ticket, Ticket] | None],
    ) -> tuple[Ticket, Ticket]:
        """Two tickets changed together under the lock, through a redo journal holding both
        in full: a crash before the journal is in place leaves both old, after it the next
        opener writes both (as ``update_with_escalation`` does for a ticket and its
        escalation)."""
        with self._locked():
            first = self._load_doc(self.ticket_path(ticket_id), Ticket)
            if first is None:
                raise NotFound(f"ticket {ticket_id} not found")
            second = self._load_doc(self.ticket_path(other_id), Ticket)
            if second is None:
                raise NotFound(f"ticket {other_id} not found")
            result = change(first, second)
            if result is None:
                return first, second
            changed = list(result)
            journal: dict[str, Any] = {
                "phase": "commit",
                "index_size": self._index_size(),
                "touched": [t.id for t in changed],
                "redo": {"tickets": [t.to_dict() for t in changed], "escalations": []},
            }
            self._take_record(changed[0], journal)
            decided = False
            try:
                self._begin(journal)
                decided = True
                self._roll_forward(journal, [self.index_row(t) for t in changed])
                self._end()
            except OSError as exc:
                raise _write_error(self.root, exc, decided=decided or self._decided()) from None
            self._maybe_compact()
            return changed[0], changed[1]

    def create_ticket(self, make: Callable[[str], Ticket]) -> Ticket:
        with self._locked():
            meta = dict(self._meta)
            number = meta["next_ticket"]
            while (self.tickets_dir / f"{number}.json").exists():
                number += 1
            ticket = make(str(number))
            meta["next_ticket"] = number + 1
            self._commit_tickets(
                [ticket], journal={"touched": [ticket.id], "meta": meta}, meta=meta
            )
            return ticket

    def _commit_tickets(
        self, tickets: list[Ticket], *, journal: dict[str, Any], meta: dict[str, Any] | None = None
    ) -> None:
        """Write tickets and their index lines under the lock, journalled for crash recovery.

        With a request record armed (``record_with_next_change``) the journal holds the
        ticket in full and the record, and the roll forward writes both."""
        index_size = self._index_size()
        decided = False
        journal = dict(journal, phase="commit", index_size=index_size)
        try:
            if self._take_record(tickets[0], journal):
                self._begin(journal)
                decided = True
                self._roll_forward(journal, [self.index_row(t) for t in tickets])
                self._end()
                self._maybe_compact()
                return
            self._begin(journal)
            decided = True
            for ticket in tickets:
                atomic_write(self.tickets_dir / f"{ticket.id}.json", _dumps(ticket.to_dict()))
            if meta is not None:
                self._write_meta(meta)
            self._append_index([self.index_row(t) for t in tickets])
            self._end()
        except OSError as exc:
            # Leave the journal: the next writer (or `store check --repair`) replays it.
            raise _write_error(self.root, exc, decided=decided or self._decided()) from None
        self._maybe_compact()

    def update_with_escalation(
        self,
        ticket_id: str,
        change: Callable[[Ticket, Callable[[], str]], tuple[Ticket, Escalation | None] | None],
    ) -> tuple[Ticket, Escalation | None]:
        """Change a ticket and one escalation together, atomically (a redo journal).

        ``change`` gets the current ticket and a function that allocates a new ``CP-…`` id.
        """
        with self._locked():
            current = self._load_doc(self.ticket_path(ticket_id), Ticket)
            if current is None:
                raise NotFound(f"ticket {ticket_id} not found")
            meta = dict(self._meta)

            def allocate() -> str:
                number = meta["next_escalation"]
                while (self.escalations_dir / f"CP-{number}.json").exists():
                    number += 1
                meta["next_escalation"] = number + 1
                return f"CP-{number}"

            result = change(current, allocate)
            if result is None:
                return current, None
            ticket, escalation = result
            journal: dict[str, Any] = {
                "phase": "commit",
                "index_size": self._index_size(),
                "touched": [ticket.id],
                # Both documents in full: a crash at any point is finished from here.
                "redo": {
                    "tickets": [ticket.to_dict()],
                    "escalations": [escalation.to_dict()] if escalation is not None else [],
                },
            }
            if meta != self._meta:
                journal["meta"] = meta
            self._take_record(ticket, journal)
            decided = False
            try:
                self._begin(journal)
                decided = True
                self._roll_forward(journal, [self.index_row(ticket)])
                self._end()
            except OSError as exc:
                raise _write_error(self.root, exc, decided=decided or self._decided()) from None
            self._maybe_compact()
            return ticket, escalation

    # -- Storage: attachment bytes ------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path | None:
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            return None
        return self.blobs_dir / sha256[:2] / sha256

    def put_blob(self, sha256: str, data: bytes) -> None:
        """Content-addressed and written before any ticket names it, so no lock is needed."""
        path = self.blob_path(sha256)
        if path is None:
            raise ValueError(f"not a SHA-256: {sha256!r}")
        if path.exists():
            return
        try:
            self.blobs_dir.mkdir(exist_ok=True, mode=0o700)
            path.parent.mkdir(exist_ok=True, mode=0o700)
            atomic_write(path, data)
        except OSError as exc:
            raise _write_error(path, exc) from None

    def get_blob(self, sha256: str) -> bytes | None:
        path = self.blob_path(sha256)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise Unavailable(f"cannot read {path}: {exc.strerror}") from None

    # -- Storage: escalations ------------------------------------------------------------------
    def get_escalation(self, escalation_id: str) -> Escalation | None:
        return self._load_doc(self.escalation_path(escalation_id), Escalation)

    def list_escalations(self) -> list[Escalation]:
        out = []
        for path in sorted(self.escalations_dir.glob("*.json")):
            esc = self._load_doc(path, Escalation)
            if esc is not None:
                out.append(esc)
        return out

    # -- Storage: users and orgs (SPEC §14) ------------------------------------------------------
    def update_user(self, username: str, change: Callable[[User], User | None]) -> User:
        """Apply ``change`` to a user under the lock; ``None`` means nothing changed."""
        return self._update_directory(
            "user", username, self._users_map, self.users_path, "_users", User, change
        )

    def update_org(self, org_id: str, change: Callable[[Org], Org | None]) -> Org:
        """Apply ``change`` to an org under the lock; ``None`` means nothing changed."""
        return self._update_directory(
            "org", org_id, self._orgs_map, self.orgs_path, "_orgs", Org, change
        )

    def _update_directory(
        self,
        kind: str,
        key: str,
        current: Callable[[], dict[str, Any]],
        path: Path,
        cache: str,
        cls: Any,
        change: Callable[[Any], Any],
    ) -> Any:
        """One document of users.json or orgs.json, changed on a copy and the whole file
        rewritten atomically (and its in-memory copy replaced) when it changed."""
        with self._locked():
            documents = current()
            if key not in documents:
                raise NotFound(f"{kind} {key} not found")
            copy = cls.from_dict(json.loads(_dumps(documents[key].to_dict())), validate=False)
            changed = change(copy)
            if changed is None:
                return documents[key]
            documents = {**documents, key: changed}
            try:
                atomic_write(path, _directory_bytes(documents))
            except OSError as exc:
                raise _write_error(path, exc) from None
            setattr(self, cache, documents)
            return changed

    # -- Storage: whole store -----------------------------------------------------------------
    def import_documents(self, docs: list[tuple[str, Any]]) -> dict[str, int]:
        """All or nothing: files are written under a journal that rolls back on a crash."""
        collecting = gc.isenabled()
        gc.disable()  # millions of live objects, none of them garbage: a full collection
        try:  # walks them all, several times over an import of 100,000 tickets
            return self._import_documents(docs)
        finally:
            if collecting:
                gc.enable()

    def _import_documents(self, docs: list[tuple[str, Any]]) -> dict[str, int]:
        with self._locked():
            duplicates = self._duplicates(docs)
            if duplicates:
                raise DuplicateDocuments(duplicates)
            batch = _ImportBatch(docs, users=self._users_map(), orgs=self._orgs_map())
            # Bytes already kept (content-addressed) are neither written nor rolled back.
            batch.blobs = {k: v for k, v in batch.blobs.items() if not self.blob_path(k).exists()}
            meta = batch.counters(dict(self._meta))
            journal = {
                "index_size": self._index_size(),
                "created": batch.created_files(),
                "touched": [t.id for t in batch.tickets],
            }
            decided = False
            try:
                self._begin(dict(journal, phase="prepare"))
                index_data = self._write_import_files(batch)
                meta["index_base"] += len(index_data)
                ino, size = self._index_identity()
                if size == self._recorded_clean(ino):  # no tail yet: the new lines stay clean
                    meta.update(index_clean=size + len(index_data), index_ino=ino)
                # From here on the import is decided: recovery rolls forward.
                self._begin(dict(journal, phase="commit", meta=meta))
                decided = True
                self._roll_forward(journal | {"meta": meta}, index_lines=index_data)
                self._end()
            except OSError as exc:
                raise _write_error(self.root, exc, decided=decided or self._decided()) from None
            self._users = self._orgs = None
            return batch.counts

    def _write_import_files(self, batch: _ImportBatch) -> bytes:
        """Every new file of an import (directories as ``*.json.new``, which the roll
        forward moves into place), synced once; returns the index lines to append."""
        for digest, data in batch.blobs.items():
            path = self.blob_path(digest)
            self.blobs_dir.mkdir(exist_ok=True, mode=0o700)
            path.parent.mkdir(exist_ok=True, mode=0o700)
            atomic_write(path, data, durable=False)
        agents = {u.username for u in batch.users.values() if u.role == "agent"}
        tickets_dir = os.fspath(self.tickets_dir)
        index_lines = []
        for ticket in batch.tickets:
            data, row = self._encoded(ticket, agents)
            atomic_write(f"{tickets_dir}/{ticket.id}.json", data, durable=False)
            index_lines.append(row)
        for esc in batch.escalations:
            atomic_write(
                self.escalations_dir / f"{esc.id}.json", _dumps(esc.to_dict()), durable=False
            )
        if batch.counts["user"]:
            atomic_write(self.users_path.with_suffix(".json.new"), _directory_bytes(batch.users))
        if batch.counts["org"]:
            atomic_write(self.orgs_path.with_suffix(".json.new"), _directory_bytes(batch.orgs))
        os.sync()  # the bulk files above skipped their own fsync
        # New ids only: the appended lines keep the index free of duplicates, so they count
        # towards its compacted size (no compaction right after import).
        index_lines.append(b"")  # each line ends with a newline
        return b"\n".join(index_lines)

    def _duplicates(self, docs: list[tuple[str, Any]]) -> list[int]:
        """Positions of documents whose id already exists (in the store or earlier in docs)."""
        seen: dict[str, set[str]] = {
            "ticket": self.ticket_ids() | {p.stem for p in self.tickets_dir.glob("*.json")},
            "escalation": {p.stem for p in self.escalations_dir.glob("*.json")},
            "user": set(self._users_map()),
            "org": set(self._orgs_map()),
        }
        bad = []
        for position, (kind, doc) in enumerate(docs):
            if kind == "attachment":
                continue  # content-addressed: the same bytes twice are the same document
            key = doc.username if kind == "user" else doc.id
            if key in seen[kind]:
                bad.append(position)
            seen[kind].add(key)
        return bad

    def export_documents(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for org in self.list_orgs():
            yield "org", org.to_dict()
        for user in self.list_users():
            yield "user", user.to_dict()
        for ticket_id in sorted(self.ticket_ids(), key=id_sort_key):
            ticket = self.get_ticket(ticket_id)
            if ticket is not None:
                yield "ticket", ticket.to_dict()
        for esc in self.list_escalations():
            yield "escalation", esc.to_dict()
        if self.blobs_dir.is_dir():
            for path in sorted(self.blobs_dir.glob("*/*")):
                if _SHA256.match(path.name):
                    yield "attachment", AttachmentBlob(path.name, path.read_bytes()).to_dict()

    @property
    def is_demo(self) -> bool:
        """True for a store made by `store init --demo`."""
        return bool(self._meta.get("demo"))

    def mark_demo(self) -> None:
        with self._locked():
            self._write_meta(dict(self._meta, demo=True))

    def is_empty(self) -> bool:
        return not self._users_map() and not self._orgs_map() and not self._index_lines()

    def _migrate(self) -> None:
        """Bring an older store up to SCHEMA, one step at a time, under the lock."""
        with self._locked():
            while self._meta["schema"] < SCHEMA:
                step = self._meta["schema"]
                if step in (1, 3):
                    # The index gained SLA marks (1), duplicate_of (3): rebuild it from the
                    # ticket files.
                    rows = []
                    for path in self.tickets_dir.glob("*.json"):
                        ticket = self._load_doc(path, Ticket)
                        if ticket is not None:
                            rows.append(self.index_row(ticket))
                    self._rewrite_index(rows)
                elif step == 2:
                    # Org.from_dict reads a bare team name as a contact; write that back.
                    orgs = self._directory(self.orgs_path, Org, "id")
                    atomic_write(self.orgs_path, _directory_bytes(orgs))
                    self._orgs = None
                self._write_meta(dict(self._meta, schema=step + 1))

    # -- idempotency records --------------------------------------------------------------------
    def _request_path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", key):
            raise ValueError(f"not a request key: {key!r}")
        return self.requests_dir / f"{key}.json"

    def get_request(self, key: str) -> dict[str, Any] | None:
        try:
            record = json.loads(self._request_path(key).read_bytes())
        except (FileNotFoundError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def put_request(self, key: str, record: dict[str, Any]) -> None:
        self.requests_dir.mkdir(exist_ok=True, mode=0o700)
        atomic_write(self._request_path(key), json.dumps(record).encode())

    def prune_requests(self, older_than: float) -> None:
        if not self.requests_dir.is_dir():
            return
        for path in self.requests_dir.glob("*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < older_than:
                    path.unlink()

    def record_with_next_change(self, key: str, make: Callable[[Ticket], dict[str, Any]]) -> None:
        self._request_path(key)  # checks the key
        self._record_next = (key, make)

    def _take_record(self, ticket: Ticket, journal: dict[str, Any]) -> bool:
        """Put the armed request record (and the ticket in full) into ``journal``: the
        roll forward writes both, so they commit together or not at all."""
        if self._record_next is None:
            return False
        key, make = self._record_next
        self._record_next = None
        made = make(ticket)
        # Another server on this store may have served the same request meanwhile (a
        # client's retry that raced its first try): then this change is not made.
        existing = self.get_request(key)
        stored = float(made.get("stored", time.time()))
        if existing and existing.get("stored", 0) > stored - IDEMPOTENCY_TTL:
            raise RequestRecorded(key)
        journal.setdefault("redo", {}).setdefault("tickets", [ticket.to_dict()])
        journal["requests"] = {key: made}
        return True

    # -- API tokens -----------------------------------------------------------------------------
    def list_tokens(self) -> list[TokenRecord]:
        """``tokens.json``, re-read only when it changed (a server asks on every request)."""
        try:
            stat = os.stat(self.tokens_path)
        except FileNotFoundError:
            return []
        key = (stat.st_mtime_ns, stat.st_size)
        with self._tokens_guard:
            if self._tokens and self._tokens[0] == key:
                return list(self._tokens[1])
            try:
                records = [TokenRecord(**r) for r in json.loads(self.tokens_path.read_bytes())]
            except (ValueError, TypeError):
                raise StoreDamaged(
                    str(self.tokens_path), "is damaged (not a list of tokens)"
                ) from None
            self._tokens = (key, records)
            return list(records)

    def save_tokens(self, records: list[TokenRecord]) -> None:
        data = json.dumps([vars(r) for r in records], indent=1).encode() + b"\n"
        atomic_write(self.tokens_path, data)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Hold the store's lock across several calls (they nest), e.g. check-then-import."""
        return self._locked()

    # -- locking and the journal --------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        fd = self._acquire_lock(blocking=True)
        self._lock_fd, self._lock_depth = fd, 1
        try:
            self._meta = self._read_meta()
            self._users = self._orgs = None
            if self.journal_path.exists():
                self._recover()
            else:
                # Writes outside a journal (the journal itself, counters, compaction) leave
                # their temp file in the root when killed; only the lock holder may sweep.
                self._remove_temp_files(folders=(self.root,))
            yield
        finally:
            self._lock_depth, self._lock_fd = 0, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _acquire_lock(self, *, blocking: bool) -> int:
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise Unavailable(
                f"cannot open the store lock {self.lock_path}: {exc.strerror}"
            ) from None
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    if not blocking:
                        raise
                    raise Unavailable(
                        f"the store {self.root} has been locked by another process{holder} "
                        f"for more than {self.lock_timeout:g} s; try again",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _recover_if_abandoned(self) -> None:
        """A reader that finds a journal replays it if its writer is gone (lock free)."""
        if not self.journal_path.exists():
            return
        try:
            fd = self._acquire_lock(blocking=False)
        except (BlockingIOError, Unavailable):
            return  # a writer is at work; readers see the old or the new state
        try:
            if self.journal_path.exists():
                self._recover()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _decided(self) -> bool:
        """Is a committed journal in place (so the next opener finishes the write)?"""
        try:
            return json.loads(self.journal_path.read_bytes()).get("phase") == "commit"
        except (OSError, ValueError, AttributeError):
            return False

    def _begin(self, journal: dict[str, Any]) -> None:
        atomic_write(self.journal_path, _dumps(journal))

    def _end(self) -> None:
        os.unlink(self.journal_path)

    def _read_journal(self) -> dict[str, Any]:
        journal = self._read_json(self.journal_path)
        if not isinstance(journal, dict) or journal.get("phase") not in ("prepare", "commit"):
            raise StoreDamaged(str(self.journal_path), "is damaged")
        return journal

    def _recover(self) -> list[str]:
        """Replay an interrupted write (lock held). Returns what was done, for `store check`."""
        journal = self._read_journal()
        done = []
        try:
            if journal["phase"] == "prepare":
                for rel in journal.get("created", []):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.root / rel)
                for path in (self.users_path, self.orgs_path):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path.with_suffix(".json.new"))
                self._truncate_index(journal["index_size"])
                done.append(
                    f"rolled back an interrupted import ({len(journal.get('created', []))} files)"
                )
            else:
                self._roll_forward(journal)
                done.append(
                    "finished an interrupted write of "
                    f"{len(journal.get('touched', []))} ticket(s) (index brought up to date)"
                )
            self._remove_temp_files()
            self._end()
        except OSError as exc:
            raise _write_error(self.root, exc) from None
        self._meta = self._read_meta()
        self._users = self._orgs = None
        return done

    def _roll_forward(
        self,
        journal: dict[str, Any],
        summaries: list[dict[str, Any]] | None = None,
        *,
        index_lines: bytes | None = None,
    ) -> None:
        """Finish a decided write: directory files, counters, then index lines of the tickets
        (``summaries``, or ``index_lines`` already encoded)."""
        self._truncate_index(journal["index_size"])
        for path in (self.users_path, self.orgs_path):
            new = path.with_suffix(".json.new")
            if new.exists():
                os.replace(new, path)
        if "meta" in journal:
            self._write_meta(journal["meta"])
        redo = journal.get("redo", {})
        for doc in redo.get("escalations", []):
            atomic_write(self.escalations_dir / f"{doc['id']}.json", _dumps(doc))
        for doc in redo.get("tickets", []):
            atomic_write(self.tickets_dir / f"{doc['id']}.json", _dumps(doc))
        if journal.get("requests"):
            self.requests_dir.mkdir(exist_ok=True, mode=0o700)
            for key, record in journal["requests"].items():
                atomic_write(self._request_path(key), json.dumps(record).encode())
        if index_lines is not None:
            self._append_index_lines(index_lines)
            return
        if summaries is None:  # replaying after a crash: the files hold the old or new state
            summaries = []
            for ticket_id in journal.get("touched", []):
                ticket = self._load_doc(self.ticket_path(ticket_id), Ticket)
                if ticket is not None:
                    summaries.append(self.index_row(ticket))
        self._append_index(summaries)
        meta = journal.get("meta") or {}
        clean = meta.get("index_clean")
        advanced = isinstance(clean, int) and clean > journal["index_size"]
        if advanced and self._index_size() != clean:
            # A replayed import whose ticket files are not all there: its lines are fewer
            # than the clean offset it recorded. Forget the offset (the next write compacts).
            self._write_meta(
                {k: v for k, v in self._meta.items() if k not in ("index_clean", "index_ino")}
            )

    def _remove_temp_files(self, folders: tuple[Path, ...] | None = None) -> list[Path]:
        removed = []
        for folder in folders or (self.root, self.tickets_dir, self.escalations_dir):
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(folder):
                    if entry.name.startswith(".tmp-"):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
        return removed

    # -- index maintenance --------------------------------------------------------------------
    def _index_size(self) -> int:
        try:
            return os.stat(self.index_path).st_size
        except FileNotFoundError:
            return 0

    def _truncate_index(self, size: int) -> None:
        if self._index_size() > size:
            os.truncate(self.index_path, size)

    def _append_index(self, summaries: list[dict[str, Any]]) -> None:
        self._append_index_lines(b"".join(_dumps(s) + b"\n" for s in summaries))

    def _append_index_lines(self, data: bytes) -> None:
        if not data:
            return
        fd = os.open(self.index_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_meta(self, meta: dict[str, Any]) -> None:
        atomic_write(self.meta_path, _dumps(meta) + b"\n")
        self._meta = meta

    def _maybe_compact(self) -> None:
        """Rewrite the index with one line per ticket once it has doubled (amortised O(1)).

        The write it follows is complete: a compaction that fails (a full disk) leaves the
        longer index, which is as correct, and is tried again by a later write."""
        if "index_ino" in self._meta and (
            self._index_size() <= 2 * self._meta["index_base"] + COMPACT_SLACK
        ):
            return
        # Also once for a store from before clean offsets (listing is faster after). A copied
        # or restored store (another inode) lists by the slower path until its next compaction.
        # A damaged index is left to `store check`: the write before this one is saved.
        with contextlib.suppress(OSError, StoreDamaged):
            self._rewrite_index(list(self._read_index().values()))

    def _rewrite_index(self, summaries: list[dict[str, Any]]) -> None:
        summaries.sort(key=lambda s: id_sort_key(s["id"]))
        data = b"".join(_dumps(s) + b"\n" for s in summaries)
        atomic_write(self.index_path, data)
        ino = os.stat(self.index_path).st_ino
        self._write_meta(
            dict(self._meta, index_base=len(data), index_clean=len(data), index_ino=ino)
        )

    # -- store check ------------------------------------------------------------------------
    def check(self, *, repair: bool = False) -> CheckReport:
        """Verify every file; with ``repair``, rebuild what is derivable and say what was done."""
        from supportctl.storage.jsoncheck import check_store

        # Under the lock even without --repair: a write in progress is not damage.
        with self._locked():
            return check_store(self, repair=repair)


class _NewerSchema(StoreDamaged):
    """A store written by a newer supportctl: never touched, not even by `store check`."""


_BLOCK = 1 << 20  # bytes read from the index at a time
_DECODE_BATCH = 2048  # index lines decoded with one json.loads


class _ImportBatch:
    """The documents of one import sorted by kind, over the store's users and orgs."""

    def __init__(
        self, docs: list[tuple[str, Any]], *, users: dict[str, User], orgs: dict[str, Org]
    ) -> None:
        self.counts = {"org": 0, "user": 0, "ticket": 0, "escalation": 0, "attachment": 0}
        self.blobs: dict[str, bytes] = {}
        self.tickets: list[Ticket] = []
        self.escalations: list[Escalation] = []
        self.users, self.orgs = dict(users), dict(orgs)
        for kind, doc in docs:
            self.counts[kind] += 1
            if kind == "ticket":
                self.tickets.append(doc)
            elif kind == "escalation":
                self.escalations.append(doc)
            elif kind == "user":
                self.users[doc.username] = doc
            elif kind == "attachment":
                self.blobs[doc.sha256] = doc.data
            else:
                self.orgs[doc.id] = doc

    def counters(self, meta: dict[str, Any]) -> dict[str, Any]:
        """``meta`` with the id counters past every imported numeric id."""
        for ticket in self.tickets:
            if ticket.id.isdigit():
                meta["next_ticket"] = max(meta["next_ticket"], int(ticket.id) + 1)
        for esc in self.escalations:
            number = esc.id.removeprefix("CP-")
            if number.isdigit():
                meta["next_escalation"] = max(meta["next_escalation"], int(number) + 1)
        return meta

    def created_files(self) -> list[str]:
        """The files this import creates (what a rollback removes), relative to the store."""
        return (
            [f"tickets/{t.id}.json" for t in self.tickets]
            + [f"escalations/{e.id}.json" for e in self.escalations]
            + [f"blobs/{k[:2]}/{k}" for k in self.blobs]
        )


def _line_blocks(handle: Any, limit: int | None = None) -> Iterator[list[bytes]]:
    """Complete lines of ``handle`` from its position, block by block (``limit`` bytes at
    most); a torn last line (no newline yet: a writer is at work, or died) is ignored."""
    carry = b""
    left = limit
    while left is None or left > 0:
        block = handle.read(_BLOCK if left is None else min(_BLOCK, left))
        if not block:
            return
        if left is not None:
            left -= len(block)
        end = block.rfind(b"\n")
        if end < 0:
            carry += block
            continue
        data = carry + block[:end] if carry else block[:end]
        carry = block[end + 1 :]
        yield data.split(b"\n")


def _line_filter(prefilter: Prefilter | None) -> Callable[[bytes], bool] | None:
    """A byte-level test of an index line for the prefilter's necessary conditions."""
    if prefilter is None:
        return None
    groups = [
        [b'"' + name.encode() + b'":' + _dumps(v) for v in values]
        for name, values in prefilter.fields.items()
    ]
    if prefilter.mentions is not None:
        groups.append([_dumps(v) for v in prefilter.mentions])
    tests: list[Callable[[bytes], Any]] = []
    for needles in groups:
        if len(needles) == 1:
            tests.append(lambda line, needle=needles[0]: needle in line)
        else:
            tests.append(re.compile(b"|".join(re.escape(n) for n in needles)).search)
    if not tests:
        return None
    if len(tests) == 1:
        only = tests[0]
        return lambda line: bool(only(line))

    def keep(line: bytes) -> bool:
        for test in tests:  # noqa: SIM110 (a plain loop: faster than all() per line)
            if not test(line):
                return False
        return True

    return keep


def _directory_bytes(docs: dict[str, Any]) -> bytes:
    ordered = [docs[key].to_dict() for key in sorted(docs)]
    return json.dumps(ordered, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip() or 0)
        if pid:
            return f" (pid {pid})"
    return ""
