"""SPEC §16 editing and merging: `tickets update --subject/--category/--add-cc/--remove-cc`
and `tickets merge ID… --into TARGET`, on every backend of the shared fixture (json, the
REST API, PostgreSQL), failure paths first-class: exit codes, one-line errors, nothing
half-written."""

from __future__ import annotations

import json

import pytest

from tests.conftest import jsonl, run, small_store_docs, ticket


def show(user: str, ticket_id: str) -> dict:
    result = run("--user", user, "tickets", "show", ticket_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert lines and lines[0].startswith("supportctl: error: "), result.stderr
    return lines[0]


def events(doc: dict, *actions: str) -> list[dict]:
    return [e for e in doc["events"] if e["action"] in actions]


# -- tickets update: subject, category, cc --------------------------------------------------------


def test_subject_category_and_cc_are_edited_each_an_event_in_order(store, backend):
    result = run(
        "--user", "dana", "tickets", "update", "1001",
        "--subject", "  Exports over 100k rows time out  ",
        "--category", "billing",
        "--add-cc", "alice",
        "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["subject"] == "Exports over 100k rows time out"  # stripped, as at create
    assert doc["category"] == "billing"
    assert doc["cc"] == ["carol", "alice"]
    added = doc["events"][-3:]
    assert [(e["action"], e["actor"]) for e in added] == [
        ("subject_changed", "dana"),
        ("category_changed", "dana"),
        ("cc_changed", "dana"),
    ]
    assert added[0]["detail"] == {
        "from": "Export fails with a timeout",
        "to": "Exports over 100k rows time out",
    }
    assert added[1]["detail"] == {"from": "technical", "to": "billing"}
    assert added[2]["detail"] == {"from": ["carol"], "to": ["carol", "alice"]}
    assert doc["updated_at"] == added[-1]["at"]
    assert "updated ticket 1001: subject" in result.stderr
    # Stored, and shown: the new subject in the listing and in `show`.
    listed = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "json").json()
    assert {t["id"]: t["subject"] for t in listed}["1001"] == "Exports over 100k rows time out"
    text = run("--user", "dana", "tickets", "show", "1001").stdout
    assert "subject changed Export fails with a timeout → Exports over 100k rows time out" in text
    # alice is on it now: her own tickets (--scope mine) are those she asked for or is cc on.
    assert run("--user", "alice", "tickets", "list", "-o", "ids").stdout.split() == [
        "1006",
        "1001",
    ]


def test_remove_cc_and_an_agent_as_cc(store, backend):
    result = run(
        "--user", "dana", "tickets", "update", "1001", "--remove-cc", "carol", "--add-cc", "eve"
    )
    assert result.exit_code == 0, result.stderr
    doc = show("dana", "1001")
    assert doc["cc"] == ["eve"]  # an agent may be a cc of any ticket
    assert events(doc, "cc_changed")[-1]["detail"] == {"from": ["carol"], "to": ["eve"]}
    # carol no longer sees the ticket she was cc on (SPEC §3: not found, not "forbidden")
    gone = run("--user", "carol", "tickets", "show", "1001")
    assert gone.exit_code == 3, gone.stderr


def test_a_cc_taken_off_loses_the_proxy_access_they_set_on_the_ticket(store, backend):
    """carol turned proxy login access on for 1001 as its cc; taken off it she no longer sees
    the ticket (and could not turn it off), so support must not be told it may log in to her
    account for it: her override goes, with an event. A brand admin taken off still sees the
    ticket: her setting stands."""
    assert run("--user", "dana", "tickets", "update", "1001", "--add-cc", "alice").exit_code == 0
    assert run("--user", "alice", "proxy-access", "toggle", "1001", "--on").exit_code == 0
    result = run(
        "--user", "dana", "tickets", "update", "1001",
        "--add-cc", "eve", "--remove-cc", "carol", "--remove-cc", "alice",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr.rstrip().endswith(", proxy access of carol removed")
    doc = show("dana", "1001")
    assert doc["proxy_access"] == {"alice": True}
    assert doc["events"][-1]["action"] == "proxy_access_changed"
    assert doc["events"][-1]["detail"] == {"user": "carol", "from": True, "to": None}
    listed = run("--user", "dana", "proxy-access", "show", "1001", "-o", "json").json()
    assert "carol" not in {row["username"] for row in listed}


@pytest.mark.parametrize(
    "flags",
    [
        ("--remove-cc", "alice"),  # not a cc
        ("--add-cc", "carol"),  # already a cc
        ("--add-cc", "bob"),  # the requester: on the ticket already, never a cc of it
        ("--subject", "Export fails with a timeout"),
        ("--category", "technical"),
    ],
)
def test_an_edit_that_changes_nothing_adds_no_event(store, backend, flags):
    before = show("dana", "1001")
    result = run("--user", "dana", "tickets", "update", "1001", *flags)
    assert result.exit_code == 0, result.stderr
    assert "nothing to change" in result.stderr
    after = show("dana", "1001")
    assert after["events"] == before["events"] and after["updated_at"] == before["updated_at"]


@pytest.mark.parametrize(
    ("flags", "code", "words"),
    [
        (("--subject", ""), 2, "the subject must not be empty"),
        (("--subject", "   "), 2, "the subject must not be empty"),
        (("--subject", "x" * 251), 2, "251 characters; at most 250"),
        (("--category", "sales"), 2, "'sales' is not one of"),
        (("--add-cc", "gina"), 2, "gina (org globex) cannot be cc of ticket 1001"),
        (("--add-cc", "gadmin"), 2, "a cc must be of the requester's organisation (acme)"),
        (("--add-cc", "nobody"), 3, "no user nobody"),
        (("--add-cc", "carol", "--remove-cc", "carol"), 2, "both name carol"),
    ],
)
def test_bad_edits_are_refused_and_nothing_is_written(store, backend, flags, code, words):
    before = show("dana", "1001")
    result = run("--user", "dana", "tickets", "update", "1001", "--add-cc", "alice", *flags)
    assert result.exit_code == code, result.stderr
    assert words in result.stderr
    assert show("dana", "1001") == before  # not even the valid --add-cc alice


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("update", "1001", "--subject", "caf\udce9"), "the subject"),
        (("update", "1001", "--group", "caf\udce9"), "the group"),
        (("update", "1001", "--add-tag", "caf\udce9"), "the tag"),
        (("create", "--subject", "caf\udce9", "-m", "x"), "the subject"),
        (("reply", "1001", "-m", "caf\udce9"), "the body"),
    ],
)
def test_text_that_is_not_utf8_is_invalid_input_and_nothing_is_written(store, backend, args, what):
    """An argument from a terminal or script in another encoding (Latin-1 `café`) reaches
    Python as a lone surrogate: exit 2 saying so, never "unexpected failure" (exit 1)."""
    before = show("dana", "1001")
    result = run("--user", "dana", "tickets", *args)
    assert result.exit_code == 2, result.stderr
    assert error_line(result) == f"supportctl: error: {what} is not valid UTF-8; nothing written"
    assert show("dana", "1001") == before
    listed = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "ids")
    assert len(listed.stdout.split()) == 6  # no ticket created


