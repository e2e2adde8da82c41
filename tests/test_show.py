"""`tickets show`: the per-type view of SPEC §4 and its JSON form."""

from __future__ import annotations

import pytest

from tests.conftest import run

pytestmark = pytest.mark.usefixtures("backend")


def show(ticket_id: str, user: str, *extra: str):
    return run("--user", user, "tickets", "show", ticket_id, *extra)


def test_email_thread_hides_internal_notes_from_users(store):
    out = show("1001", "bob").stdout
    assert "The export times out after 30 seconds." in out
    assert "Could you send a HAR file?" in out
    assert "legacy plan" not in out
    assert "INTERNAL NOTE" not in out


def test_agents_see_internal_notes_marked(store):
    out = show("1001", "dana").stdout
    assert "INTERNAL NOTE" in out
    assert "Customer is on the legacy plan" in out


def test_admin_of_org_sees_ticket_but_not_notes(store):
    result = show("1001", "alice")
    assert result.exit_code == 0
    assert "legacy plan" not in result.stdout


def test_header_fields(store):
    out = show("1001", "bob").stdout
    assert out.splitlines()[0] == "Ticket 1001  Export fails with a timeout"
    assert "Status:           open" in out
    assert "Assigned rep:     Dana (dana)" in out
    assert "Submitted by:     Bob (bob)" in out
    assert "Additional users: Carol (carol)" in out
    assert "Created:          2026-10-01 09:00" in out
    assert "Last activity:    2026-10-03 09:00" in out


def test_proxy_access_effective_value_and_source(store):
    out = show("1001", "bob").stdout
    # bob's account default is on; carol has a ticket override
    assert "bob: on (account default)" in out
    assert "carol: on (ticket override)" in out


def test_chat_transcript(store):
    out = show("1002", "carol").stdout
    assert "Chat transcript (2 lines)" in out
    assert "Carol (carol): Hi, my invoice is wrong" in out


def test_phone_ticket_basic_info_and_derived_subject(store):
    out = show("1003", "bob").stdout
    assert out.splitlines()[0] == "Ticket 1003  Phone call – bob"
    assert "basic information only" in out


def test_call_details_closed_banner_and_feedback(store):
    out = show("1006", "alice").stdout
    assert out.splitlines()[0] == "Ticket 1006  Conference call – alice"
    assert "Scheduled:    2026-10-15 15:00" in out
    assert "Call status:  accepted" in out
    assert "Meeting link: https://meet.example.com/abc" in out
    assert "Passcode:     424242" in out
    assert (
        "This ticket has been closed. If you have more questions, open a new ticket and "
        "reference ticket 1006." in out
    )
    assert 'Feedback: 4/5 ★★★★☆ "Quick and clear"' in out


def test_show_json_is_the_document_without_notes_for_users(store):
    doc = show("1001", "bob", "-o", "json").json()
    assert doc["id"] == "1001"
    assert doc["subject"] == "Export fails with a timeout"
    assert [m["id"] for m in doc["messages"]] == ["m1", "m3"]
    assert doc["created_at"] == "2026-10-01T09:00:00Z"
    agent = show("1001", "dana", "-o", "json").json()
    assert [m["kind"] for m in agent["messages"]] == ["email", "note", "email"]


def test_someone_elses_ticket_is_not_found(store):
    for user, ticket_id in (
        ("bob", "1002"),
        ("gina", "1001"),
        ("alice", "1004"),
        ("carol", "1003"),
    ):
        result = show(ticket_id, user)
        assert result.exit_code == 3, (user, ticket_id)
        assert result.stderr == f"supportctl: error: ticket {ticket_id} not found\n"


def test_missing_and_hostile_ids_are_not_found(store):
    for ticket_id in ("9999", "../../etc/passwd", "..", ".hidden", "1001/../1001", "\x1b[31m1"):
        result = show(ticket_id, "dana")
        assert result.exit_code == 3, ticket_id
        assert "\x1b" not in result.stderr
    assert show("", "dana").exit_code == 2


def test_fedramp_refused_before_not_found(store):
    result = show("9999", "fed")
    assert result.exit_code == 4
    assert "FedRAMP" in result.stderr


def test_show_escalation_progress_and_estimate(tmp_path):
    from tests.conftest import jsonl, org, ticket, user

    docs = [
        org("acme", "Acme"),
        user("bob", "acme"),
        ticket("1001", "bob", "acme", status="escalated", escalation_id="CP-1234"),
        {
            "kind": "escalation",
            "id": "CP-1234",
            "ticket_id": "1001",
            "description": "Export worker times out",
            "stage": "confirm_resolution",
            "timeline": [
                {"stage": "submitted", "at": "2026-10-02T09:00:00Z"},
                {"stage": "in_engineering", "at": "2026-10-04T09:00:00Z"},
                {"stage": "confirm_resolution", "at": "2026-10-09T09:00:00Z"},
            ],
            "expected_resolution": "2026-10-20",
            "created_at": "2026-10-02T09:00:00Z",
            "updated_at": "2026-10-09T09:00:00Z",
        },
    ]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    out = show("1001", "bob").stdout
    assert "CP-1234: Export worker times out" in out
    assert "✓ submitted" in out
    assert "✓ evaluating           skipped" in out
    assert "▶ confirm resolution   2026-10-09 09:00" in out
    assert "· resolved             pending" in out
    assert "confirm that the fix" in out
    assert "Expected resolution: 2026-10-20 (an estimate, not a promise)" in out
