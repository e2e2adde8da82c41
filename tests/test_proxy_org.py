"""Proxy login access (SPEC §5, §9) and the organisation view (SPEC §4, §9; seed 002)."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import jsonl, org, run

pytestmark = pytest.mark.usefixtures("backend")

OFF = "A support session already in progress is not ended; only future proxy logins are blocked."


def entries(user: str, ticket_id: str = "1001") -> list[dict]:
    result = run("--user", user, "proxy-access", "show", ticket_id, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def test_show_effective_value_and_source(store):
    # bob: account default on; carol: ticket override on
    assert entries("bob") == [
        {"username": "bob", "effective": True, "source": "account"},
        {"username": "carol", "effective": True, "source": "override"},
    ]
    table = run("--user", "alice", "proxy-access", "show", "1001").stdout
    assert "bob         on           account default" in table
    assert run("--user", "gina", "proxy-access", "show", "1001").exit_code == 3


def test_toggle_flips_the_effective_value_and_says_what_off_means(store):
    result = run("--user", "bob", "proxy-access", "toggle", "1001")
    assert result.exit_code == 0
    assert result.stdout == "off\n"
    assert OFF in result.stderr
    assert entries("bob")[0] == {"username": "bob", "effective": False, "source": "override"}
    again = run("--user", "bob", "proxy-access", "toggle", "1001")
    assert again.stdout == "on\n"
    assert "support may log in to your account" in again.stderr


def test_on_off_are_idempotent_and_store_an_override_equal_to_the_default(store):
    assert run("--user", "bob", "proxy-access", "toggle", "1001", "--on").exit_code == 0
    # equal to bob's account default, but now an override (SPEC §9)
    assert entries("bob")[0] == {"username": "bob", "effective": True, "source": "override"}
    path = store / "tickets" / "1001.json"
    before = path.read_bytes()
    second = run("--user", "bob", "proxy-access", "toggle", "1001", "--on")
    assert second.exit_code == 0
    assert "already on; nothing changed" in second.stderr
    assert path.read_bytes() == before


def test_toggle_records_an_event(store):
    run("--user", "carol", "proxy-access", "toggle", "1001", "--off")
    ticket = json.loads((store / "tickets" / "1001.json").read_text())
    event = ticket["events"][-1]
    assert event["action"] == "proxy_access_changed"
    assert event["actor"] == "carol"
    assert event["detail"] == {"user": "carol", "from": True, "to": False}


def test_someone_elses_setting_is_untouchable(store):
    before = (store / "tickets" / "1001.json").read_bytes()
    for user, code in (("dana", 4), ("gina", 3)):
        result = run("--user", user, "proxy-access", "toggle", "1001", "--off")
        assert result.exit_code == code, user
    assert (store / "tickets" / "1001.json").read_bytes() == before


def test_agents_have_no_proxy_access_of_their_own(store):
    """SPEC §5: even an agent on the ticket (here its assignee) is refused, nothing written."""
    before = (store / "tickets" / "1001.json").read_bytes()
    for flag in ("--on", "--off", None):
        result = run("--user", "dana", "proxy-access", "toggle", "1001", *([flag] if flag else []))
        assert result.exit_code == 4
        assert "agents have none of their own" in result.stderr
    assert (store / "tickets" / "1001.json").read_bytes() == before


def test_a_brand_admin_sees_and_sets_their_own_row(store):
    """SPEC §5: an admin who may see a ticket of their org, though not on it, is listed and
    may set their own value; the others' rows do not change."""
    shown = run("--user", "alice", "proxy-access", "show", "1001", "-o", "json").json()
    assert [e["username"] for e in shown] == ["bob", "carol", "alice"]
    assert shown[-1] == {"username": "alice", "effective": False, "source": "account"}
    result = run("--user", "alice", "proxy-access", "toggle", "1001", "--on")
    assert result.exit_code == 0, result.stderr
    after = run("--user", "alice", "proxy-access", "show", "1001", "-o", "json").json()
    assert after == [
        shown[0],
        shown[1],
        {"username": "alice", "effective": True, "source": "override"},
    ]
    # Everyone with an override stays listed, also for someone who is not that user.
    by_bob = run("--user", "bob", "proxy-access", "show", "1001", "-o", "json").json()
    assert [e["username"] for e in by_bob] == ["bob", "carol", "alice"]
    by_agent = run("--user", "dana", "proxy-access", "show", "1001", "-o", "json").json()
    assert [e["username"] for e in by_agent] == ["bob", "carol", "alice"]


def test_show_as_ids_lists_the_usernames(store):
    """`-o ids` prints each row's key; proxy rows have no id, their key is the username."""
    result = run("--user", "bob", "proxy-access", "show", "1001", "-o", "ids")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "bob\ncarol\n"