def test_a_subject_of_exactly_250_characters_is_taken(store, backend):
    result = run("--user", "dana", "tickets", "update", "1001", "--subject", "y" * 250)
    assert result.exit_code == 0, result.stderr
    assert show("dana", "1001")["subject"] == "y" * 250


@pytest.mark.parametrize(
    ("user", "code"),
    [
        ("alice", 4),  # the org's admin: sees it, may not edit it
        ("bob", 4),  # the requester
        ("carol", 4),  # a cc user
        ("gina", 3),  # another org: not found, not "forbidden"
    ],
)
def test_editing_is_for_agents(store, backend, user, code):
    before = show("dana", "1001")
    result = run("--user", user, "tickets", "update", "1001", "--subject", "Mine now")
    assert result.exit_code == code, result.stderr
    assert show("dana", "1001") == before


def test_the_confirmation_of_a_subject_with_a_newline_is_one_line(store, backend):
    """A subject is one line wherever it is shown: its newline and tab are made visible in
    the confirmation on stderr, as in `tickets show`, not sent as a line break."""
    result = run("--user", "dana", "tickets", "update", "1001", "--subject", "two\nlines\tend")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "updated ticket 1001: subject Export fails with a timeout → two\\nlines\\tend"
    ]
    assert show("dana", "1001")["subject"] == "two\nlines\tend"  # stored as given


