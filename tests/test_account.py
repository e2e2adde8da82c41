"""Account pages (SPEC §2 contacts, §14; seed 002): contacts, `me`, billing contacts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from tests.conftest import NOW, jsonl, org, run, ts, user

TEAM = {
    "success_manager": {
        "name": "Rachel Kim",
        "email": "rachel.kim@vendor.example",
        "updated_at": "2026-01-02T03:04:05Z",
    },
    "account_executive": {"name": "Tom Alvarez", "email": None, "updated_at": None},
    "technical_account_manager": None,
}


# -- contacts: the account team (SPEC §2) -----------------------------------------------------


def test_import_of_contacts_round_trips_through_export(store):
    line = org(
        "acme3",
        "Acme Three",
        data_center="EU-1",
        package="CX Core",
        renewal_date="2027-03-31",
        account_team=TEAM,
        billing={
            "primary_contact": {
                "name": "Pat",
                "email": "pat@acme3.example",
                "updated_at": "2026-05-01T00:00:00Z",
            },
            "billing_contact": None,
            "confirmed_at": "2026-06-01T12:00:00Z",
        },
    )
    assert run("store", "import", "-", input=jsonl([line])).exit_code == 0
    exported = [json.loads(x) for x in run("store", "export").stdout.splitlines()]
    (back,) = [d for d in exported if d.get("kind") == "org" and d["id"] == "acme3"]
    assert back == line


def test_a_bare_name_in_an_import_line_is_a_name_only_contact(store):
    line = org("acme4", "Acme Four", account_team={"success_manager": "Rachel Kim"})
    assert run("store", "import", "-", input=jsonl([line])).exit_code == 0
    exported = [json.loads(x) for x in run("store", "export").stdout.splitlines()]
    (back,) = [d for d in exported if d.get("kind") == "org" and d["id"] == "acme4"]
    assert back["account_team"] == {
        "success_manager": {"name": "Rachel Kim", "email": None, "updated_at": None},
        "account_executive": None,
        "technical_account_manager": None,
    }


def test_a_bad_contact_is_refused_on_import(store):
    bad = org("acme5", "Acme Five", account_team={"success_manager": {"email": "x@y"}})
    result = run("store", "import", "-", input=jsonl([bad]))
    assert result.exit_code == 2 and "account_team.success_manager" in result.stderr
    bad = org("acme6", "Acme Six", renewal_date="next year")
    assert run("store", "import", "-", input=jsonl([bad])).exit_code == 2


def test_a_store_with_bare_team_names_is_migrated(store):
    """A store written by the code before contacts (schema 2, a team of bare names) is
    rewritten on opening: the current schema, every member a contact; nothing else changes."""
    from supportctl.storage import jsonstore

    orgs_path = store / "orgs.json"
    docs = json.loads(orgs_path.read_text())
    for doc in docs:  # the org document as the previous release wrote it
        doc.pop("renewal_date", None)
        doc["billing"].pop("confirmed_at", None)
        doc["account_team"] = {
            "success_manager": "Rachel Kim" if doc["id"] == "acme" else None,
            "account_executive": None,
            "technical_account_manager": None,
        }
    orgs_path.write_text(json.dumps(docs, indent=1) + "\n")
    meta = json.loads((store / "store.json").read_text())
    (store / "store.json").write_text(json.dumps(dict(meta, schema=2)) + "\n")

    view = run("--user", "alice", "org", "view", "-o", "json")
    assert view.exit_code == 0, view.stderr
    assert view.json()["org"]["account_team"]["success_manager"] == {
        "name": "Rachel Kim",
        "email": None,
        "updated_at": None,
    }
    assert json.loads((store / "store.json").read_text())["schema"] == jsonstore.SCHEMA == 4
    on_disk = {d["id"]: d for d in json.loads(orgs_path.read_text())}
    assert on_disk["acme"]["account_team"]["success_manager"]["name"] == "Rachel Kim"
    assert on_disk["globex"]["account_team"]["success_manager"] is None
    assert run("store", "check").exit_code == 0
    assert "Customer success manager:   Rachel Kim" in run("--user", "alice", "org", "view").stdout


def test_org_view_shows_the_team_as_contacts(store, backend):
    line = org("acme7", "Acme Seven", account_team=TEAM)
    docs = [line, user("ada", "acme7", "admin")]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    out = run("--user", "ada", "org", "view").stdout
    assert "Customer success manager:   Rachel Kim <rachel.kim@vendor.example>" in out
    assert "Account executive:          Tom Alvarez\n" in out
    assert "Technical account manager:  -" in out
    doc = run("--user", "ada", "org", "view", "-o", "json").json()
    assert doc["org"]["account_team"] == TEAM


# -- `me` (SPEC §14) --------------------------------------------------------------------------


def _storage():
    """The store the test's backend uses (json directory or PostgreSQL database)."""
    import os

    from supportctl.config import default_store_path

    url = os.environ.get("SUPPORTCTL_STORE", "")
    if url.startswith("postgres"):
        from supportctl.storage.postgres import PostgresStore

        return PostgresStore(url)
    from supportctl.storage.jsonstore import JsonStore

    return JsonStore(default_store_path())


