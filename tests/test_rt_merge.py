"""The rt backend's part of SPEC §16 against a scripted REST2 (responses): the subject and
Cc as RT fields, no category (refused), and RT's own merge (`PUT /ticket/{id}` with `MergeInto`) with
the same refusals as every backend, each before anything is sent."""

from __future__ import annotations

import json

import pytest
import responses

from supportctl.api import TicketChanges
from supportctl.errors import Conflict, PermissionDenied, UsageError
from tests.test_rt_mapping import BASE, rt_ticket, service


def agent() -> None:
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})


def sent() -> list[tuple[str, str]]:
    return [
        (c.request.method, c.request.url.split("?")[0].removeprefix(BASE))
        for c in responses.calls
        if c.request.url.startswith(BASE)
    ]


@responses.activate
def test_subject_and_cc_are_set_as_rt_fields_and_reported_as_events():
    agent()
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())  # before, then after:
    responses.get(
        f"{BASE}/ticket/7",
        json=rt_ticket(
            Subject="SSO loop",
            Cc=[{"id": "carol@example.com", "type": "user"}, {"id": "dan", "type": "user"}],
        ),
    )
    put = responses.put(f"{BASE}/ticket/7", json=["Subject changed", "Added dan as Cc"])
    ticket, added = service().update(
        "7", TicketChanges(subject=" SSO loop ", add_cc=("dan", "alice"))
    )
    # RT sets the Cc watchers to exactly the list; the requester (alice) is never a Cc.
    assert json.loads(put.calls[0].request.body) == {
        "Subject": "SSO loop",
        "Cc": ["carol@example.com", "dan"],
    }
    assert [(e.action, e.detail) for e in added] == [
        ("subject_changed", {"from": "Export times out", "to": "SSO loop"}),
        ("cc_changed", {"from": ["carol@example.com"], "to": ["carol@example.com", "dan"]}),
    ]
    assert ticket.subject == "SSO loop"


@responses.activate
def test_a_cc_rt_did_not_take_is_reported():
    agent()
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    responses.put(f"{BASE}/ticket/7", json=["User 'nobody' could not be found"])
    with pytest.raises(UsageError, match="RT did not change the cc of ticket 7: User 'nobody'"):
        service().update("7", TicketChanges(add_cc=("nobody",)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (TicketChanges(category="billing"), "RT keeps no category"),
        (TicketChanges(subject=""), "the subject must not be empty"),
        (TicketChanges(subject="x" * 251), "at most 250"),
    ],
)
@responses.activate
def test_edits_rt_cannot_hold_are_refused_before_anything_is_sent(changes, message):
    with pytest.raises(UsageError, match=message):
        service().update("7", changes)
    assert len(responses.calls) == 0


@responses.activate
def test_merge_uses_rts_own_merge_and_says_what_became_of_the_duplicate():
    agent()
    responses.get(f"{BASE}/ticket/8", json=rt_ticket(id=8, Subject="SSO loop too"))
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    merge = responses.put(f"{BASE}/ticket/8", json=["Merge Successful"])
    # RT answers for a merged ticket with the ticket it went into.
    responses.get(f"{BASE}/ticket/8", json=rt_ticket(Cc=[{"id": "dan", "type": "user"}]))
    result = service().merge("8", "7")
    assert json.loads(merge.calls[0].request.body) == {"MergeInto": 7}
    assert (result.ticket.id, result.ticket.status, result.ticket.resolution) == (
        "8",
        "closed",
        "duplicate",
    )
    assert result.ticket.duplicate_of == "7" and result.changed
    assert result.target.id == "7"
    assert sent() == [
        ("GET", "/user/root"),
        ("GET", "/ticket/8"),
        ("GET", "/ticket/7"),
        ("PUT", "/ticket/8"),
        ("GET", "/ticket/8"),
    ]


@responses.activate
def test_a_ticket_already_merged_into_the_target_changes_nothing():
    agent()
    responses.get(f"{BASE}/ticket/8", json=rt_ticket())  # 8 is now another name of 7
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    result = service().merge("8", "7")
    assert not result.changed and result.ticket.duplicate_of == "7"
    assert ("PUT", "/ticket/8") not in sent()


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (rt_ticket(id=8), rt_ticket(Status="resolved"), "ticket 7 is closed"),
        (rt_ticket(id=8, Status="rejected"), rt_ticket(), "ticket 8 is already closed"),
        (rt_ticket(id=9), rt_ticket(), "ticket 8 is already merged into ticket 9"),
        (rt_ticket(id=8), rt_ticket(id=9), "ticket 7 was merged into ticket 9"),
        (rt_ticket(id=8), rt_ticket(id=8), "would make a cycle"),  # 7 was merged into 8
    ],
)
@responses.activate
def test_merge_refusals_send_no_merge(source, target, message):
    agent()
    responses.get(f"{BASE}/ticket/8", json=source)
    responses.get(f"{BASE}/ticket/7", json=target)
    with pytest.raises(Conflict, match=message):
        service().merge("8", "7")
    assert not any(method == "PUT" for method, _ in sent())


@responses.activate
def test_merge_into_itself_and_by_a_customer_are_refused_without_a_merge():
    agent()
    with pytest.raises(Conflict, match="cannot be merged into itself"):
        service().merge("7", "7")
    responses.replace(responses.GET, f"{BASE}/user/root", json={"Name": "root", "Privileged": 0})
    svc = service()
    with pytest.raises(PermissionDenied, match="for agents"):
        svc.merge("8", "7")
    assert not any(method == "PUT" for method, _ in sent())


@responses.activate
def test_a_merge_rt_refused_is_reported():
    agent()
    responses.get(f"{BASE}/ticket/8", json=rt_ticket(id=8))
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    responses.put(f"{BASE}/ticket/8", json=["Permission Denied"])
    responses.get(f"{BASE}/ticket/8", json=rt_ticket(id=8))  # still itself
    with pytest.raises(PermissionDenied, match="RT did not merge ticket 8 into 7"):
        service().merge("8", "7")


@responses.activate
def test_the_same_number_written_twice_is_a_merge_into_itself():
    # RT reads 007 as ticket 7: a merge of 7 into 007 is into itself (exit 5), not a
    # ticket "already merged" (exit 0) nor a cycle.
    agent()
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    for source, target in (("7", "007"), ("007", " 7")):
        with pytest.raises(Conflict, match="cannot be merged into itself"):
            service().merge(source, target)
    assert not any(method == "PUT" for method, _ in sent())


@responses.activate
def test_an_id_of_digits_python_cannot_read_is_not_found_not_a_crash():
    from supportctl.errors import NotFound

    agent()
    for bad in ("²", "7²"):  # str.isdigit() takes superscripts, int() does not
        with pytest.raises(NotFound, match="not found"):
            service().merge(bad, "7")
        with pytest.raises(NotFound, match="not found"):
            service().show_ticket(bad)
    assert not any(method == "PUT" for method, _ in sent())