@pytest.mark.parametrize(
    ("user", "code"),
    [
        ("bob", 4),  # the requester: refused as with any other edit
        ("gina", 3),  # another org: the ticket is not found
    ],
)
@pytest.mark.parametrize(
    "flags",
    [
        ("--add-cc", "nobody"),
        ("--add-cc", "gadmin"),
        ("--assignee", "nobody"),
        ("--assignee", "gadmin"),
    ],
)
def test_a_non_agent_learns_nothing_about_other_users_from_an_update(
    store, backend, user, code, flags
):
    # Whether a named user exists (or is an agent) is not the answer a non-agent gets:
    # the same refusal whatever the name, so usernames of other orgs cannot be probed.
    result = run("--user", user, "tickets", "update", "1001", *flags)
    assert result.exit_code == code, result.stderr
    assert "nobody" not in result.stderr and "gadmin" not in result.stderr


def test_a_closed_ticket_is_not_edited(store, backend):
    result = run("--user", "dana", "tickets", "update", "1006", "--subject", "Renamed")
    assert result.exit_code == 5, result.stderr
    assert "ticket 1006 is closed" in error_line(result)
    assert show("dana", "1006")["subject"] == ""


def test_bulk_edit_reports_each_ticket(store, backend):
    """1001 and 1003 are acme's (carol may be their cc); 1004 is globex's: refused alone."""
    result = run(
        "--user", "dana", "tickets", "update", "-", "--add-cc", "carol", input="1001\n1003\n1004\n"
    )
    assert result.exit_code == 2, result.stderr
    assert "updated 1, unchanged 1, failed 1" in result.stderr
    assert show("dana", "1003")["cc"] == ["carol"]
    assert show("dana", "1004")["cc"] == []


# -- tickets merge ----------------------------------------------------------------------------------


