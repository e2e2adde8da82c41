"""Working tickets (SPEC §3, §4, §9): create, reply, attachment, close, feedback, update, bulk."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.conftest import NOW, jsonl, run, ticket, ts

pytestmark = pytest.mark.usefixtures("backend")

OLD = ts(NOW - timedelta(days=30))
RECENT = ts(NOW - timedelta(days=1))


@pytest.fixture
def work(store):
    """The small store plus resolved and spam tickets."""
    extra = [
        ticket("1007", "bob", "acme", status="resolved", created_at=OLD, updated_at=OLD),
        ticket("1008", "carol", "acme", status="resolved", created_at=OLD, updated_at=OLD),
        ticket(
            "1009",
            "bob",
            "acme",
            status="closed",
            resolution="spam",
            created_at=OLD,
            updated_at=OLD,
            closed_at=OLD,
        ),  # fmt: skip
        ticket("1010", "bob", "acme", status="resolved", created_at=OLD, updated_at=RECENT),
    ]
    assert run("store", "import", "-", input=jsonl(extra)).exit_code == 0
    return store


def doc(store, ticket_id: str) -> dict:
    return json.loads((store / "tickets" / f"{ticket_id}.json").read_text())


def raw(store, ticket_id: str) -> bytes:
    return (store / "tickets" / f"{ticket_id}.json").read_bytes()


def as_(user: str, *args: str, input=None):
    return run("--user", user, "tickets", *args, input=input)


# -- reply ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "code"),
    [("bob", 0), ("carol", 0), ("alice", 0), ("dana", 0), ("gina", 3), ("gadmin", 3)],
)
def test_who_may_reply(work, user, code):
    before = raw(work, "1001")
    result = as_(user, "reply", "1001", "-m", "hello")
    assert result.exit_code == code, result.stderr
    if code:
        assert raw(work, "1001") == before
        assert result.stderr == "supportctl: error: ticket 1001 not found\n"
    else:
        last = doc(work, "1001")["messages"][-1]
        assert (last["kind"], last["author"], last["body"]) == ("email", user, "hello")


def test_reply_appends_a_message_and_an_event(work):
    as_("bob", "reply", "1001", "-m", "Here is the HAR file")
    ticket = doc(work, "1001")
    message = ticket["messages"][-1]
    event = ticket["events"][-1]
    assert event["action"] == "replied"
    assert event["actor"] == "bob"
    assert event["detail"] == {"message": message["id"]}
    assert ticket["updated_at"] == message["at"] == event["at"]
    assert message["at"] >= ts(NOW - timedelta(minutes=5))


def test_internal_note_is_for_agents_and_hidden_from_customers(work):
    result = as_("bob", "reply", "1001", "--internal", "-m", "psst")
    assert result.exit_code == 4
    assert as_("dana", "reply", "1001", "--internal", "-m", "Escalate if no HAR").exit_code == 0
    ticket = doc(work, "1001")
    assert ticket["messages"][-1]["kind"] == "note"
    assert ticket["events"][-1]["action"] == "noted"
    for user in ("bob", "alice"):
        shown = as_(user, "show", "1001").stdout
        assert "Escalate if no HAR" not in shown
        assert "noted" not in shown
        listed = as_(user, "show", "1001", "-o", "json").json()
        assert all(e["action"] != "noted" for e in listed["events"])
    assert "Escalate if no HAR" in as_("dana", "show", "1001").stdout


def test_reply_to_closed_is_a_conflict(work):
    before = raw(work, "1006")
    result = as_("alice", "reply", "1006", "-m", "one more thing")
    assert result.exit_code == 5
    assert "ticket 1006 is closed; open a new ticket and reference 1006" in result.stderr
    assert raw(work, "1006") == before


@pytest.mark.parametrize(
    ("user", "status"), [("bob", "open"), ("alice", "open"), ("dana", "resolved")]
)
def test_customer_reply_reopens_resolved(work, user, status):
    assert as_(user, "reply", "1007", "-m", "still failing").exit_code == 0
    ticket = doc(work, "1007")
    assert ticket["status"] == status
    if status == "open":
        assert ticket["events"][-1]["detail"] == {"from": "resolved", "to": "open"}


def test_cc_reply_reopens_resolved(work):
    run("--user", "dana", "tickets", "update", "1001", "--status", "resolved")
    assert as_("carol", "reply", "1001", "-m", "not fixed").exit_code == 0
    assert doc(work, "1001")["status"] == "open"


def test_body_sources(work, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("from a file")
    assert as_("bob", "reply", "1001", "--body-file", str(body)).exit_code == 0
    assert doc(work, "1001")["messages"][-1]["body"] == "from a file"
    assert as_("bob", "reply", "1001", "--body-file", "-", input="from stdin -").exit_code == 0
    assert doc(work, "1001")["messages"][-1]["body"] == "from stdin -"
    assert as_("bob", "reply", "1001", input="piped body").exit_code == 0
    assert doc(work, "1001")["messages"][-1]["body"] == "piped body"


@pytest.mark.parametrize(
    "args",
    [
        ["-m", ""],
        ["-m", "   \n"],
        [],
        ["--body-file", "/nonexistent/body"],
        ["-m", "a", "--body-file", "-"],
    ],
)
def test_empty_or_bad_body_exits_2_and_writes_nothing(work, args):
    before = raw(work, "1001")
    result = as_("bob", "reply", "1001", *args, input="")
    assert result.exit_code == 2
    assert result.stderr.startswith("supportctl: error: ")
    assert raw(work, "1001") == before


def test_editor_is_used_on_a_terminal(work, monkeypatch):
    import click

    from supportctl.cli import inputs

    monkeypatch.setattr(inputs.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(click, "edit", lambda text: "Written in the editor\n# a comment\n")
    assert inputs.read_body(None, None) == "Written in the editor"
    monkeypatch.setattr(click, "edit", lambda text: None)  # closed without saving
    assert inputs.read_body(None, None) == ""


# -- attachments ------------------------------------------------------------------------------------


def files(tmp_path, *specs: tuple[str, int]) -> list[str]:
    paths = []
    for name, size in specs:
        path = tmp_path / name
        path.write_bytes(b"a" * size)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize(
    ("specs", "missing", "expected"),
    [
        ([(f"f{i}.txt", 10) for i in range(6)], [], "6 files attached, at most 5 per message"),
        ([("big.pdf", 512_001)], [], "big.pdf: 512,001 bytes is over the limit of 512,000 bytes"),
        ([("tool.exe", 10)], [], "tool.exe: .exe is not an allowed type"),
        ([("ok.txt", 10)], ["gone.csv"], "gone.csv: no such file or not readable"),
        ([("README", 10)], [], "README: no extension is not an allowed type"),
    ],
)
def test_attachment_rejections_exit_2_name_the_file_and_change_nothing(
    work, tmp_path, specs, missing, expected
):
    paths = files(tmp_path, *specs) + [str(tmp_path / m) for m in missing]
    before = raw(work, "1001")
    args = [a for p in paths for a in ("--attach", p)]
    result = as_("bob", "reply", "1001", "-m", "see attached", *args)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert raw(work, "1001") == before
    assert not (work / "blobs").exists()


def test_every_bad_file_is_named_at_once(work, tmp_path):
    paths = files(tmp_path, ("a.exe", 1), ("b.pdf", 600_000), ("c.PNG", 5))
    result = as_("bob", "reply", "1001", "-m", "x", *[a for p in paths for a in ("--attach", p)])
    assert result.exit_code == 2
    assert "a.exe:" in result.stderr and "b.pdf:" in result.stderr
    assert "c.PNG" not in result.stderr  # extensions are case-insensitive


def test_limits_are_inclusive_and_bytes_are_kept_once(work, tmp_path):
    paths = files(tmp_path, ("exact.pdf", 512_000), ("trace.HAR", 100))
    args = [a for p in paths for a in ("--attach", p)]
    result = as_("dana", "reply", "1001", "1002", "-m", "both tickets", *args)
    assert result.exit_code == 0, result.stderr
    attachments = doc(work, "1001")["messages"][-1]["attachments"]
    assert [(a["name"], a["size"], a["content_type"]) for a in attachments] == [
        ("exact.pdf", 512_000, "application/pdf"),
        ("trace.HAR", 100, "application/json"),
    ]
    blobs = [p for p in (work / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 2  # the same files on two tickets are stored once


def test_attachment_download(work, tmp_path):
    (tmp_path / "log.txt").write_bytes(b"line 1\nline 2\n")
    as_("bob", "reply", "1001", "-m", "log", "--attach", str(tmp_path / "log.txt"))
    out = run("--user", "carol", "tickets", "attachment", "1001", "log.txt")
    assert out.exit_code == 0
    assert out.stdout == "line 1\nline 2\n"
    target = tmp_path / "copy.txt"
    assert (
        run(
            "--user", "bob", "tickets", "attachment", "1001", "log.txt", "-O", str(target)
        ).exit_code
        == 0
    )
    assert target.read_bytes() == b"line 1\nline 2\n"
    missing = run("--user", "bob", "tickets", "attachment", "1001", "nope.pdf")
    assert missing.exit_code == 3
    assert "its attachments: log.txt" in missing.stderr
    assert run("--user", "gina", "tickets", "attachment", "1001", "log.txt").exit_code == 3


def test_attachments_on_notes_are_for_agents_only(work, tmp_path):
    (tmp_path / "internal.csv").write_text("a,b\n")
    as_(
        "dana", "reply", "1001", "--internal", "-m", "x", "--attach", str(tmp_path / "internal.csv")
    )
    assert run("--user", "bob", "tickets", "attachment", "1001", "internal.csv").exit_code == 3
    assert run("--user", "dana", "tickets", "attachment", "1001", "internal.csv").stdout == "a,b\n"


# -- create -----------------------------------------------------------------------------------------


def test_create_prints_the_id_and_makes_a_new_ticket(work):
    result = as_(
        "bob", "create", "--subject", "Login loop", "-m", "SSO redirects forever", "--cc", "carol"
    )
    assert result.exit_code == 0, result.stderr
    new_id = result.stdout.strip()
    assert new_id == "1011"
    ticket = doc(work, new_id)
    assert (ticket["requester"], ticket["org"], ticket["status"], ticket["type"]) == (
        "bob",
        "acme",
        "new",
        "web",
    )
    assert ticket["cc"] == ["carol"]
    assert ticket["messages"][0]["body"] == "SSO redirects forever"
    assert [e["action"] for e in ticket["events"]] == ["created"]
    assert new_id in as_("carol", "list", "-o", "ids").stdout.split()


def test_create_json_and_options(work):
    result = as_(
        "bob", "create", "--subject", "Chat", "--type", "chat", "--category", "billing",
        "--priority", "urgent", "-m", "hi", "-o", "json",
    )  # fmt: skip
    created = result.json()
    assert (created["type"], created["category"], created["priority"]) == (
        "chat",
        "billing",
        "urgent",
    )
    assert created["messages"][0]["kind"] == "chat"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--subject", "  ", "-m", "x"], 2),
        (["--subject", "s", "-m", ""], 2),
        (["--subject", "s", "-m", "x", "--cc", "gina"], 3),  # other org: not even its existence
        (["--subject", "s", "-m", "x", "--cc", "ghost"], 3),
        (["--subject", "s", "-m", "x", "--type", "fax"], 2),
        (["-m", "no subject"], 2),
    ],
)
def test_create_refusals_write_nothing(work, args, code):
    result = as_("bob", "create", *args)
    assert result.exit_code == code
    assert not (work / "tickets" / "1011.json").exists()


# -- close ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "code"), [("bob", 0), ("dana", 0), ("carol", 4), ("alice", 4), ("gina", 3)]
)
def test_who_may_close(work, user, code):
    result = as_(user, "close", "1001")
    assert result.exit_code == code, result.stderr
    assert doc(work, "1001")["status"] == ("closed" if code == 0 else "open")


def test_requester_close_says_how_to_follow_up(work):
    result = as_("bob", "close", "1001", "--comment", "Works now, thanks")
    assert result.stdout == ""
    assert result.stderr == (
        "This ticket has been closed. If you have more questions, open a new ticket and "
        "reference ticket 1001.\n"
    )
    ticket = doc(work, "1001")
    assert ticket["resolution"] == "solved"
    assert ticket["closed_at"] == ticket["updated_at"]
    assert ticket["messages"][-1]["body"] == "Works now, thanks"
    assert ticket["events"][-1]["action"] == "closed"
    assert ticket["events"][-1]["detail"] == {
        "from": "open",
        "to": "closed",
        "resolution": "solved",
    }


def test_reason_is_for_agents(work):
    assert as_("bob", "close", "1001", "--reason", "duplicate").exit_code == 4
    assert doc(work, "1001")["status"] == "open"
    assert as_("dana", "close", "1001", "--reason", "duplicate").exit_code == 0
    assert doc(work, "1001")["resolution"] == "duplicate"
    assert as_("dana", "close", "1002", "--reason", "fixed").exit_code == 2


def test_closing_a_closed_ticket_changes_nothing(work):
    before = raw(work, "1006")
    result = as_("alice", "close", "1006")
    assert result.exit_code == 0
    assert "already closed" in result.stderr
    assert raw(work, "1006") == before


def test_close_json_prints_the_changed_ticket(work):
    closed = as_("bob", "close", "1001", "-o", "json").json()
    assert closed["status"] == "closed"
    assert all(m["kind"] != "note" for m in closed["messages"])


# -- feedback ---------------------------------------------------------------------------------------


def test_feedback_once_by_the_requester_on_closed_tickets(work):
    as_("bob", "close", "1001")
    assert as_("carol", "feedback", "1001", "--rating", "5").exit_code == 4
    assert as_("dana", "feedback", "1001", "--rating", "5").exit_code == 4
    assert as_("bob", "feedback", "1001", "--rating", "6").exit_code == 2
    assert as_("bob", "feedback", "1001", "--rating", "4", "--comment", "Good").exit_code == 0
    first = raw(work, "1001")
    assert doc(work, "1001")["feedback"]["rating"] == 4
    again = as_("bob", "feedback", "1001", "--rating", "1")
    assert again.exit_code == 0
    assert again.stderr == "Thank you — feedback for ticket 1001 was already received.\n"
    assert raw(work, "1001") == first


def test_feedback_on_an_open_ticket_is_a_conflict(work):
    assert as_("bob", "feedback", "1003", "--rating", "3").exit_code == 5


# -- update -----------------------------------------------------------------------------------------


def test_only_agents_update(work):
    before = raw(work, "1003")
    assert as_("bob", "update", "1003", "--priority", "low").exit_code == 4
    assert as_("gina", "update", "1003", "--priority", "low").exit_code == 3
    assert raw(work, "1003") == before


def test_assigning_a_new_ticket_opens_it_with_one_event_per_change(work):
    result = as_("eve", "update", "1003", "--assignee", "@me", "--priority", "high", "--group", "Tier 1",
                 "--add-tag", "sso")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "updated ticket 1003: priority urgent → high, assigned - → eve, status new → open, "
        "group - → Tier 1, tags [export] → [export, sso]\n"
    )
    ticket = doc(work, "1003")
    assert (ticket["assignee"], ticket["status"], ticket["priority"], ticket["group"]) == (
        "eve", "open", "high", "Tier 1",
    )  # fmt: skip
    events = ticket["events"]
    assert [e["action"] for e in events] == [
        "priority_changed", "assigned", "status_changed", "group_changed", "tags_changed",
    ]  # fmt: skip
    assert all(e["actor"] == "eve" for e in events)
    assert events[1]["detail"] == {"from": None, "to": "eve"}
    assert events[4]["detail"] == {"from": ["export"], "to": ["export", "sso"]}
    assert ticket["updated_at"] == events[-1]["at"]


def test_assignee_rules(work):
    assert as_("dana", "update", "1001", "--assignee", "ghost").exit_code == 3
    assert as_("dana", "update", "1001", "--assignee", "bob").exit_code == 2  # not an agent
    assert as_("dana", "update", "1001", "--assignee", "none").exit_code == 0
    assert doc(work, "1001")["assignee"] is None


def test_remove_tag_and_nothing_to_change(work):
    assert as_("dana", "update", "1001", "--remove-tag", "api").exit_code == 0
    assert doc(work, "1001")["tags"] == ["export"]
    before = raw(work, "1001")
    result = as_("dana", "update", "1001", "--priority", "high")  # already high
    assert result.exit_code == 0
    assert "nothing to change" in result.stderr
    assert raw(work, "1001") == before
    assert as_("dana", "update", "1001").exit_code == 2


def test_spam_restore_and_other_closed_tickets(work):
    assert as_("dana", "update", "1009", "--status", "open").exit_code == 0
    restored = doc(work, "1009")
    assert (restored["status"], restored["resolution"], restored["closed_at"]) == (
        "open",
        None,
        None,
    )
    assert restored["events"][-1]["action"] == "restored"
    before = raw(work, "1006")
    result = as_("dana", "update", "1006", "--status", "open")
    assert result.exit_code == 5
    assert "only tickets closed as spam can be restored" in result.stderr
    assert as_("dana", "update", "1006", "--priority", "high").exit_code == 5
    assert raw(work, "1006") == before


def test_update_cannot_close_or_escalate(work):
    assert as_("dana", "update", "1001", "--status", "closed").exit_code == 2
    assert as_("dana", "update", "1001", "--status", "escalated").exit_code == 2


# -- bulk -------------------------------------------------------------------------------------------


def test_list_ids_piped_into_close_closes_exactly_those(work):
    listed = run("--user", "dana", "tickets", "list", "--scope", "org", "--status", "resolved",
                 "--idle", "14d", "-o", "ids").stdout  # fmt: skip
    assert listed.split() == ["1008", "1007"]  # 1010 was active yesterday
    result = run("--user", "dana", "tickets", "close", "-", input=listed)
    assert result.exit_code == 0, result.stderr
    assert "closed 2, already closed 0, failed 0" in result.stderr
    statuses = {t: doc(work, t)["status"] for t in ("1007", "1008", "1010", "1001")}
    assert statuses == {"1007": "closed", "1008": "closed", "1010": "resolved", "1001": "open"}


def test_stdin_ids_skip_blanks_comments_and_header_and_take_the_first_field(work):
    tsv = run("--user", "dana", "tickets", "list", "--scope", "org", "--status", "resolved",
              "-o", "tsv", "--columns", "id,status").stdout  # fmt: skip
    assert tsv.startswith("id\tstatus\n")
    result = run(
        "--user", "dana", "tickets", "update", "-", "--priority", "low", input="# triage\n\n" + tsv
    )
    assert result.exit_code == 0, result.stderr
    assert "updated 3, unchanged 0, failed 0" in result.stderr
    csv = run("--user", "dana", "tickets", "list", "--scope", "org", "--status", "resolved",
              "-o", "csv", "--columns", "id,status").stdout  # fmt: skip
    again = run("--user", "dana", "tickets", "update", "-", "--priority", "high", input=csv)
    assert again.exit_code == 0, again.stderr
    assert doc(work, "1007")["priority"] == "high"


def test_bulk_failures_do_not_stop_the_rest_and_the_worst_code_wins(work):
    result = as_("bob", "close", "1001", "9999", "1002", "1006")
    # 1001 closes; 9999 not found (3); 1002 is carol's: bob cannot see it (3); 1006: alice's (3)
    assert result.exit_code == 3
    assert doc(work, "1001")["status"] == "closed"
    assert "closed 1, already closed 0, failed 3" in result.stderr
    mixed = as_("carol", "close", "1002", "1001", "9999")  # 1001 by cc: 4, 9999: 3
    assert mixed.exit_code == 4
    assert doc(work, "1002")["status"] == "closed"


def test_bulk_json_is_a_list(work):
    docs = run(
        "--user", "dana", "tickets", "update", "1001", "1002", "--add-tag", "x", "-o", "json"
    ).json()
    assert [d["id"] for d in docs] == ["1001", "1002"]


def test_dash_cannot_mix_with_ids(work):
    assert as_("dana", "close", "1001", "-", input="1002\n").exit_code == 2


def test_fedramp_user_may_act_but_not_read_back(work):
    assert as_("fed", "reply", "1005", "-m", "update from fed").exit_code == 0
    before = raw(work, "1005")
    result = as_("fed", "reply", "1005", "-m", "x", "-o", "json")
    assert result.exit_code == 4
    assert raw(work, "1005") == before
