"""Account pages (SPEC §2 contacts, §14; seed 002): contacts, `me`, billing contacts."""

from __future__ import annotations

import json

from tests.conftest import jsonl, org, run, user

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
    rewritten on opening: schema 3, every member a contact; nothing else changes."""
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
    assert json.loads((store / "store.json").read_text())["schema"] == jsonstore.SCHEMA == 3
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