def test_on_and_off_together_is_a_usage_error(store):
    before = (store / "tickets" / "1001.json").read_bytes()
    result = run("--user", "carol", "proxy-access", "toggle", "1001", "--on", "--off")
    assert result.exit_code == 2
    assert result.stderr.startswith("supportctl: error: --on and --off")
    assert (store / "tickets" / "1001.json").read_bytes() == before


def test_closed_tickets_do_not_change(store):
    assert run("--user", "alice", "proxy-access", "toggle", "1006").exit_code == 5


# -- org view ---------------------------------------------------------------------------------------


def _with_org_details(store):
    details = org(
        "acme2",
        "Acme Two",
        data_center="EU-1 (Frankfurt)",
        package="CX Core",
        account_team={"success_manager": "Rachel Kim", "account_executive": None},
        billing={
            "primary_contact": {
                "name": "Alice",
                "email": "alice@example.com",
                "updated_at": "2026-08-20T10:00:00Z",
            }
        },
    )
    users = [
        {"kind": "user", "username": "zed", "org": "acme2", "role": "admin", "email": "zed@x"},
        {"kind": "user", "username": "yan", "org": "acme2"},
    ]
    assert run("store", "import", "-", input=jsonl([details, *users])).exit_code == 0


def test_admin_sees_everything_of_their_org(store):
    doc = run("--user", "alice", "org", "view", "-o", "json").json()
    assert set(doc) == {"org", "users", "ticket_counts", "open_escalations", "confirm_due"}
    assert doc["org"]["id"] == "acme"
    assert {u["username"]: u["role"] for u in doc["users"]} == {
        "alice": "admin",
        "bob": "user",
        "carol": "user",
        "fed": "user",
    }
    assert doc["ticket_counts"] == {
        "new": 1, "open": 2, "pending": 1, "escalated": 0, "resolved": 0, "closed": 1,
    }  # fmt: skip
    assert doc["open_escalations"] == []


def test_table_shows_team_and_billing_with_update_times(store):
    _with_org_details(store)
    out = run("--user", "zed", "org", "view").stdout
    assert "Data centre:  EU-1 (Frankfurt)" in out
    assert "Customer success manager:   Rachel Kim" in out
    assert "Primary contact:            Alice <alice@example.com> (updated 2026-08-20 10:00)" in out
    assert "Billing contact:            -" in out
    assert re.search(r"^  zed +admin +zed +<zed@x>$", out, re.M), out


def test_the_users_table_aligns_japanese_names_and_emoji(store):
    """Columns line up by display width: a name in Japanese takes two columns a character."""
    docs = [
        {"kind": "user", "username": "kenji", "name": "佐藤 健二", "email": "kenji@example.com",
         "org": "acme", "role": "user"},
        {"kind": "user", "username": "emo", "name": "Emo 🎉 Jones", "email": "emo@example.com",
         "org": "acme", "role": "user"},
    ]  # fmt: skip
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    out = run("--user", "alice", "org", "view").stdout
    from supportctl.render import display_width

    rows = [line for line in out.splitlines() if "@example.com>" in line]
    assert len(rows) >= 6
    starts = {display_width(line[: line.index("<")]) for line in rows}
    assert len(starts) == 1, rows  # every email starts in the same column


def test_user_sees_name_and_admins_only(store):
    doc = run("--user", "bob", "org", "view", "-o", "json").json()
    assert doc == {
        "org": {"id": "acme", "name": "Acme Corp"},
        "admins": [{"username": "alice", "name": "Alice", "email": "alice@example.com"}],
    }
    out = run("--user", "bob", "org", "view").stdout
    assert "Alice <alice@example.com>" in out
    assert "Tickets by status" not in out


def test_other_orgs_are_for_agents(store):
    assert run("--user", "alice", "org", "view", "--org", "globex").exit_code == 4
    assert run("--user", "bob", "org", "view", "--org", "globex").exit_code == 4
    agent = run("--user", "dana", "org", "view", "--org", "globex", "-o", "json")
    assert agent.exit_code == 0
    assert agent.json()["ticket_counts"]["open"] == 1
    own = run("--user", "dana", "org", "view", "-o", "json").json()
    assert own["org"]["id"] == "support"
    assert run("--user", "dana", "org", "view", "--org", "nowhere").exit_code == 3


def test_open_escalations_in_org_view(store):
    run("--user", "dana", "escalations", "create", "1001", "--description", "slow export")
    doc = run("--user", "alice", "org", "view", "-o", "json").json()
    assert [e["ticket_id"] for e in doc["open_escalations"]] == ["1001"]
    assert doc["ticket_counts"]["escalated"] == 1
    assert "ticket 1001  submitted" in run("--user", "alice", "org", "view").stdout
