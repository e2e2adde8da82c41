"""Triggers (SPEC §13): `[triggers.NAME]` route new tickets; `triggers list|test|run`."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.conftest import jsonl, run, small_store_docs, ticket, user

BILLING = """
[triggers.billing]
category = "billing"
group = "billing"
assignee = "least-busy"
add_tags = ["billing", "routed"]

[triggers.outage]
subject_contains = ["OUTAGE", "is down"]
set_priority = "urgent"

[triggers.urgent-to-tier2]
priority = "urgent"
group = "tier2"
"""


def _config(text: str) -> Path:
    path = Path(os.environ["SUPPORTCTL_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _store(*extra: dict) -> None:
    docs = small_store_docs()
    # dana: billing and technical; eve: billing; fay: technical only
    for doc in docs:
        if doc.get("username") == "dana":
            doc["groups"] = ["billing", "technical"]
        if doc.get("username") == "eve":
            doc["groups"] = ["billing"]
    docs += [user("fay", "support", "agent", groups=["technical"]), *extra]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0


def _create(who: str, subject: str, *args: str) -> dict:
    result = run("--user", who, "tickets", "create", "--subject", subject, *args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def _by_trigger(doc: dict) -> list[tuple[str, str, object, object]]:
    return [
        (e["detail"]["trigger"], e["action"], e["detail"]["from"], e["detail"]["to"])
        for e in doc["events"]
        if "trigger" in e["detail"]
    ]


def test_a_new_ticket_is_routed_by_the_triggers_in_file_order(backend):
    _config(BILLING)
    _store()
    doc = _create(
        "bob", "The site is DOWN? no: outage in invoices", "--category", "billing", "-m", "x"
    )
    # billing: dana has 1 open ticket (1001), eve 0 → eve; then outage → urgent; then
    # urgent-to-tier2 sees the urgent priority the earlier trigger set.
    assert (doc["group"], doc["assignee"], doc["status"]) == ("tier2", "eve", "open")
    assert doc["priority"] == "urgent"
    assert doc["tags"] == ["billing", "routed"]
    assert _by_trigger(doc) == [
        ("billing", "group_changed", None, "billing"),
        ("billing", "assigned", None, "eve"),
        ("billing", "status_changed", "new", "open"),
        ("billing", "tags_changed", [], ["billing", "routed"]),
        ("outage", "priority_changed", "normal", "urgent"),
        ("urgent-to-tier2", "group_changed", "billing", "tier2"),
    ]
    shown = run("--user", "dana", "tickets", "show", doc["id"])
    assert "assigned - → eve (by trigger billing)" in shown.stdout
    assert "group changed billing → tier2 (by trigger urgent-to-tier2)" in shown.stdout


def test_conditions_all_hold_and_a_list_means_any_of(backend):
    _config(
        """
[triggers.acme-web-en]
org = ["globex", "acme"]
type = "web"
language = "en"
requester = ["bob", "carol"]
body_contains = "INVOICE"
add_tags = "acme"
"""
    )
    _store()
    hit = _create("bob", "Question", "-m", "My invoice is wrong")
    assert hit["tags"] == ["acme"] and hit["status"] == "new"  # no assignee: still new
    assert _create("bob", "Question", "-m", "My bill is wrong")["tags"] == []  # body
    assert _create("bob", "Q", "--type", "email", "-m", "invoice")["tags"] == []  # type
    assert _create("alice", "Q", "-m", "invoice")["tags"] == []  # requester
    assert _create("gina", "Q", "-m", "invoice")["events"][-1]["action"] == "created"


def test_least_busy_counts_new_open_pending_and_ties_go_by_username(backend):
    _config(
        """
