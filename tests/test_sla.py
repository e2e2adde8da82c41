"""Service levels (SPEC §10): hand-computed first response, resolution, breach and risk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supportctl.errors import UsageError
from supportctl.models import Ticket
from supportctl.service import LocalService
from supportctl.sla import SlaPolicy
from supportctl.storage import admin
from supportctl.storage.jsonstore import JsonStore
from tests.conftest import NOW, jsonl, message, run, small_store_docs, ticket, ts

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def at(**delta) -> str:
    return ts(T0 + timedelta(**delta))


def event(action: str, when: str, actor: str = "dana", **detail) -> dict:
    return {"at": when, "actor": actor, "action": action, "detail": detail}


@pytest.fixture
def jstore(tmp_path) -> JsonStore:
    store = JsonStore.create(tmp_path / "s")
    admin.import_lines(store, jsonl(small_store_docs()).encode().splitlines())
    return store


def sla(jstore, doc: dict, *, now: datetime, policy: SlaPolicy | None = None) -> dict:
    service = LocalService(jstore, "dana", clock=lambda: now, sla_policy=policy)
    body = {k: v for k, v in doc.items() if k != "kind"}
    return service.sla_of(Ticket.from_dict(body))


def high(**extra) -> dict:  # first response 4 h, resolution 3 d
    return ticket(
        "9001",
        "bob",
        "acme",
        **{"priority": "high", "created_at": at(), "updated_at": at(), **extra},
    )


def test_reply_exactly_at_the_target_is_not_a_breach(jstore):
    doc = high(messages=[message("m1", "bob", "help"), message("m2", "dana", "hi", at=at(hours=4))])
    result = sla(jstore, doc, now=T0 + timedelta(days=1))
    assert result["first_response_due"] == at(hours=4)
    assert result["first_response_at"] == at(hours=4)
    assert result["breached"] == []


def test_one_second_late_is_a_breach(jstore):
    doc = high(messages=[message("m2", "dana", "hi", at=at(hours=4, seconds=1))])
    assert sla(jstore, doc, now=T0 + timedelta(days=1))["breached"] == ["first_response"]


def test_internal_notes_and_customer_messages_are_not_a_first_response(jstore):
    doc = high(
        messages=[
            message("m1", "bob", "help", at=at(minutes=1)),
            message("m2", "dana", "looking", kind="note", at=at(hours=1)),
            message("m3", "dana", "answer", at=at(hours=5)),
        ]
    )
    result = sla(jstore, doc, now=T0 + timedelta(days=1))
    assert result["first_response_at"] == at(hours=5)
    assert result["breached"] == ["first_response"]


def test_chat_messages_by_agents_count(jstore):
    doc = high(type="chat", messages=[message("c1", "eve", "hello", kind="chat", at=at(minutes=3))])
    assert sla(jstore, doc, now=T0 + timedelta(hours=1))["first_response_at"] == at(minutes=3)


def test_no_agent_reply_yet_at_risk_and_breach_edges(jstore):
    doc = high(messages=[message("m1", "bob", "help")])
    # 1 h of 4 h left is exactly 25 %: not yet "under 25 %"
    edge = sla(jstore, doc, now=T0 + timedelta(hours=3))
    assert (edge["first_response_at"], edge["breached"], edge["at_risk"]) == (None, [], False)
    assert sla(jstore, doc, now=T0 + timedelta(hours=3, seconds=1))["at_risk"] is True
    # exactly at the due time: not breached; a second later: breached, and no longer "at risk"
    assert sla(jstore, doc, now=T0 + timedelta(hours=4))["breached"] == []
    late = sla(jstore, doc, now=T0 + timedelta(hours=4, seconds=1))
    assert (late["breached"], late["at_risk"]) == (["first_response"], False)


def test_reopened_ticket_keeps_its_first_resolution(jstore):
    doc = high(
        status="closed",
        resolution="solved",
        closed_at=at(days=5),
        updated_at=at(days=5),
        messages=[message("m1", "dana", "fixed", at=at(hours=1))],
        events=[
            event("status_changed", at(days=2), to="resolved", **{"from": "open"}),
            event(
                "status_changed",
                at(days=2, hours=1),
                actor="bob",
                to="open",
                **{"from": "resolved"},
            ),
            event("closed", at(days=5), to="closed", resolution="solved", **{"from": "open"}),
        ],
    )
    result = sla(jstore, doc, now=T0 + timedelta(days=10))
    assert result["resolution_due"] == at(days=3)
    assert result["resolved_at"] == at(days=2)
    assert result["breached"] == []


def test_resolution_from_closed_at_when_there_are_no_events(jstore):
    doc = high(
        status="closed",
        resolution="solved",
        closed_at=at(days=4),
        messages=[message("m1", "dana", "x", at=at(hours=1))],
    )
    result = sla(jstore, doc, now=T0 + timedelta(days=10))
    assert result["resolved_at"] == at(days=4)
    assert result["breached"] == ["resolution"]


def test_targets_come_from_the_config(jstore):
    policy = SlaPolicy.from_config(
        {"sla": {"first_response": {"high": "30m"}, "resolution": {"high": "2d"}}}
    )
    doc = high(messages=[message("m2", "dana", "hi", at=at(minutes=45))])
    result = sla(jstore, doc, now=T0 + timedelta(hours=1), policy=policy)
    assert result["first_response_due"] == at(minutes=30)
    assert result["resolution_due"] == at(days=2)
    assert result["breached"] == ["first_response"]


@pytest.mark.parametrize(
    "table",
    [
        {"first_response": {"p1": "1h"}},
        {"resolution": {"high": 3}},
        {"resolution": {"high": "soon"}},
        {"other": {}},
    ],
)
def test_bad_sla_config_is_a_usage_error(table):
    with pytest.raises(UsageError):
        SlaPolicy.from_config({"sla": table})


# -- through the CLI ---------------------------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("isolated_home")


def ago(**delta) -> str:
    return ts(NOW - timedelta(**delta))


@pytest.fixture
def live(store):
    docs = [
        # urgent (1 h), asked 3 h ago, nobody answered: breached
        ticket(
            "7001",
            "bob",
            "acme",
            priority="urgent",
            created_at=ago(hours=3),
            updated_at=ago(hours=3),
        ),
        # low (2 d / 14 d), asked an hour ago: ok
        ticket(
            "7002", "bob", "acme", priority="low", created_at=ago(hours=1), updated_at=ago(hours=1)
        ),
        # normal (1 d), asked 20 h ago: 4 h of 24 left, under 25 %: at risk
        ticket(
            "7003",
            "bob",
            "acme",
            priority="normal",
            created_at=ago(hours=20),
            updated_at=ago(hours=20),
        ),
    ]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    return store


@pytest.mark.usefixtures("backend")
def test_list_sla_filters_and_column(live):
    def ids(state):
        out = run("--user", "bob", "tickets", "list", "--sla", state, "-o", "ids", "--limit", "0")
        assert out.exit_code == 0, out.stderr
        return out.stdout.split()

    assert "7001" in ids("breached") and "7002" not in ids("breached")
    assert "7003" in ids("at-risk")
    assert "7002" in ids("ok")
    table = run("--user", "bob", "tickets", "list", "--sla", "breached").stdout
    assert table.splitlines()[0].split()[-1] == "SLA"
    row = next(line for line in table.splitlines() if line.startswith("7001"))
    assert "breached 2h ago" in row


@pytest.mark.usefixtures("backend")
def test_every_ticket_in_json_carries_its_sla(live):
    rows = run("--user", "bob", "tickets", "list", "-o", "json", "--limit", "0").json()
    assert all(set(r["sla"]) == {"first_response_due", "first_response_at", "resolution_due",
                                 "resolved_at", "breached", "at_risk", "excluded"} for r in rows)  # fmt: skip
    shown = run("--user", "bob", "tickets", "show", "7001", "-o", "json").json()
    assert shown["sla"]["breached"] == ["first_response"]
    replied = run("--user", "dana", "tickets", "reply", "7001", "-m", "on it", "-o", "json").json()
    assert replied["sla"]["first_response_at"] is not None
    assert replied["sla"]["breached"] == ["first_response"]  # late is late
    assert run("--user", "bob", "tickets", "list", "--sla", "sideways").exit_code == 2


def test_sla_is_computed_never_stored(live):
    run("--user", "dana", "tickets", "reply", "7001", "-m", "x")
    exported = run("store", "export").stdout
    assert '"sla"' not in exported and '"_sla"' not in exported
