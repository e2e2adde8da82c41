"""The listing index is read in blocks, keeping only the lines that may match (issue #7).

Whatever the mix of imports, changes and compactions, and whatever the block size, a listing
shows each ticket once, in its latest state, and every ticket the query selects."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportctl.models import Ticket
from supportctl.storage import jsonstore
from supportctl.storage.base import Prefilter
from supportctl.storage.jsonstore import JsonStore
from tests.conftest import jsonl, run, small_store_docs, ticket

STATUSES = ["new", "open", "pending", "on-hold", "solved"]
PRIORITIES = ["low", "normal", "high", "urgent"]


def truth(store: Path) -> dict[str, dict]:
    """Each ticket's summary, from its own file (the index is derived from these)."""
    docs = {p.stem: json.loads(p.read_bytes()) for p in (store / "tickets").glob("*.json")}
    return {
        t: {k: v for k, v in d.items() if k not in ("messages", "events")} for t, d in docs.items()
    }


def listed(opened: JsonStore, prefilter: Prefilter | None = None) -> list[dict]:
    rows = [{k: v for k, v in r.items() if k != "_sla"} for r in opened.ticket_summaries(prefilter)]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"a ticket listed twice: {sorted(ids)}"
    return rows


def new_tickets(first: int, n: int) -> list[tuple[str, Ticket]]:
    return [
        ("ticket", Ticket.from_dict(without_kind(ticket(str(i), "bob", "acme"))))
        for i in range(first, first + n)
    ]


def without_kind(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "kind"}


def set_fields(opened: JsonStore, ticket_id: str, **changes: str) -> None:
    opened.update_ticket(ticket_id, lambda t: dataclasses.replace(t, **changes))


def compact(opened: JsonStore) -> None:
    with opened._locked():
        opened._rewrite_index(list(opened._read_index().values()))


@pytest.fixture
def small(store: Path) -> Path:
    return store


op = st.one_of(
    st.tuples(
        st.just("update"), st.integers(0, 5), st.sampled_from(STATUSES), st.sampled_from(PRIORITIES)
    ),
    st.tuples(st.just("import"), st.integers(1, 4)),
    st.tuples(st.just("compact")),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ops=st.lists(op, max_size=12),
    block=st.sampled_from([1, 7, 64, 300, 1 << 20]),
    statuses=st.sets(st.sampled_from(STATUSES), max_size=3),
    priority=st.sampled_from([None, *PRIORITIES]),
)
def test_listing_matches_the_ticket_files_after_any_history(
    small: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    ops: list,
    block: int,
    statuses: set[str],
    priority: str | None,
) -> None:
    store = tmp_path_factory.mktemp("s") / "store"
    shutil.copytree(small, store)
    opened = JsonStore(store)
    next_id = 2001
    for step in ops:
        ids = sorted(truth(store))
        if step[0] == "update":
            set_fields(opened, ids[step[1] % len(ids)], status=step[2], priority=step[3])
        elif step[0] == "import":
            opened.import_documents(new_tickets(next_id, step[1]))
            next_id += step[1]
        else:
            compact(opened)
    monkeypatch.setattr(jsonstore, "_BLOCK", block)
    expected = truth(store)
    reader = JsonStore(store)
    assert {r["id"]: r for r in listed(reader)} == expected

    fields = {}
    if statuses:
        fields["status"] = frozenset(statuses)
    if priority:
        fields["priority"] = frozenset({priority})
    rows = listed(reader, Prefilter(fields=fields))
    wanted = {
        t: s
        for t, s in expected.items()
        if (not statuses or s["status"] in statuses) and (not priority or s["priority"] == priority)
    }
    assert {r["id"]: r for r in rows} == wanted