def _renewing(days: int, confirmed_at: str | None = None) -> None:
    """Give acme a renewal ``days`` from now and billing contacts (confirmed or not)."""
    store = _storage()
    renewal = (NOW + timedelta(days=days)).date().isoformat()
    contact = {"name": "Alice", "email": "alice@example.com", "updated_at": ts(NOW)}
    store.update_org(
        "acme",
        lambda o: replace(
            o,
            renewal_date=renewal,
            account_team=TEAM,
            billing={
                "primary_contact": contact,
                "billing_contact": None,
                "confirmed_at": confirmed_at,
            },
        ),
    )


def test_me_for_a_brand_admin_shows_the_account_team(store, backend):
    _renewing(300)
    doc = run("--user", "alice", "me", "-o", "json").json()
    assert set(doc) == {"user", "org", "account_team", "admins"}
    assert doc["user"]["username"] == "alice" and doc["user"]["role"] == "admin"
    assert doc["org"] == {"id": "acme", "name": "Acme Corp", "data_center": ""}
    assert doc["account_team"] == TEAM and doc["admins"] is None
    out = run("--user", "alice", "me").stdout
    for text in ("Email:", "alice@example.com", "Username:", "Org ID:", "acme (Acme Corp)",
                 "User type:", "admin", "Data centre:", "FedRAMP:", "no",
                 "Proxy login access:", "Customer success manager:   Rachel Kim"):  # fmt: skip
        assert text in out, text


def test_me_for_an_agent_shows_their_orgs_team(store, backend):
    doc = run("--user", "dana", "me", "-o", "json").json()
    assert doc["admins"] is None and doc["account_team"] is not None


def test_me_for_a_user_shows_their_brand_admins(store, backend):
    doc = run("--user", "bob", "me", "-o", "json").json()
    assert doc["account_team"] is None
    assert doc["admins"] == [{"username": "alice", "name": "Alice", "email": "alice@example.com"}]
    assert doc["user"]["support_access"] is True
    assert "Alice <alice@example.com> (alice)" in run("--user", "bob", "me").stdout


