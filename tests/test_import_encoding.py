"""What an import writes is byte for byte what a one-ticket write would (store format kept)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from supportctl.demo import demo_documents
from supportctl.models import Ticket
from supportctl.storage.jsonstore import JsonStore, _dumps
from tests.conftest import jsonl, message, run, small_store_docs, ticket

ODD_TEXT = 'naïve “quotes” \\ back\u2028line\u2029 \x1f tab\t 😀 \ud7ff \ufeff </script> "'


def _tickets() -> list[Ticket]:
    docs = [*small_store_docs(), *demo_documents(datetime(2026, 11, 1, tzinfo=UTC))]
    docs.append(
        ticket(
            "9001",
            "bob",
            "acme",
            subject=ODD_TEXT,
            tags=[ODD_TEXT],
            messages=[message("m1", "bob", ODD_TEXT)],
            feedback={"rating": 4, "comment": ODD_TEXT, "at": "2026-10-02T09:00:00+02:00"},
        )
    )
    out = []
    for doc in docs:
        if doc.get("kind") == "ticket":
            out.append(Ticket.from_dict({k: v for k, v in doc.items() if k != "kind"}))
    return out


@pytest.mark.parametrize("agents", [set(), {"alice", "sam.okafor", "bob"}])
def test_encoded_is_the_ticket_file_and_the_index_line(tmp_path: Path, agents):
    store = JsonStore.create(tmp_path / "store")
    tickets = _tickets()
    assert len(tickets) > 20
    for t in tickets:
        whole, row = store._encoded(t, agents)
        assert whole == _dumps(t.to_dict())
        assert row == _dumps(store.index_row(t, agents))
        assert json.loads(whole) == t.to_dict()


def test_imported_files_and_index_are_those_of_the_documents(tmp_path: Path):
    docs = small_store_docs()
    docs.append(
        ticket("9001", "bob", "acme", subject=ODD_TEXT, messages=[message("m1", "bob", ODD_TEXT)])
    )
    path = tmp_path / "store"
    result = run("--store", str(path), "store", "import", "-", input=jsonl(docs))
    assert result.exit_code == 0, result.stderr
    store = JsonStore(path)
    agents = {u.username for u in store.list_users() if u.role == "agent"}
    index = (path / "index.jsonl").read_bytes()
    meta = json.loads((path / "store.json").read_bytes())
    assert meta["index_base"] == len(index)
    lines = index.splitlines()
    ids = [d["id"] for d in docs if d["kind"] == "ticket"]
    assert len(lines) == len(ids)
    for ticket_id, line in zip(ids, lines, strict=True):
        t = store.get_ticket(ticket_id)
        assert (path / "tickets" / f"{ticket_id}.json").read_bytes() == _dumps(t.to_dict())
        assert line == _dumps(store.index_row(t, agents))