def test_a_change_after_compaction_hides_the_compacted_line(small: Path) -> None:
    opened = JsonStore(small)
    compact(opened)
    meta = json.loads((small / "store.json").read_bytes())
    assert meta["index_clean"] == (small / "index.jsonl").stat().st_size
    set_fields(opened, "1001", status="pending")  # was open; its old line is in the clean part
    result = run(
        "--user", "dana", "tickets", "list", "--scope", "org", "--status", "open", "-o", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert "1001" not in [t["id"] for t in json.loads(result.stdout)]
    result = run(
        "--user", "dana", "tickets", "list", "--scope", "org", "--status", "pending", "-o", "json"
    )
    assert [t["id"] for t in json.loads(result.stdout)].count("1001") == 1


def test_an_import_right_after_compaction_keeps_the_index_clean(small: Path) -> None:
    opened = JsonStore(small)
    compact(opened)
    opened.import_documents(new_tickets(3001, 2))
    meta = json.loads((small / "store.json").read_bytes())
    assert meta["index_clean"] == (small / "index.jsonl").stat().st_size
    set_fields(opened, "1004", priority="high")
    opened.import_documents(new_tickets(3003, 1))  # after a change: the tail stays a tail
    meta = json.loads((small / "store.json").read_bytes())
    assert meta["index_clean"] < (small / "index.jsonl").stat().st_size
    assert {r["id"]: r for r in listed(JsonStore(small))} == truth(small)


def test_a_clean_offset_for_another_file_or_mid_line_is_not_trusted(small: Path) -> None:
    """A store.json that does not describe this index (a compaction raced the reader, a
    hand edit) costs speed, never correctness."""
    opened = JsonStore(small)
    compact(opened)
    set_fields(opened, "1001", status="pending")
    meta_path = small / "store.json"
    meta = json.loads(meta_path.read_bytes())
    for bad in (
        dict(meta, index_ino=meta["index_ino"] + 1),
        dict(meta, index_clean=meta["index_clean"] - 3),
        dict(meta, index_clean="12"),
        {k: v for k, v in meta.items() if k != "index_ino"},  # a store from before
    ):
        meta_path.write_text(json.dumps(bad))
        assert {r["id"]: r for r in listed(JsonStore(small))} == truth(small)


def test_a_reader_opened_before_a_compaction_still_lists_each_ticket_once(small: Path) -> None:
    reader = JsonStore(small)  # has read store.json (no clean offset yet)
    writer = JsonStore(small)
    compact(writer)
    set_fields(writer, "1002", status="open")
    assert {r["id"]: r for r in listed(reader)} == truth(small)
    compact(writer)  # a second compaction: a new file again
    set_fields(writer, "1002", status="pending")
    assert {r["id"]: r for r in listed(reader)} == truth(small)


def test_a_torn_last_line_is_ignored_in_any_block_size(
    small: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = truth(small)
    with open(small / "index.jsonl", "ab") as handle:
        handle.write(b'{"id":"1001","subject":"half a li')  # a writer at work
    for block in (1, 5, 1 << 20):
        monkeypatch.setattr(jsonstore, "_BLOCK", block)
        assert {r["id"]: r for r in listed(JsonStore(small))} == before


def test_a_damaged_index_line_is_reported_not_skipped(small: Path) -> None:
    with open(small / "index.jsonl", "ab") as handle:
        handle.write(b"garbage\n")
    result = run("--user", "dana", "tickets", "list", "--scope", "org")
    assert result.exit_code == 6
    assert "index.jsonl is damaged" in result.stderr
    assert "store check --repair" in result.stderr


def test_limit_counts_every_match_while_keeping_only_the_first(tmp_path: Path) -> None:
    docs = small_store_docs()[:11] + [
        ticket(
            str(5000 + i), "bob", "acme", created_at=f"2026-09-{1 + i % 28:02d}T0{i % 10}:00:00Z"
        )
        for i in range(120)
    ]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    full = run("--user", "dana", "tickets", "list", "--scope", "org", "--limit", "0", "-o", "json")
    top = run("--user", "dana", "tickets", "list", "--scope", "org", "--limit", "7", "-o", "json")
    assert [t["id"] for t in json.loads(top.stdout)] == [t["id"] for t in json.loads(full.stdout)][
        :7
    ]
    table = run("--user", "dana", "tickets", "list", "--scope", "org", "--limit", "7")
    total = len(json.loads(full.stdout))
    assert f"showing 7 of {total} tickets" in table.stderr


def test_a_store_from_before_clean_offsets_gets_one_at_its_next_write(small: Path) -> None:
    meta_path = small / "store.json"
    meta = json.loads(meta_path.read_bytes())
    old = {k: v for k, v in meta.items() if k not in ("index_clean", "index_ino")}
    meta_path.write_text(json.dumps(old))
    with open(small / "index.jsonl", "ab") as handle:  # a tail, as an older version left it
        handle.write((small / "index.jsonl").read_bytes().splitlines(keepends=True)[0])
    assert {r["id"]: r for r in listed(JsonStore(small))} == truth(small)
    set_fields(JsonStore(small), "1003", status="open")
    meta = json.loads(meta_path.read_bytes())
    assert meta["index_clean"] == (small / "index.jsonl").stat().st_size
    assert {r["id"]: r for r in listed(JsonStore(small))} == truth(small)


def test_the_first_write_to_an_old_store_with_a_damaged_index_still_reports_success(
    small: Path,
) -> None:
    """Compaction is optional: a damaged index is for `store check`, and the reply is saved."""
    meta_path = small / "store.json"
    meta = json.loads(meta_path.read_bytes())
    old = {k: v for k, v in meta.items() if k not in ("index_clean", "index_ino")}
    meta_path.write_text(json.dumps(old))
    with open(small / "index.jsonl", "ab") as handle:
        handle.write(b'{"id":"1004","subject":BROKEN}\n')
    result = run("--user", "dana", "tickets", "reply", "1001", "-m", "saved")
    assert result.exit_code == 0, result.stderr
    assert "replied to ticket 1001" in result.stderr + result.stdout
    assert (
        json.loads((small / "tickets" / "1001.json").read_bytes())["messages"][-1]["body"]
        == "saved"
    )
    check = run("store", "check")
    assert check.exit_code == 6 and "index.jsonl" in check.stdout + check.stderr


def test_store_check_finds_an_id_twice_before_the_clean_offset_and_repairs_it(small: Path) -> None:
    opened = JsonStore(small)
    compact(opened)
    index = small / "index.jsonl"
    data = index.read_bytes()
    with open(index, "r+b") as handle:  # in place (same inode), as `cp` onto it would
        handle.write(data.splitlines(keepends=True)[0] + data)
    meta_path = small / "store.json"
    meta = json.loads(meta_path.read_bytes())
    meta_path.write_text(json.dumps(dict(meta, index_clean=index.stat().st_size)))
    check = run("store", "check")
    assert check.exit_code == 6
    assert "ticket 1001 appears twice before its clean offset" in check.stdout + check.stderr
    assert run("store", "check", "--repair").exit_code == 0
    assert run("store", "check").exit_code == 0
    assert {r["id"]: r for r in listed(JsonStore(small))} == truth(small)


def test_store_check_finds_a_clean_offset_inside_a_line(small: Path) -> None:
    compact(JsonStore(small))
    meta_path = small / "store.json"
    meta = json.loads(meta_path.read_bytes())
    meta_path.write_text(json.dumps(dict(meta, index_clean=meta["index_clean"] - 5)))
    check = run("store", "check")
    assert check.exit_code == 6
    assert "not at the end of a line" in check.stdout + check.stderr
    assert run("store", "check", "--repair").exit_code == 0
    assert run("store", "check").exit_code == 0


def test_a_replayed_import_with_a_file_missing_forgets_its_clean_offset(small: Path) -> None:
    """A committed import whose journal is replayed after a crash, with one of its ticket
    files gone meanwhile: fewer lines than the offset it recorded, so the offset is dropped."""
    opened = JsonStore(small)
    compact(opened)
    size = (small / "index.jsonl").stat().st_size
    meta = json.loads((small / "store.json").read_bytes())
    doc = without_kind(ticket("2001", "bob", "acme"))
    (small / "tickets" / "2001.json").write_text(json.dumps(doc))
    journal = {
        "phase": "commit",
        "index_size": size,
        "created": ["tickets/2001.json", "tickets/2002.json"],
        "touched": ["2001", "2002"],  # 2002's file is missing
        "meta": dict(meta, index_clean=size + 2 * 600, next_ticket=2003),
    }
    (small / "journal.json").write_text(json.dumps(journal))
    reopened = JsonStore(small)  # replays the journal
    assert not (small / "journal.json").exists()
    after = json.loads((small / "store.json").read_bytes())
    assert "index_clean" not in after and after["next_ticket"] == 2003
    set_fields(reopened, "2001", status="pending")
    assert {r["id"]: r for r in listed(JsonStore(small))} == truth(small)