def test_merge_closes_the_duplicate_and_brings_its_people_over(store, backend):
    before = show("dana", "1001")
    result = run("--user", "dana", "tickets", "merge", "1005", "--into", "1001", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert "merged ticket 1005 into 1001 (closed as duplicate)" in result.stderr
    out = result.json()
    assert [t["id"] for t in out["merged"]] == ["1005"] and out["target"]["id"] == "1001"
    dup = show("dana", "1005")
    target = show("dana", "1001")
    assert out["merged"][0]["duplicate_of"] == dup["duplicate_of"] == "1001"
    assert (dup["status"], dup["resolution"]) == ("closed", "duplicate")
    assert dup["closed_at"] == dup["updated_at"] == dup["events"][-1]["at"]
    assert dup["sla"]["excluded"] is True  # SPEC §15: duplicates have no service level
    closed = dup["events"][-1]
    assert closed["action"] == "closed" and closed["actor"] == "dana"
    assert closed["detail"] == {
        "from": "open",
        "to": "closed",
        "resolution": "duplicate",
        "duplicate_of": "1001",
        "message": dup["messages"][-1]["id"],
    }
    note = dup["messages"][-1]
    assert note["kind"] == "system" and "Merged into ticket 1001" in note["body"]
    # The target: the duplicate's requester joins its cc, a message names the duplicate.
    assert target["cc"] == ["carol", "fed"]
    assert target["duplicate_of"] is None and target["status"] == before["status"]
    back = target["messages"][-1]
    assert back["kind"] == "system" and back["body"] == (
        "Ticket 1005 was merged into this ticket as a duplicate."
    )
    cc_event, merged = target["events"][-2:]
    assert cc_event["action"] == "cc_changed"
    assert cc_event["detail"] == {"from": ["carol"], "to": ["carol", "fed"]}
    assert merged["action"] == "merged"
    assert merged["detail"] == {"duplicate": "1005", "message": back["id"]}
    assert target["updated_at"] == merged["at"] == closed["at"]
    # Both sides see the system message: it is not an internal note.
    bob_view = run("--user", "bob", "tickets", "show", "1001")
    assert "Ticket 1005 was merged into this ticket" in bob_view.stdout
    assert "closed (duplicate of 1001)" in run("--user", "dana", "tickets", "show", "1005").stdout
    # `duplicate_of` is a listing field (null for the rest).
    rows = run("--user", "dana", "tickets", "list", "--scope", "org", "--columns",
               "id,duplicate_of", "-o", "json").json()  # fmt: skip
    assert {r["id"]: r["duplicate_of"] for r in rows} == {
        "1001": None, "1002": None, "1003": None, "1004": None, "1005": "1001", "1006": None,
    }  # fmt: skip
    assert run("store", "check").exit_code == 0


def test_merging_several_counts_each_and_an_already_merged_one_changes_nothing(store, backend):
    result = run("--user", "dana", "tickets", "merge", "1003", "1002", "--into", "1001")
    assert result.exit_code == 0, result.stderr
    assert "merged 2, already merged 0, failed 0" in result.stderr
    target = show("dana", "1001")
    # 1003's requester is 1001's (not a cc of their own ticket); 1002's carol is a cc already.
    assert target["cc"] == ["carol"]
    assert not events(target, "cc_changed")
    assert [e["detail"]["duplicate"] for e in events(target, "merged")] == ["1003", "1002"]
    again = run("--user", "dana", "tickets", "merge", "-", "--into", "1001", input="1002\n")
    assert again.exit_code == 0, again.stderr
    assert "ticket 1002 is already merged into 1001; nothing changed" in again.stderr
    assert show("dana", "1001") == target
    assert run("store", "check").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("1001", "--into", "1001"), 5, "ticket 1001 cannot be merged into itself"),
        (("1001", "--into", "1006"), 5, "ticket 1006 is closed (solved); merge into an open"),
        (("1006", "--into", "1001"), 5, "ticket 1006 is already closed (solved)"),
        (("1004", "--into", "1001"), 5, "belong to different organisations"),
        (("9999", "--into", "1001"), 3, "ticket 9999 not found"),
        (("1001", "--into", "9999"), 3, "ticket 9999 not found"),
    ],
)
def test_merge_refusals_write_nothing(store, backend, args, code, words):
    before = {t: show("dana", t) for t in ("1001", "1004", "1006")}
    result = run("--user", "dana", "tickets", "merge", *args)
    assert result.exit_code == code, result.stderr
    assert words in error_line(result)
    assert {t: show("dana", t) for t in before} == before


def test_a_merge_that_would_close_a_cycle_exits_5(store, backend):
    assert run("--user", "dana", "tickets", "merge", "1003", "--into", "1001").exit_code == 0
    before = show("dana", "1001"), show("dana", "1003")
    result = run("--user", "dana", "tickets", "merge", "1001", "--into", "1003")
    assert result.exit_code == 5, result.stderr
    assert "ticket 1003 is already a duplicate of ticket 1001" in error_line(result)
    assert "would make a cycle" in error_line(result)
    assert (show("dana", "1001"), show("dana", "1003")) == before
    # Into a duplicate of another ticket: the message names where to merge instead.
    chained = run("--user", "dana", "tickets", "merge", "1002", "--into", "1003")
    assert chained.exit_code == 5
    assert "ticket 1003 is closed (duplicate); it is a duplicate of 1001" in error_line(chained)


@pytest.mark.parametrize("user", ["alice", "bob", "gina", "fed"])
def test_merging_is_for_agents(store, backend, user):
    result = run("--user", user, "tickets", "merge", "1003", "--into", "1001")
    assert result.exit_code == 4, result.stderr
    assert "tickets merge is for agents" in error_line(result)
    assert show("dana", "1003")["status"] == "new"


def test_a_ticket_with_an_open_escalation_is_not_merged(store, backend):
    made = run("--user", "dana", "escalations", "create", "1003", "--description", "broken")
    assert made.exit_code == 0, made.stderr
    result = run("--user", "dana", "tickets", "merge", "1003", "--into", "1001")
    assert result.exit_code == 5, result.stderr
    assert "has escalation CP-" in error_line(result)
    assert show("dana", "1003")["status"] == "escalated"
    # Into an escalated ticket is fine: the target stays as it is.
    assert run("--user", "dana", "tickets", "merge", "1005", "--into", "1003").exit_code == 0
    assert show("dana", "1003")["status"] == "escalated"


