"""The service layer directly: the reading rules of SPEC §3 without the CLI."""

from __future__ import annotations

import pytest

from supportctl.api import TicketQuery
from supportctl.errors import NotFound, PermissionDenied, UsageError
from supportctl.service import LocalService
from supportctl.storage import admin
from supportctl.storage.jsonstore import JsonStore
from tests.conftest import jsonl, small_store_docs


@pytest.fixture
def backend(tmp_path) -> JsonStore:
    store = JsonStore.create(tmp_path / "store")
    admin.import_lines(store, jsonl(small_store_docs()).encode().splitlines())
    return store


def listed(backend, user, **query) -> list[str]:
    result = LocalService(backend, user).list_tickets(TicketQuery(limit=0, **query))
    return sorted(t["id"] for t in result.tickets)


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        ("bob", {"1001", "1003"}),  # requester
        ("carol", {"1001", "1002"}),  # requester of 1002, cc on 1001
        ("alice", {"1001", "1002", "1003", "1005", "1006"}),  # admin of acme
        ("gadmin", {"1004"}),  # admin of globex
        ("gina", {"1004"}),
        ("dana", {"1001", "1002", "1003", "1004", "1005", "1006"}),  # agent
    ],
)
def test_who_sees_which_ticket(backend, user, visible):
    service = LocalService(backend, user)
    for ticket_id in ("1001", "1002", "1003", "1004", "1005", "1006"):
        if ticket_id in visible:
            assert service.get_visible_ticket(ticket_id).id == ticket_id
        else:
            with pytest.raises(NotFound, match=f"ticket {ticket_id} not found"):
                service.get_visible_ticket(ticket_id)


def test_scope_mine_and_org(backend):
    assert listed(backend, "alice") == ["1006"]
    assert listed(backend, "alice", scope="org") == ["1001", "1002", "1003", "1005", "1006"]
    assert listed(backend, "dana", scope="org", org="globex") == ["1004"]
    with pytest.raises(PermissionDenied):
        listed(backend, "bob", scope="org")
    with pytest.raises(PermissionDenied):
        listed(backend, "alice", scope="org", org="globex")


def test_fedramp_refused_for_list_and_show(backend):
    service = LocalService(backend, "fed")
    with pytest.raises(PermissionDenied, match="FedRAMP"):
        service.list_tickets(TicketQuery())
    with pytest.raises(PermissionDenied, match="FedRAMP"):
        service.show_ticket("1005")


def test_notes_hidden_from_users_and_admins(backend):
    for user in ("bob", "carol", "alice"):
        kinds = [m.kind for m in LocalService(backend, user).show_ticket("1001").ticket.messages]
        assert "note" not in kinds
    kinds = [m.kind for m in LocalService(backend, "dana").show_ticket("1001").ticket.messages]
    assert kinds == ["email", "note", "email"]


def test_proxy_entries_override_or_account(backend):
    entries = LocalService(backend, "bob").show_ticket("1001").proxy_access
    assert [e.to_dict() for e in entries] == [
        {"username": "bob", "effective": True, "source": "account"},
        {"username": "carol", "effective": True, "source": "override"},
    ]


def test_identity_errors(backend):
    with pytest.raises(PermissionDenied, match="no user configured"):
        LocalService(backend, None).list_tickets(TicketQuery())
    with pytest.raises(PermissionDenied, match="unknown user"):
        LocalService(backend, "mallory").list_tickets(TicketQuery())


def test_bad_query_values(backend):
    with pytest.raises(UsageError):
        LocalService(backend, "dana").list_tickets(TicketQuery(sort="subject"))
    with pytest.raises(UsageError):
        LocalService(backend, "dana").list_tickets(TicketQuery(limit=-1))


def test_one_change_is_one_moment_even_when_the_clock_ticks_during_it(backend):
    """A change's message, its events and `updated_at` carry one time, though the clock moves
    on while the change is made (it did: a second's tick split them now and then)."""
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 12, 1, tzinfo=UTC)
    ticks = iter(start + timedelta(seconds=s) for s in range(100))
    agent = LocalService(backend, "dana")
    agent.clock = lambda: next(ticks)
    ticket = agent.reply("1001", "one more detail")
    assert ticket.events[-1].at == ticket.messages[-1].at == ticket.updated_at
    escalated, _ = agent.create_escalation("1002", "needs engineering")
    escalated_events = [e for e in escalated.events if e.at >= "2026-12-01"]
    assert len(escalated_events) == 2  # escalated, and the status change
    assert {e.at for e in escalated_events} == {escalated.updated_at}
