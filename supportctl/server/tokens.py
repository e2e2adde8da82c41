"""API tokens of the reference server (SPEC §7, §9): shown once, stored hashed.

Tokens live in ``tokens.json`` in the store directory as ``{id, user, sha256, created_at}``;
the token itself is never stored.  A presented token is hashed and compared with every
stored hash in constant time.  The file is re-read when it changes, so a running server
honours tokens created or revoked after it started.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from supportctl.errors import NotFound, StoreDamaged
from supportctl.fsutil import atomic_write
from supportctl.timeutil import format_ts, now


@dataclass
class TokenRecord:
    id: str
    user: str
    sha256: str
    created_at: str

    def public(self) -> dict[str, str]:
        """What `store token list` shows: never the hash, let alone the token."""
        return {"id": self.id, "user": self.user, "created_at": self.created_at}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    def __init__(self, store: object) -> None:
        self.store = store
        self.path = Path(store.root) / "tokens.json"  # type: ignore[attr-defined]
        self._cache: tuple[tuple[int, int], list[TokenRecord]] | None = None
        self._guard = threading.Lock()

    def _read(self) -> list[TokenRecord]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return []
        key = (stat.st_mtime_ns, stat.st_size)
        with self._guard:
            if self._cache and self._cache[0] == key:
                return self._cache[1]
            try:
                records = [TokenRecord(**r) for r in json.loads(self.path.read_bytes())]
            except (ValueError, TypeError):
                raise StoreDamaged(str(self.path), "is damaged (not a list of tokens)") from None
            self._cache = (key, records)
            return records

    def _write(self, records: list[TokenRecord]) -> None:
        data = json.dumps([asdict(r) for r in records], indent=1).encode() + b"\n"
        atomic_write(self.path, data)

    def create(self, username: str) -> tuple[TokenRecord, str]:
        if self.store.get_user(username) is None:  # type: ignore[attr-defined]
            raise NotFound(f"user {username} not found")
        token = "sct_" + secrets.token_urlsafe(32)
        record = TokenRecord(
            id="tok_" + secrets.token_hex(4),
            user=username,
            sha256=_digest(token),
            created_at=format_ts(now()),
        )
        with self.store.transaction():  # type: ignore[attr-defined]
            self._write([*self._read(), record])
        return record, token

    def list(self) -> list[TokenRecord]:
        return list(self._read())

    def revoke(self, token_id: str) -> TokenRecord:
        with self.store.transaction():  # type: ignore[attr-defined]
            records = self._read()
            kept = [r for r in records if r.id != token_id]
            if len(kept) == len(records):
                raise NotFound(f"token {token_id} not found")
            self._write(kept)
        return next(r for r in records if r.id == token_id)

    def authenticate(self, token: str) -> str | None:
        """The user of ``token``, or None; every stored hash is compared in constant time."""
        presented = _digest(token)
        user = None
        for record in self._read():
            if hmac.compare_digest(record.sha256, presented):
                user = record.user
        return user