def test_a_merged_duplicate_takes_no_reply_and_is_not_reopened(store, backend):
    assert run("--user", "dana", "tickets", "merge", "1003", "--into", "1001").exit_code == 0
    reply = run("--user", "bob", "tickets", "reply", "1003", "-m", "still broken")
    assert reply.exit_code == 5
    assert "open a new ticket and reference 1003" in reply.stderr
    restore = run("--user", "dana", "tickets", "update", "1003", "--status", "open")
    assert restore.exit_code == 5
    assert "closed as duplicate" in restore.stderr


def test_a_merged_duplicate_points_its_people_to_the_ticket_that_goes_on(store, backend):
    """Its requester follows the target as a cc: a reply refused on the duplicate, and the
    duplicate's closing banner, name the ticket where the conversation continues."""
    assert run("--user", "dana", "tickets", "merge", "1002", "--into", "1001").exit_code == 0
    reply = run("--user", "carol", "tickets", "reply", "1002", "-m", "any news?")
    assert reply.exit_code == 5
    assert reply.stderr.splitlines() == [
        "supportctl: error: ticket 1002 is closed; open a new ticket and reference 1002",
        "hint: it was merged into ticket 1001, where the conversation continues: "
        "`supportctl tickets reply 1001`",
    ]
    text = run("--user", "carol", "tickets", "show", "1002").stdout
    assert "It was merged into ticket 1001, where the conversation continues." in text
    # a ticket closed otherwise keeps the banner alone
    assert "merged into" not in run("--user", "alice", "tickets", "show", "1006").stdout


def test_advice_about_a_chain_of_merges_names_the_ticket_at_its_end(store, backend):
    """1002 merged into 1003, then 1003 into 1001: the advice names 1001, where the
    conversation goes on, not 1003 (closed too: following it met another refusal)."""
    dana = ("--user", "dana", "tickets", "merge")
    assert run(*dana, "1002", "--into", "1003").exit_code == 0
    assert run(*dana, "1003", "--into", "1001").exit_code == 0
    refused = run(*dana, "1005", "--into", "1002")
    assert refused.exit_code == 5
    assert error_line(refused) == (
        "supportctl: error: ticket 1002 is closed (duplicate); it is a duplicate of 1003: "
        "merge into 1001"
    )
    reply = run("--user", "carol", "tickets", "reply", "1002", "-m", "any news?")
    assert reply.exit_code == 5
    assert reply.stderr.splitlines()[1] == (
        "hint: it was merged into ticket 1001, where the conversation continues: "
        "`supportctl tickets reply 1001`"
    )


def test_a_ticket_merged_into_the_target_through_a_chain_is_already_merged(store, backend):
    """1002 went into 1003, and 1003 into 1001: 1002's conversation goes on in 1001, so
    merging it there again changes nothing (exit 0), as for a direct merge; into a ticket
    off its chain it is still refused."""
    dana = ("--user", "dana", "tickets", "merge")
    assert run(*dana, "1002", "--into", "1003").exit_code == 0
    assert run(*dana, "1003", "--into", "1001").exit_code == 0
    before = show("dana", "1001"), show("dana", "1002")
    again = run(*dana, "1002", "1003", "--into", "1001")
    assert again.exit_code == 0, again.stderr
    assert "merged 0, already merged 2, failed 0" in again.stderr
    assert (show("dana", "1001"), show("dana", "1002")) == before
    elsewhere = run(*dana, "1002", "--into", "1005")
    assert elsewhere.exit_code == 5
    assert "already closed as a duplicate of 1003" in error_line(elsewhere)


# -- the document: import, export, check ------------------------------------------------------------