[triggers.tech]
category = "technical"
group = "technical"
assignee = "least-busy"
"""
    )
    busy = [
        ticket("2001", "bob", "acme", assignee="fay", status="pending"),
        ticket("2002", "bob", "acme", assignee="fay", status="resolved"),  # not counted
        ticket("2003", "bob", "acme", assignee="fay", status="closed", resolution="solved"),
    ]
    _store(*busy)
    # dana: 1001 (open); fay: 2001 (pending) → a tie, by username: dana
    first = _create("bob", "Crash", "--category", "technical", "-m", "x")
    assert first["assignee"] == "dana"
    # now dana 2, fay 1 → fay
    assert _create("bob", "Crash 2", "--category", "technical", "-m", "x")["assignee"] == "fay"


def test_least_busy_with_no_agent_in_the_group_leaves_the_ticket_unassigned(backend):
    _config(
        """
[triggers.legal]
subject_contains = "contract"
group = "legal"
assignee = "least-busy"
"""
    )
    _store()
    doc = _create("bob", "Contract renewal", "-m", "x")
    assert (doc["group"], doc["assignee"], doc["status"]) == ("legal", None, "new")
    test = run("--user", "dana", "triggers", "test", doc["id"], "-o", "json")
    assert test.json()[0]["fired"][0]["note"] == "no agent in group legal; left unassigned"


@pytest.mark.json_only("the acting user's config is read by the CLI itself")
def test_a_named_assignee_who_is_not_an_agent_is_a_configuration_error():
    _config('[triggers.to-bob]\nsubject_contains = "x"\nassignee = "bob"\n')
    _store()
    before = run("store", "export").stdout
    result = run("--user", "carol", "tickets", "create", "--subject", "x", "-m", "y")
    assert result.exit_code == 2
    assert "trigger to-bob: assignee 'bob' is not an agent" in result.stderr
    assert run("store", "export").stdout == before  # nothing written


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[triggers.t]\ncolour = "red"\ngroup = "g"\n', "[triggers.t]: unknown key(s) colour"),
        ('[triggers.t]\ntype = "fax"\ngroup = "g"\n', "'type' value 'fax' is not one of"),
        ('[triggers.t]\npriority = "urgent"\n', "[triggers.t] does nothing"),
        ('[triggers.t]\nset_priority = "asap"\n', "'set_priority' value 'asap'"),
        ('[triggers.t]\nassignee = "least-busy"\n', "needs a 'group'"),
        ("[triggers.t]\nadd_tags = [1]\n", "'add_tags' must be"),
        ('[triggers.t]\nsubject_contains = []\ngroup = "g"\n', "'subject_contains' must be"),
        ('triggers = "all"\n', "[triggers] must be a table"),
    ],
)
def test_a_bad_trigger_is_a_configuration_error_naming_it(store, text, named):
    _config(text)
    result = run("--user", "dana", "tickets", "list")
    assert result.exit_code == 2
    assert named in result.stderr and "config file" in result.stderr
    assert run("config", "list").exit_code == 2  # every command, as for a bad profile


def test_triggers_list(backend):
    _config(BILLING)
    _store()
    result = run("--user", "dana", "triggers", "list", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert [t["name"] for t in result.json()] == ["billing", "outage", "urgent-to-tier2"]
    assert result.json()[1] == {
        "name": "outage",
        "conditions": {"subject_contains": ["OUTAGE", "is down"]},
        "actions": {"priority": "urgent"},
    }
    table = run("--user", "dana", "triggers", "list").stdout
    assert "group billing; assignee least-busy; add_tags billing, routed" in table


def test_triggers_test_says_what_would_fire_and_writes_nothing(backend):
    _config(BILLING)
    _store()
    assert run("--user", "dana", "triggers", "list").exit_code == 0  # server up, token made
    store = Path(os.environ["XDG_DATA_HOME"]) / "supportctl"

    def snapshot() -> dict[str, bytes]:
        return {
            str(p): p.read_bytes()
            for p in sorted(store.rglob("*"))
            if p.is_file() and p.name != "store.lock" and "requests" not in p.parts
        }

    before = snapshot()
    result = run("--user", "dana", "triggers", "test", "1002", "1004", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert snapshot() == before
    first, second = result.json()
    assert first["ticket"] == "1002" and [f["trigger"] for f in first["fired"]] == ["billing"]
    assert {"action": "assigned", "from": None, "to": "eve"} in first["fired"][0]["changes"]
    assert second == {"ticket": "1004", "fired": [], "applied": False, "note": ""}
    table = run("--user", "dana", "triggers", "test", "1004")
    assert "no trigger fires" in table.stdout


def test_triggers_run_applies_them_once_to_existing_tickets(backend):
    _config(BILLING)
    _store()
    result = run("--user", "dana", "triggers", "run", "-", input="1002\n1004\n")
    assert result.exit_code == 0, result.stderr
    assert "ticket 1002: routed by billing" in result.stderr
    assert "changed 1, unchanged 1, failed 0" in result.stderr
    doc = run("--user", "dana", "tickets", "show", "1002", "-o", "json").json()
    assert (doc["group"], doc["assignee"], doc["status"]) == ("billing", "eve", "pending")
    assert [e[0] for e in _by_trigger(doc)] == ["billing"] * 3
    again = run("--user", "dana", "triggers", "run", "1002", "-o", "json")
    assert again.json()[0]["applied"] is False  # least-busy keeps an agent of the group
    closed = run("--user", "dana", "triggers", "run", "1006")
    assert closed.exit_code == 5 and "closed" in closed.stderr


@pytest.mark.parametrize("command", ["list", "test", "run"])
def test_triggers_are_for_agents(backend, command):
    _config(BILLING)
    _store()
    before = run("store", "export").stdout
    args = [] if command == "list" else ["1002"]
    result = run("--user", "alice", "triggers", command, *args)
    assert result.exit_code == 4
    assert "for agents" in result.stderr
    assert run("store", "export").stdout == before


def test_the_rt_backend_refuses_triggers():
    for command in (["list"], ["test", "1"], ["run", "1"]):
        result = run("--backend", "rt", "--url", "https://rt.example.com", "triggers", *command)
        assert result.exit_code == 2
        expected = f"`triggers {command[0]}` is not supported by the `rt` backend"
        assert expected in result.stderr


def test_over_http_the_servers_triggers_route_not_the_clients(tmp_path):
    from supportctl.config import default_store_path
    from supportctl.server.app import create_app
    from supportctl.server.serving import make_server
    from supportctl.storage import admin
    from supportctl.storage.jsonstore import JsonStore

    _store()
    server_config = tmp_path / "server.toml"
    server_config.write_text('[triggers.server-side]\nsubject_contains = "x"\ngroup = "server"\n')
    _config('[triggers.client-side]\nsubject_contains = "x"\ngroup = "client"\n')
    app = create_app(default_store_path(), log=lambda line: None, config_path=server_config)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        _record, token = admin.create_token(JsonStore(default_store_path()), "bob")
        _record, agent = admin.create_token(JsonStore(default_store_path()), "dana")
        url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
        http = ["--backend", "http", "--url", url]
        created = run(
            *http,
            "tickets",
            "create",
            "--subject",
            "x",
            "-m",
            "y",
            "-o",
            "json",
            env={"SUPPORTCTL_TOKEN": token},
        )
        assert created.exit_code == 0, created.stderr
        assert created.json()["group"] == "server"
        listed = run(*http, "triggers", "list", "-o", "json", env={"SUPPORTCTL_TOKEN": agent})
        assert [t["name"] for t in listed.json()] == ["server-side"]
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    # on the json backend the same user's own config routes
    local = _create("bob", "x", "-m", "y")
    assert local["group"] == "client"


def test_a_server_with_a_bad_trigger_does_not_start(tmp_path):
    from supportctl.errors import UsageError
    from supportctl.server.app import create_app

    _store()
    bad = tmp_path / "server.toml"
    bad.write_text('[triggers.oops]\nwhen = "always"\ngroup = "g"\n')
    from supportctl.config import default_store_path

    with pytest.raises(UsageError, match=r"\[triggers.oops\]: unknown key\(s\) when"):
        create_app(default_store_path(), config_path=bad)
    result = run("serve", "--port", "0", "--config", str(bad))
    assert result.exit_code == 2 and "[triggers.oops]" in result.stderr