def test_fedramp_users_see_no_admin_contact_details(store, backend):
    """SPEC §14 (002): in `me` and in `org view`, table and JSON; the rest stays."""
    _renewing(300)
    docs = [user("fedadmin", "acme", "admin", fedramp=True), user("zoe", "acme", "admin")]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    admin_emails = ["alice@example.com", "zoe@example.com"]
    me = run("--user", "fed", "me", "-o", "json")
    assert me.json()["account_team"] is None and me.json()["admins"] is None
    assert me.json()["user"]["email"] == "fed@example.com"  # their own stays
    view = run("--user", "fed", "org", "view", "-o", "json")
    assert [a["name"] for a in view.json()["admins"]] == ["Alice", "Fedadmin", "Zoe"]
    for out in (
        me.stdout,
        view.stdout,
        run("--user", "fed", "me").stdout,
        run("--user", "fed", "org", "view").stdout,
    ):
        assert not any(email in out for email in admin_emails), out
    assert "not shown to FedRAMP users" in run("--user", "fed", "me").stdout
    # A FedRAMP brand admin: the full view, without the other admins' (or their own) address.
    full = run("--user", "fedadmin", "org", "view", "-o", "json")
    assert full.exit_code == 0 and full.json()["ticket_counts"]["open"] == 2
    assert not any(e in full.stdout for e in [*admin_emails, "fedadmin@example.com"])
    assert full.json()["org"]["billing"]["primary_contact"]["name"] == "Alice"
    assert "bob@example.com" in full.stdout  # everything else they may see stays


def test_me_support_access_sets_the_account_default(store, backend):
    # carol has no override on 1003 (bob's) — use 1001, where carol has an override and bob not.
    before = {
        e["username"]: e
        for e in run("--user", "bob", "proxy-access", "show", "1001", "-o", "json").json()
    }
    assert before["bob"] == {"username": "bob", "effective": True, "source": "account"}
    off = run("--user", "bob", "me", "support-access", "off")
    assert off.exit_code == 0 and off.stdout == "off\n"
    assert "now off" in off.stderr and "not ended" in off.stderr
    after = {
        e["username"]: e
        for e in run("--user", "bob", "proxy-access", "show", "1001", "-o", "json").json()
    }
    assert after["bob"] == {"username": "bob", "effective": False, "source": "account"}
    assert after["carol"] == before["carol"]  # an override is untouched
    again = run("--user", "bob", "me", "support-access", "off")
    assert again.exit_code == 0 and "already off" in again.stderr
    assert run("--user", "bob", "me", "-o", "json").json()["user"]["support_access"] is False
    on = run("--user", "bob", "me", "support-access", "on")
    assert on.exit_code == 0 and on.stdout == "on\n"
    assert (
        run("--user", "bob", "tickets", "show", "1001", "-o", "json").json()["events"]
        == (run("--user", "dana", "tickets", "show", "1001", "-o", "json").json()["events"])
    )  # an event on no ticket
    assert run("--user", "dana", "me", "support-access", "on").exit_code == 4  # agents
    assert run("--user", "bob", "me", "support-access", "maybe").exit_code == 2


# -- billing contacts (SPEC §14) --------------------------------------------------------------


def test_billing_is_for_the_brand_admins_of_the_org(store, backend):
    for who in ("bob", "dana", "fed"):
        assert run("--user", who, "org", "billing", "show").exit_code == 4, who
        result = run("--user", who, "org", "billing", "set", "primary",
                     "--name", "Mallory", "--email", "m@example.com")  # fmt: skip
        assert result.exit_code == 4, who
        assert run("--user", who, "org", "billing", "confirm").exit_code == 4, who
    assert run("--user", "alice", "org", "billing", "show").exit_code == 0
    assert "of globex" in run("--user", "gadmin", "org", "billing", "show").stdout  # their own


def test_billing_of_another_org_is_refused(store):
    import pytest

    from supportctl.errors import PermissionDenied
    from supportctl.service import LocalService

    service = LocalService(_storage(), "gadmin")
    with pytest.raises(PermissionDenied):
        service.billing("acme")
    with pytest.raises(PermissionDenied):
        service.confirm_billing("acme")