@pytest.mark.local_only("store import/export and check are local")
def test_duplicate_of_round_trips_through_export_and_import(store, backend, tmp_path):
    assert run("--user", "dana", "tickets", "merge", "1003", "--into", "1001").exit_code == 0
    exported = run("store", "export")
    assert exported.exit_code == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    by_id = {d["id"]: d for d in lines if d["kind"] == "ticket"}
    assert by_id["1003"]["duplicate_of"] == "1001" and by_id["1001"]["duplicate_of"] is None
    other = tmp_path / "moved"
    moved = run("--store", str(other), "store", "import", "-", input=exported.stdout)
    assert moved.exit_code == 0, moved.stderr
    again = run("--store", str(other), "store", "export")
    assert again.stdout == exported.stdout


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"duplicate_of": "1001"}, "'duplicate_of' is for tickets closed as duplicate"),
        (
            {"status": "closed", "resolution": "solved", "duplicate_of": "1001"},
            "'duplicate_of' is for tickets closed as duplicate",
        ),
        (
            {"status": "closed", "resolution": "duplicate", "duplicate_of": "2001"},
            "names the ticket itself",
        ),
        (
            {"status": "closed", "resolution": "duplicate", "duplicate_of": "9999"},
            "unknown ticket '9999' (duplicate_of)",
        ),
        (
            {"status": "closed", "resolution": "duplicate", "duplicate_of": 1001},
            "field 'duplicate_of' must be a string",
        ),
        (
            {"status": "closed", "resolution": "duplicate", "duplicate_of": "../1001"},
            "must be a ticket id",
        ),
    ],
)
def test_import_checks_duplicate_of(store, extra, words):
    line = ticket("2001", "bob", "acme", **extra)
    result = run("store", "import", "-", input=jsonl([line]))
    assert result.exit_code == 2, result.stderr
    assert words in result.stderr and "nothing imported" in result.stderr


def test_import_refuses_a_cycle_of_duplicates_and_takes_a_chain(isolated_home):
    closed = {"status": "closed", "resolution": "duplicate", "closed_at": "2026-10-02T09:00:00Z"}
    cycle = [
        ticket("2001", "bob", "acme", duplicate_of="2002", **closed),
        ticket("2002", "bob", "acme", duplicate_of="2001", **closed),
    ]
    result = run("store", "import", "-", input=jsonl(small_store_docs() + cycle))
    assert result.exit_code == 2, result.stderr
    assert "leads into a cycle of duplicates" in result.stderr
    chain = [
        ticket("2001", "bob", "acme", duplicate_of="2002", **closed),
        ticket("2002", "bob", "acme", duplicate_of="1001", **closed),
    ]
    result = run("store", "import", "-", input=jsonl(small_store_docs() + chain))
    assert result.exit_code == 0, result.stderr
    assert run("store", "check").exit_code == 0


@pytest.mark.json_only("edits a ticket file behind the store's back")
def test_store_check_reports_a_duplicate_of_that_points_nowhere_or_in_a_circle(store, backend):
    from supportctl.storage.jsonstore import JsonStore

    assert run("--user", "dana", "tickets", "merge", "1003", "--into", "1001").exit_code == 0
    opened = JsonStore(store)

    def point(ticket_id: str, target: str) -> None:
        def change(t):
            t.status, t.resolution, t.duplicate_of = "closed", "duplicate", target
            return t

        opened.update_ticket(ticket_id, change)

    point("1003", "9999")
    check = run("store", "check")
    assert check.exit_code == 6, check.stdout
    assert "problem: ticket 1003: duplicate_of 9999 does not exist" in check.stdout
    point("1003", "1005")
    point("1005", "1003")
    check = run("store", "check")
    assert check.exit_code == 6, check.stdout
    assert "problem: ticket 1003: duplicate_of makes a cycle" in check.stdout
    assert "problem: ticket 1005: duplicate_of makes a cycle" in check.stdout


@pytest.mark.json_only("the json store's schema and its migration")
def test_a_store_from_before_duplicate_of_is_migrated(store, backend):
    """Schema 3 index lines carry no `duplicate_of`: the next opening rebuilds the index."""
    index = store / "index.jsonl"
    rows = [json.loads(line) for line in index.read_text().splitlines()]
    index.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "duplicate_of"},
                                        ensure_ascii=False, separators=(",", ":")) + "\n"
                             for r in rows))  # fmt: skip
    meta = json.loads((store / "store.json").read_text())
    (store / "store.json").write_text(json.dumps(dict(meta, schema=3)) + "\n")
    listed = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert all(row["duplicate_of"] is None for row in listed.json())
    assert json.loads((store / "store.json").read_text())["schema"] == 4
    assert all('"duplicate_of":null' in line for line in index.read_text().splitlines())
    assert run("store", "check").exit_code == 0


