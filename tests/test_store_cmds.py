"""`store init|import|export|check` (SPEC §4, §9)."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import jsonl, run, small_store_docs, ticket


def test_import_creates_the_store_and_reports_counts(tmp_path):
    target = tmp_path / "fresh"
    result = run("--store", str(target), "store", "import", "-", input=jsonl(small_store_docs()))
    assert result.exit_code == 0, result.stderr
    assert "3 orgs, 8 users, 6 tickets, 0 escalations" in result.stderr
    assert (target / "store.json").exists()
    assert oct(os.stat(target).st_mode & 0o777) == "0o700"
    assert oct(os.stat(target / "tickets" / "1001.json").st_mode & 0o777) == "0o600"


def test_import_one_bad_line_exits_2_names_it_and_imports_nothing(tmp_path):
    docs = small_store_docs()
    lines = jsonl(docs).splitlines()
    lines.insert(5, json.dumps(ticket("2001", "bob", "acme", status="sideways")))
    target = tmp_path / "s"
    result = run("--store", str(target), "store", "import", "-", input="\n".join(lines) + "\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("supportctl: error: 1 bad line, nothing imported: line 6:")
    assert "'status' must be one of" in result.stderr
    assert not target.exists()  # not even an empty store is left behind


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"kind": "ticket", "id": 5}', "field 'id' must be a string"),
        (b'{"kind": "ticket", "id": "5"}', "missing field 'subject'"),
        (b'["a list"]', "not a JSON object"),
        (b'{"kind": "widget"}', "'kind' must be one of"),
        (b'{"kind": "user", "username": "x\\u0000y", "org": "acme"}', "NUL"),
        (b'{"kind": "org", "id": "o", "name": "\xff\xfe"}', "not valid UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b'{"kind": "org", "id": "../etc", "name": "x"}', "characters not allowed"),
        (b'{"kind": "org", "id": "o", "name": "x", "evil": 1}', "unknown org field"),
    ],
)
def test_import_hostile_lines_are_bad_lines(store, line, why):
    before = run("store", "export").stdout
    result = run("store", "import", "-", input=b'{"kind":"org","id":"zz","name":"Z"}\n' + line)
    assert result.exit_code == 2
    assert "line 2:" in result.stderr
    assert why in result.stderr
    assert run("store", "export").stdout == before


def test_import_existing_ids_is_a_bad_line_listing_them(store):
    docs = [ticket("1001", "bob", "acme"), {"kind": "user", "username": "bob", "org": "acme"}]
    result = run("store", "import", "-", input=jsonl(docs))
    assert result.exit_code == 2
    assert "line 1: ticket 1001 already exists" in result.stderr
    assert "line 2: user bob already exists" in result.stderr


def test_import_duplicate_within_the_file(tmp_path):
    docs = small_store_docs() + [ticket("1001", "bob", "acme")]
    result = run("--store", str(tmp_path / "s"), "store", "import", "-", input=jsonl(docs))
    assert result.exit_code == 2
    assert f"line {len(docs)}: ticket 1001 already exists" in result.stderr


def test_import_unknown_references_are_bad_lines(store):
    docs = [ticket("2001", "nobody", "acme", cc=["ghost"])]
    result = run("store", "import", "-", input=jsonl(docs))
    assert result.exit_code == 2
    assert "line 1: unknown user 'nobody', user 'ghost'" in result.stderr


def test_import_adds_to_an_existing_store(store):
    result = run("store", "import", "-", input=jsonl([ticket("2001", "bob", "acme")]))
    assert result.exit_code == 0
    ids = run("--user", "bob", "tickets", "list", "-o", "ids").stdout.split()
    assert "2001" in ids


def test_import_missing_file_is_exit_2(tmp_path):
    result = run("store", "import", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_export_import_round_trips_every_document(store, tmp_path):
    exported = run("store", "export").stdout
    assert exported.count('"kind":"ticket"') == 6
    other = tmp_path / "copy"
    assert run("--store", str(other), "store", "import", "-", input=exported).exit_code == 0
    assert run("--store", str(other), "store", "export").stdout == exported


def test_export_to_a_file(store, tmp_path):
    target = tmp_path / "out.jsonl"
    result = run("store", "export", str(target))
    assert result.exit_code == 0
    assert target.read_text() == run("store", "export").stdout


def test_demo_export_round_trips(tmp_path):
    assert run("--store", str(tmp_path / "a"), "store", "init", "--demo").exit_code == 0
    exported = run("--store", str(tmp_path / "a"), "store", "export").stdout
    assert (
        run("--store", str(tmp_path / "b"), "store", "import", "-", input=exported).exit_code == 0
    )
    assert run("--store", str(tmp_path / "b"), "store", "export").stdout == exported


def test_init_demo_configures_the_demo_admin_when_no_user(isolated_home):
    result = run("store", "init", "--demo")
    assert result.exit_code == 0, result.stderr
    assert "now acts as 'alice'" in result.stderr
    assert run("config", "get", "user").stdout == "alice\n"
    listing = run("tickets", "list", "--scope", "org", "--limit", "0", "-o", "json").json()
    assert len(listing) >= 20


def test_init_demo_keeps_a_configured_user(isolated_home):
    run("config", "set", "user", "someone")
    result = run("store", "init", "--demo")
    assert result.exit_code == 0
    assert "now acts as" not in result.stderr
    assert run("config", "get", "user").stdout == "someone\n"


def test_demo_covers_every_type_status_and_stage(isolated_home):
    run("store", "init", "--demo")
    docs = [json.loads(line) for line in run("store", "export").stdout.splitlines()]
    tickets = [d for d in docs if d["kind"] == "ticket"]
    users = [d for d in docs if d["kind"] == "user"]
    assert {t["type"] for t in tickets} == {"email", "chat", "phone", "call", "web"}
    assert {t["status"] for t in tickets} >= {
        "new",
        "open",
        "pending",
        "escalated",
        "resolved",
        "closed",
    }
    assert {t["category"] for t in tickets} == {"technical", "billing", "general"}
    stages = {d["stage"] for d in docs if d["kind"] == "escalation"}
    assert stages == {"submitted", "evaluating", "in_engineering", "confirm_resolution", "resolved"}
    assert any(u["fedramp"] for u in users)
    assert sum(u["role"] == "agent" for u in users) >= 2
    assert any(m["attachments"] for t in tickets for m in t["messages"])


def test_init_demo_into_a_non_empty_store_is_a_conflict(store):
    result = run("store", "init", "--demo")
    assert result.exit_code == 5
    assert "already holds data" in result.stderr


def test_init_twice_is_harmless(tmp_path):
    assert run("--store", str(tmp_path / "s"), "store", "init").exit_code == 0
    result = run("--store", str(tmp_path / "s"), "store", "init")
    assert result.exit_code == 0
    assert "already exists" in result.stderr


def test_init_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"meow")
    result = run("--store", str(tmp_path / "photos"), "store", "init")
    assert result.exit_code == 2
    assert "not a supportctl store" in result.stderr
    assert (tmp_path / "photos" / "cat.jpg").read_bytes() == b"meow"


def test_commands_on_a_missing_store_exit_6_and_say_how(tmp_path):
    result = run("--store", str(tmp_path / "none"), "--user", "bob", "tickets", "list")
    assert result.exit_code == 6
    assert f"no store at {tmp_path / 'none'}" in result.stderr
    assert "store init" in result.stderr


def test_check_healthy_store(store):
    result = run("store", "check")
    assert result.exit_code == 0
    assert "6 tickets, 0 escalations, 8 users, 3 orgs" in result.stdout
    assert "healthy" in result.stderr


def test_check_finds_a_ticket_file_missing_from_the_index_and_repair_fixes_it(store):
    doc = ticket("3001", "bob", "acme")
    doc.pop("kind")
    (store / "tickets" / "3001.json").write_text(json.dumps(doc))
    result = run("store", "check")
    assert result.exit_code == 6
    assert "1 ticket(s) missing" in result.stdout
    assert "next_ticket is behind" in result.stdout
    repaired = run("store", "check", "--repair")
    assert repaired.exit_code == 0, repaired.stdout
    assert repaired.stdout.startswith("repaired: rebuilt")
    assert "3001" in run("--user", "bob", "tickets", "list", "-o", "ids").stdout
    assert run("store", "check").exit_code == 0


def test_newer_schema_is_refused_and_left_unchanged(store):
    meta = store / "store.json"
    meta.write_text(
        '{"schema": 99, "next_ticket": 1007, "next_escalation": 1001, "index_base": 0}\n'
    )
    before = meta.read_bytes()
    for args in (["--user", "bob", "tickets", "list"], ["store", "export"], ["store", "check"]):
        result = run(*args)
        assert result.exit_code == 6
        assert str(meta) in result.stderr
        assert "newer than this supportctl understands" in result.stderr
    assert meta.read_bytes() == before


def test_init_demo_twice_is_harmless(isolated_home):
    assert run("store", "init", "--demo").exit_code == 0
    before = run("store", "export").stdout
    again = run("store", "init", "--demo")
    assert again.exit_code == 0
    assert "the demo store already exists" in again.stderr
    assert run("store", "export").stdout == before


def test_failed_import_into_a_missing_store_creates_nothing(tmp_path):
    target = tmp_path / "never"
    bad = jsonl(small_store_docs()) + '{"kind": "ticket", "id": "1001"}\n'
    result = run("--store", str(target), "store", "import", "-", input=bad)
    assert result.exit_code == 2
    assert not target.exists()


def test_repair_keeps_a_damaged_ticket_listed_and_never_touches_it(store):
    path = store / "tickets" / "1003.json"
    path.write_bytes(b"\x00garbage")
    doc = ticket("3001", "bob", "acme")
    doc.pop("kind")
    (store / "tickets" / "3001.json").write_text(json.dumps(doc))  # forces a rebuild
    repair = run("store", "check", "--repair")
    assert repair.exit_code == 6
    assert f"problem: {path}: damaged" in repair.stdout
    assert path.read_bytes() == b"\x00garbage"
    listed = run("--user", "bob", "tickets", "list", "-o", "ids").stdout.split()
    assert "1003" in listed  # its last known summary was kept
    assert "3001" in listed
    shown = run("--user", "bob", "tickets", "show", "1003")
    assert shown.exit_code == 6
    assert str(path) in shown.stderr


def test_missing_index_is_damage_not_an_empty_list(store):
    (store / "index.jsonl").unlink()
    result = run("--user", "bob", "tickets", "list")
    assert result.exit_code == 6
    assert "index.jsonl is missing" in result.stderr
    assert run("store", "check", "--repair").exit_code == 0
    assert run("--user", "bob", "tickets", "list", "-o", "ids").stdout.split() == ["1003", "1001"]


def test_attachment_bytes_round_trip_through_export(store, tmp_path):
    (tmp_path / "trace.har").write_bytes(b'{"log": {}}')
    run(
        "--user",
        "bob",
        "tickets",
        "reply",
        "1001",
        "-m",
        "har",
        "--attach",
        str(tmp_path / "trace.har"),
    )
    exported = run("store", "export").stdout
    lines = [json.loads(line) for line in exported.splitlines()]
    blobs = [d for d in lines if d["kind"] == "attachment"]
    assert len(blobs) == 1 and set(blobs[0]) == {"kind", "sha256", "content_base64"}
    other = tmp_path / "copy"
    assert run("--store", str(other), "store", "import", "-", input=exported).exit_code == 0
    out = run("--store", str(other), "--user", "bob", "tickets", "attachment", "1001", "trace.har")
    assert out.stdout == '{"log": {}}'


@pytest.mark.parametrize(
    ("content", "why"),
    [("!!!", "not valid base64"), ("aGVsbG8=", "does not match its 'sha256'")],
)
def test_bad_attachment_lines(store, content, why):
    line = {"kind": "attachment", "sha256": "a" * 64, "content_base64": content}
    result = run("store", "import", "-", input=json.dumps(line) + "\n")
    assert result.exit_code == 2
    assert why in result.stderr


def test_token_lines_are_checked_and_never_replace_a_token(tmp_path):
    """`store import` of `--with-tokens` lines: the hash form, the user, a taken id."""
    assert run("store", "init", "--demo").exit_code == 0
    made = run("store", "token", "create", "sam")
    assert made.exit_code == 0
    exported = run("store", "export", "--with-tokens").stdout
    (line,) = [json.loads(x) for x in exported.splitlines() if '"kind":"token"' in x]
    again = run("store", "import", "-", input=json.dumps(line) + "\n")
    assert again.exit_code == 2 and "already exists" in again.stderr
    bad = [
        ({**line, "id": "t2", "sha256": "nothex"}, "64 hex digits"),
        ({**line, "id": "t3", "user": "nobody"}, "unknown user 'nobody'"),
        ({**line, "id": "t4", "token": "sct_x"}, "unknown token field(s) token"),
        ({**line, "id": "t5", "created_at": "yesterday"}, "RFC 3339"),
    ]
    for doc, error in bad:
        result = run("store", "import", "-", input=json.dumps(doc) + "\n")
        assert result.exit_code == 2 and error in result.stderr, (doc, result.stderr)
    listed = run("store", "token", "list", "-o", "json").json()
    assert [t["id"] for t in listed] == [line["id"]]  # nothing added by a refused import
    assert '"kind":"token"' not in run("store", "export").stdout  # only when asked