def test_billing_set_validates_and_records_when(store, backend):
    def billing_set(*args: str):
        return run("--user", "alice", "org", "billing", "set", *args)

    assert billing_set("primary", "--name", "Pat").exit_code == 2  # --email is required
    assert billing_set("primary", "--email", "pat@example.com").exit_code == 2
    for bad in ("pat", "pat@", "@example.com", "pat@example", "pat example@x.com", "a@b@c.com"):
        result = billing_set("primary", "--name", "Pat", "--email", bad)
        assert result.exit_code == 2, bad
        assert "does not look like an email address" in result.stderr
    assert billing_set("primary", "--name", " ", "--email", "pat@example.com").exit_code == 2
    assert billing_set("owner", "--name", "Pat", "--email", "pat@example.com").exit_code == 2
    done = billing_set("billing", "--name", "Accounts Payable", "--email", "ap@example.com",
                       "-o", "json")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    contact = done.json()["billing_contact"]
    assert (contact["name"], contact["email"]) == ("Accounts Payable", "ap@example.com")
    assert contact["updated_at"] >= ts(NOW)
    assert "now Accounts Payable <ap@example.com>" in done.stderr
    again = billing_set("billing", "--name", "Accounts Payable", "--email", "ap@example.com",
                        "-o", "json")  # fmt: skip
    assert again.exit_code == 0 and "nothing changed" in again.stderr
    assert again.json()["billing_contact"] == contact
    view = run("--user", "alice", "org", "view", "-o", "json").json()
    assert view["org"]["billing"]["billing_contact"] == contact


def test_rt_refuses_the_account_commands():
    base = ["--backend", "rt", "--url", "https://rt.example.com/REST/2.0"]
    for args in (
        ["me"],
        ["me", "support-access", "on"],
        ["org", "billing", "show"],
        ["org", "billing", "set", "primary", "--name", "Pat", "--email", "pat@example.com"],
        ["org", "billing", "confirm"],
    ):
        result = run(*base, *args)
        assert result.exit_code == 2, args
        assert "is not supported by the `rt` backend" in result.stderr


def test_renewal_notice_until_confirmed(store, backend):
    _renewing(100)
    show = run("--user", "alice", "org", "billing", "show", "-o", "json")
    assert show.json()["confirm_due"] is True
    assert "please check the billing contacts" in show.stderr
    view = run("--user", "alice", "org", "view", "-o", "json")
    assert view.json()["confirm_due"] is True and "org billing confirm" in view.stderr
    table = run("--user", "alice", "org", "view")
    assert "please check the billing contacts" in table.stderr
    assert "please check" not in table.stdout
    # Users and agents are not asked (they cannot confirm).
    assert "please check" not in run("--user", "dana", "org", "view", "--org", "acme").stderr
    assert "please check" not in run("--user", "bob", "org", "view").stderr
    confirmed = run("--user", "alice", "org", "billing", "confirm", "-o", "json")
    assert confirmed.exit_code == 0 and confirmed.json()["confirmed_at"] >= ts(NOW)
    assert confirmed.json()["confirm_due"] is False
    after = run("--user", "alice", "org", "view", "-o", "json")
    assert after.json()["confirm_due"] is False and "please check" not in after.stderr
    assert after.json()["org"]["billing"]["confirmed_at"] == confirmed.json()["confirmed_at"]


def test_when_the_renewal_notice_is_due(store, backend):
    def due() -> bool:
        return run("--user", "alice", "org", "billing", "show", "-o", "json").json()["confirm_due"]

    _renewing(151)
    assert not due()  # not yet within 150 days
    _renewing(150)
    assert due()
    _renewing(-1)
    assert not due()  # renewed already
    # Confirmed in this cycle (since 150 days before the renewal): no notice.
    _renewing(100, confirmed_at=ts(NOW - timedelta(days=49)))
    assert not due()
    # Confirmed for the previous renewal only: the notice again.
    _renewing(100, confirmed_at=ts(NOW - timedelta(days=60)))
    assert due()


def test_the_demo_org_shows_the_notice_to_its_admin():
    assert run("store", "init", "--demo").exit_code == 0
    view = run("org", "view")
    assert view.exit_code == 0 and "please check the billing contacts" in view.stderr
    assert "please check" not in run("--user", "ben", "org", "view").stderr


def test_me_help_documents_the_exit_codes_and_agents_have_no_proxy_default(store):
    assert "Exit codes:" in run("me", "--help").stdout
    out = run("--user", "dana", "me").stdout
    assert "Proxy login access:         - (a customer's setting)" in out