# -- the REST API ------------------------------------------------------------------------------------


@pytest.fixture
def api(store):
    import requests

    from tests.test_http import LiveServer, token_for

    server = LiveServer(store)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token_for(store, 'dana')}"
    yield server.url, session
    server.stop()


def test_patch_takes_subject_category_and_the_whole_cc_list(api):
    url, session = api
    answer = session.patch(
        f"{url}/tickets/1001",
        json={"subject": "Renamed", "category": "general", "cc": ["eve", "bob", "eve"]},
    )
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert (doc["subject"], doc["category"], doc["cc"]) == ("Renamed", "general", ["eve"])
    assert answer.headers["Supportctl-Changed"] == "true"
    for body, status, words in [
        ({"cc": ["gina"]}, 400, "gina (org globex) cannot be cc"),
        ({"cc": ["nobody"]}, 404, "no user nobody"),
        ({"cc": "eve"}, 400, "'cc' must be a list of strings"),
        ({"subject": ""}, 400, "the subject must not be empty"),
        ({"category": "sales"}, 400, "invalid category 'sales'"),
        ({"duplicate_of": "1002"}, 400, "PATCH takes status, priority"),
    ]:
        refused = session.patch(f"{url}/tickets/1001", json=body)
        assert refused.status_code == status, (body, refused.text)
        assert words in refused.json()["detail"]


def test_post_merge_answers_both_tickets_and_replays_with_its_key(api):
    url, session = api
    key = {"Idempotency-Key": "merge-once"}
    first = session.post(f"{url}/tickets/1005/merge", json={"into": "1001"}, headers=key)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["ticket"]["duplicate_of"] == "1001" and body["target"]["cc"] == ["carol", "fed"]
    assert first.headers["Supportctl-Changed"] == "true" and first.headers["ETag"]
    again = session.post(f"{url}/tickets/1005/merge", json={"into": "1001"}, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == body
    fresh = session.post(f"{url}/tickets/1005/merge", json={"into": "1001"})
    assert fresh.status_code == 200 and fresh.headers["Supportctl-Changed"] == "false"
    target = session.get(f"{url}/tickets/1001").json()
    assert [e["action"] for e in target["events"]].count("merged") == 1
    for body, status, words in [
        ({}, 400, "missing field 'into'"),
        ({"into": "1001", "why": "same"}, 400, "unknown field(s) why"),
        ({"into": 1001}, 400, "field 'into' must be a string"),
        ({"into": "1003"}, 409, "ticket 1005 is already closed as a duplicate of 1001"),
    ]:
        refused = session.post(f"{url}/tickets/1005/merge", json=body)
        assert refused.status_code == status, (body, refused.text)
        assert words in refused.json()["detail"]
        assert refused.json()["exit_code"] == {400: 2, 409: 5}[status]


# -- the help texts ---------------------------------------------------------------------------------


def test_the_help_examples_of_editing_and_merging_run_on_the_demo(isolated_home):
    """A new user tries the examples `--help` prints on the demo store, as sam (an agent):
    the people and tickets they name exist there."""
    import shlex

    assert run("store", "init", "--demo").exit_code == 0
    for command in ("update", "merge"):
        text = run("tickets", command, "--help").stdout
        examples = [
            line.strip()
            for line in text.splitlines()
            if line.strip().startswith("supportctl") and "|" not in line
        ]
        assert examples, text
        for line in examples:
            args = [a for a in shlex.split(line)[1:] if a not in ("--user", "sam")]
            result = run("--user", "sam", *args)
            assert result.exit_code == 0, (line, result.stderr)


def test_the_help_of_show_and_merge_says_what_they_do():
    assert "service level" in run("tickets", "show", "--help").stdout
    into = run("tickets", "merge", "--help").stdout
    assert "(an open ticket)" not in into  # a new or pending ticket takes duplicates too
    assert "not closed" in into
    columns = run("tickets", "list", "--help").stdout
    assert "see the list below" not in columns  # the list of columns comes above the options
