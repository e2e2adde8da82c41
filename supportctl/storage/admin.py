"""Store administration (SPEC §4, §9): `store init`, `import`, `export`, `check`, `token`.

An API of the storage layer over any ``Storage``, used by ``supportctl store …`` and by
the server (tokens).  Imports are checked whole before anything is written: syntax,
fields, ids unique, references resolved; any bad line means nothing is imported.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from supportctl.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    SupportctlError,
    UsageError,
)
from supportctl.models import KINDS, Ticket, id_sort_key
from supportctl.storage.base import CheckReport, DuplicateDocuments, Storage, TokenRecord
from supportctl.timeutil import format_ts, now, parse_ts


@dataclass
class ImportLine:
    number: int
    kind: str
    doc: Any


# -- init -----------------------------------------------------------------------------------------
@dataclass
class InitResult:
    storage: Storage
    existed: bool  # the store was there before
    counts: dict[str, int] | None = None  # the demo's documents, when this call made them


def init_store(
    storage_cls: type[Storage], settings: Any, *, demo: bool, clock: Callable[[], datetime] = now
) -> InitResult:
    """Create the store (an existing one is left as it is); with ``demo``, fill an empty
    store with the demo.  Two `init --demo` at once: one fills, the other sees it."""
    existed = storage_cls.exists_for(settings)
    storage = storage_cls.open(settings, create=True)
    if not demo:
        return InitResult(storage, existed)
    with storage.transaction():
        if storage.is_demo:
            return InitResult(storage, True)
        if not storage.is_empty():
            raise Conflict(
                f"the store at {storage.location} already holds data; the demo goes into an "
                "empty store",
                hint="choose another directory with --store",
            )
        from supportctl.demo import demo_attachment_blobs, demo_documents

        for digest, data in demo_attachment_blobs().items():
            storage.put_blob(digest, data)
        docs = demo_documents(clock())
        lines = [json.dumps(doc, ensure_ascii=False).encode("utf-8") for doc in docs]
        counts = import_lines(storage, lines)
        storage.mark_demo()
    return InitResult(storage, existed, counts)


# -- import and export ----------------------------------------------------------------------------
def import_lines(storage: Storage, lines: Iterable[bytes]) -> dict[str, int]:
    """SPEC §4, §9: check every line first; any bad line means nothing is imported."""
    return import_checked(storage, check_import(lines, storage))


def import_into(
    storage_cls: type[Storage], settings: Any, lines: list[bytes]
) -> tuple[Storage, dict[str, int]]:
    """`store import`: into the configured store, created when there is none — after every
    line was checked, so a bad file leaves nothing behind."""
    if storage_cls.exists_for(settings):
        storage = storage_cls.open(settings)
        parsed = check_import(lines, storage)
    else:
        parsed = check_import(lines, None)
        storage = storage_cls.open(settings, create=True)
    lines.clear()  # memory: no longer needed once parsed
    return storage, import_checked(storage, parsed)


def import_checked(storage: Storage, parsed: list[ImportLine]) -> dict[str, int]:
    """Import lines already checked by ``check_import``; ids taken meanwhile are bad lines.
    Token lines (`store export --with-tokens`) join the store's tokens in the same hold."""
    tokens = [p.doc for p in parsed if p.kind == "token"]
    documents = [p for p in parsed if p.kind != "token"] if tokens else parsed
    try:
        if not tokens:
            return storage.import_documents([(p.kind, p.doc) for p in documents])
        with storage.transaction():
            taken = {t.id for t in storage.list_tokens()}
            clash = [p for p in parsed if p.kind == "token" and p.doc.id in taken]
            if clash:
                raise _import_error([_exists(p) for p in clash])
            counts = storage.import_documents([(p.kind, p.doc) for p in documents])
            storage.save_tokens([*storage.list_tokens(), *tokens])
            return {**counts, "token": len(tokens)}
    except DuplicateDocuments as exc:
        raise _import_error([_exists(documents[i]) for i in exc.positions]) from None


def export_documents(storage: Storage, *, with_tokens: bool = False) -> Iterator[dict[str, Any]]:
    """Every document as an import line's object (``kind`` first); with ``with_tokens``
    also the API tokens as stored (their hashes, never a token), to move a store."""
    for kind, doc in storage.export_documents():
        yield {"kind": kind, **doc}
    if with_tokens:
        for record in storage.list_tokens():
            yield {"kind": "token", **vars(record)}


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _token_line(obj: dict[str, Any]) -> TokenRecord:
    """A `kind: token` line of `store export --with-tokens`, checked."""
    unknown = sorted(set(obj) - {"id", "user", "sha256", "created_at", "expires_at"})
    if unknown:
        raise ValueError(f"unknown token field(s) {', '.join(unknown)}")
    for key in ("id", "user", "sha256", "created_at"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise ValueError(f"token field {key!r} must be a non-empty string")
    if not _SHA256.fullmatch(obj["sha256"]):
        raise ValueError("token field 'sha256' must be 64 hex digits (the token's hash)")
    expires = obj.get("expires_at")
    for key, value in (("created_at", obj["created_at"]), ("expires_at", expires)):
        if value is not None:
            try:
                parse_ts(value)
            except (TypeError, ValueError):
                raise ValueError(f"token field {key!r} must be an RFC 3339 time") from None
    return TokenRecord(obj["id"], obj["user"], obj["sha256"], obj["created_at"], expires)


def check_import(lines: Iterable[bytes], storage: Storage | None) -> list[ImportLine]:
    """Every check that needs no lock: syntax, fields, ids unique in the file, references.

    ``storage`` None checks against an empty store (before creating one).
    """
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of fresh objects: the cycle collector only slows this
    try:
        parsed, errors = parse_import(lines)
    finally:
        if collecting:
            gc.enable()
    if not errors:
        errors = _reference_errors(parsed, storage)
    if errors:
        raise _import_error(errors)
    return parsed


def parse_import(lines: Iterable[bytes]) -> tuple[list[ImportLine], list[str]]:
    """Parse and validate JSON Lines; return the documents and one error per bad line."""
    parsed: list[ImportLine] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
            obj = json.loads(text)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            kind = obj.pop("kind", None)
            if kind == "token":
                line = ImportLine(number, kind, _token_line(obj))
            elif kind not in KINDS:
                valid = ", ".join([*KINDS, "token"])
                raise ValueError(f"'kind' must be one of {valid} (got {kind!r})")
            else:
                line = ImportLine(number, kind, KINDS[kind].from_dict(obj))
        except UnicodeDecodeError:
            errors.append(f"line {number}: not valid UTF-8")
        except RecursionError:
            errors.append(f"line {number}: nested too deeply")
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
        except (ValueError, TypeError) as exc:
            errors.append(f"line {number}: {exc}")
        else:
            key = (kind, _doc_key(line))
            if key in seen and kind != "attachment":
                errors.append(_exists(line))
            seen.add(key)
            parsed.append(line)
    return parsed, errors


def _reference_errors(parsed: list[ImportLine], storage: Storage | None) -> list[str]:
    """Every user, org, ticket and escalation a document names must exist somewhere."""
    user_orgs = {u.username: u.org for u in storage.list_users()} if storage else {}
    user_orgs.update({p.doc.username: p.doc.org for p in parsed if p.kind == "user"})
    users = set(user_orgs)
    orgs = {o.id for o in storage.list_orgs()} if storage else set()
    tickets: set[str] = set()
    escalations: set[str] = set()
    for p in parsed:
        if p.kind == "user":
            users.add(p.doc.username)
        elif p.kind == "org":
            orgs.add(p.doc.id)
        elif p.kind == "ticket":
            tickets.add(p.doc.id)
        elif p.kind == "escalation":
            escalations.add(p.doc.id)
    errors = []
    for p in parsed:
        missing = []
        if p.kind == "user" and p.doc.org not in orgs:
            missing.append(f"org {p.doc.org!r}")
        elif p.kind == "token" and p.doc.user not in users:
            missing.append(f"user {p.doc.user!r}")
        elif p.kind == "ticket":
            t: Ticket = p.doc
            if t.org not in orgs:
                missing.append(f"org {t.org!r}")
            requester_org = user_orgs.get(t.requester)
            if requester_org is not None and requester_org != t.org:
                errors.append(
                    f"line {p.number}: org {t.org!r} is not the org of requester "
                    f"{t.requester!r} ({requester_org!r})"
                )
            for name in dict.fromkeys([t.requester, *t.cc, t.assignee]):
                if name and name not in users:
                    missing.append(f"user {name!r}")
            if (
                t.escalation_id
                and t.escalation_id not in escalations
                and (storage is None or storage.get_escalation(t.escalation_id) is None)
            ):
                missing.append(f"escalation {t.escalation_id!r}")
            if (
                t.duplicate_of
                and t.duplicate_of not in tickets
                and (storage is None or storage.get_ticket(t.duplicate_of) is None)
            ):
                missing.append(f"ticket {t.duplicate_of!r} (duplicate_of)")
        elif (
            p.kind == "escalation"
            and p.doc.ticket_id not in tickets
            and (storage is None or storage.get_ticket(p.doc.ticket_id) is None)
        ):
            missing.append(f"ticket {p.doc.ticket_id!r}")
        if missing:
            errors.append(f"line {p.number}: unknown {', '.join(missing)}")
    errors += _duplicate_cycles(parsed, storage)
    return errors


def _duplicate_cycles(parsed: list[ImportLine], storage: Storage | None) -> list[str]:
    """Imported tickets whose ``duplicate_of`` chain (through the file and the store) comes
    back to them: a merge never makes one, and `tickets show` would follow it forever."""
    chains = {p.doc.id: p.doc.duplicate_of for p in parsed if p.kind == "ticket"}
    errors = []
    for p in parsed:
        if p.kind != "ticket" or not p.doc.duplicate_of:
            continue
        seen, step = {p.doc.id}, p.doc.duplicate_of
        while step is not None and step not in seen and len(seen) < 10_000:
            seen.add(step)
            if step in chains:
                step = chains[step]
            else:
                found = storage.get_ticket(step) if storage is not None else None
                step = found.duplicate_of if found is not None else None
        if step is not None and step in seen:
            errors.append(
                f"line {p.number}: duplicate_of {p.doc.duplicate_of!r} leads into a cycle "
                "of duplicates"
            )
    return errors


def _exists(line: ImportLine) -> str:
    return f"line {line.number}: {line.kind} {_doc_key(line)} already exists"


def _doc_key(line: ImportLine) -> str:
    return line.doc.username if line.kind == "user" else line.doc.id


def _import_error(errors: list[str]) -> UsageError:
    shown = "; ".join(errors[:10])
    more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
    lines = "1 bad line" if len(errors) == 1 else f"{len(errors)} bad lines"
    return UsageError(f"{lines}, nothing imported: {shown}{more}")


# -- check ----------------------------------------------------------------------------------------
def check_store(storage: Storage, *, repair: bool = False) -> CheckReport:
    """`store check`: the store's own check, then what holds across tickets whichever store
    it is — every ``duplicate_of`` names a ticket that exists, and no chain of them comes
    back to where it started (`tickets merge`, SPEC §16)."""
    report = storage.check(repair=repair)
    try:
        rows = [
            (row["id"], row.get("duplicate_of"))
            for row in storage.ticket_summaries()
            if isinstance(row, dict) and isinstance(row.get("id"), str)  # else: stale, reported
        ]
    except SupportctlError:
        return report  # a listing that cannot be read is already a problem of the report
    ids = {ticket_id for ticket_id, _ in rows}
    chains = {ticket_id: target for ticket_id, target in rows if target}
    for ticket_id, target in sorted(chains.items(), key=lambda item: id_sort_key(item[0])):
        if target not in ids:
            report.problems.append(f"ticket {ticket_id}: duplicate_of {target} does not exist")
            continue
        seen, step = {ticket_id}, target
        while step in chains and step not in seen:
            seen.add(step)
            step = chains[step]
        if step in seen:
            report.problems.append(
                f"ticket {ticket_id}: duplicate_of makes a cycle ({ticket_id} → {target} → … "
                f"→ {step})"
            )
    return report


# -- API tokens (SPEC §7, §9): shown once, stored hashed ------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    storage: Storage, username: str, *, expires: timedelta | None = None
) -> tuple[TokenRecord, str]:
    """A new token for ``username`` (valid for ``expires``, else until revoked): the record
    kept, and the token (shown once)."""
    if storage.get_user(username) is None:
        raise NotFound(f"user {username} not found")
    token = "sct_" + secrets.token_urlsafe(32)
    moment = now()
    record = TokenRecord(
        id="tok_" + secrets.token_hex(4),
        user=username,
        sha256=_digest(token),
        created_at=format_ts(moment),
        expires_at=format_ts(moment + expires) if expires is not None else None,
    )
    with storage.transaction():
        storage.save_tokens([*storage.list_tokens(), record])
    return record, token


def revoke_token(storage: Storage, token_id: str) -> TokenRecord:
    with storage.transaction():
        records = storage.list_tokens()
        kept = [r for r in records if r.id != token_id]
        if len(kept) == len(records):
            raise NotFound(f"token {token_id} not found")
        storage.save_tokens(kept)
    return next(r for r in records if r.id == token_id)


def authenticate(storage: Storage, token: str) -> str | None:
    """The user of ``token``, or None; every stored hash is compared in constant time. An
    expired token is refused as such (AuthenticationFailed "token expired")."""
    presented = _digest(token)
    found = None
    for record in storage.list_tokens():
        if hmac.compare_digest(record.sha256, presented):
            found = record
    if found is None:
        return None
    if found.expires_at is not None and found.expires_at <= format_ts(now()):
        raise AuthenticationFailed(
            f"token expired ({found.expires_at})",
            hint="ask for a new token: `supportctl store token create USER` on the server",
        )
    return found.user
