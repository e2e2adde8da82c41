"""The rt backend's mapping edge cases (SPEC §11), against canned REST2 answers: fast."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import responses

from supportctl.api import TicketChanges, TicketQuery
from supportctl.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    Unavailable,
    UsageError,
)
from supportctl.remote import rt
from supportctl.remote.rt import (
    PRIORITY_TO_RT,
    RtClient,
    RtService,
    credentials,
    priority_from_rt,
    priority_sql,
    rest_url,
    sql_quote,
    status_from_rt,
    thread_from_rt,
    ticket_from_rt,
    ticket_sql,
)
from tests.conftest import run

BASE = "http://rt.test/REST/2.0"
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def service() -> RtService:
    client = RtClient(BASE, auth=("root", "pw"), token=None, sleep=lambda s: None)
    svc = RtService(client, "root")
    svc.clock = lambda: NOW
    return svc


def rt_ticket(**over):
    doc = {
        "id": 7,
        "Subject": "Export times out",
        "Status": "open",
        "Queue": {"id": "1", "type": "queue", "Name": "General"},
        "Owner": {"id": "Nobody", "type": "user"},
        "Requestor": [{"id": "alice", "type": "user"}, {"id": "bob", "type": "user"}],
        "Cc": [{"id": "carol@example.com", "type": "user"}],
        "Priority": "50",
        "Created": "2026-11-20T10:00:00Z",
        "LastUpdated": "2026-11-21T10:00:00Z",
        "Resolved": "1970-01-01T00:00:00Z",
        "CustomFields": [],
    }
    doc.update(over)
    return doc


# -- statuses -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rt_status", "status", "resolution"),
    [
        ("new", "new", None),
        ("open", "open", None),
        ("stalled", "pending", None),
        ("resolved", "closed", "solved"),
        ("rejected", "closed", "other"),
        ("deleted", "closed", "other"),
        ("waiting-for-vendor", "open", None),  # a custom lifecycle's status
    ],
)
def test_status_map(rt_status, status, resolution):
    assert status_from_rt(rt_status) == (status, resolution)


def test_closed_at_only_when_closed():
    resolved = ticket_from_rt(rt_ticket(Status="resolved", Resolved="2026-11-22T08:00:00Z"))
    assert (resolved.status, resolved.resolution, resolved.closed_at) == (
        "closed",
        "solved",
        "2026-11-22T08:00:00Z",
    )
    reopened = ticket_from_rt(rt_ticket(Status="open", Resolved="2026-11-22T08:00:00Z"))
    assert reopened.closed_at is None


# -- people, queue, times ----------------------------------------------------------------------
def test_people_queue_and_times():
    t = ticket_from_rt(rt_ticket(Owner={"id": "sam", "type": "user"}))
    assert t.requester == "alice"  # the first requestor
    assert t.cc == ["carol@example.com"]
    assert t.assignee == "sam"
    assert t.group == "General"
    assert (t.created_at, t.updated_at) == ("2026-11-20T10:00:00Z", "2026-11-21T10:00:00Z")
    assert ticket_from_rt(rt_ticket()).assignee is None  # Nobody = none
    assert ticket_from_rt(rt_ticket(Requestor=[])).requester == "Nobody"


def test_queue_name_looked_up_when_not_expanded():
    t = ticket_from_rt(rt_ticket(Queue={"id": "3", "type": "queue"}), lambda q: f"queue-{q}")
    assert t.group == "queue-3"


def test_tags_from_the_tags_custom_field():
    cfs = [{"name": "Tags", "id": 4, "values": ["sso", "vip"]}, {"name": "Other", "values": ["x"]}]
    assert ticket_from_rt(rt_ticket(CustomFields=cfs)).tags == ["sso", "vip"]


# -- priorities ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "level"),
    [
        (0, "low"),
        ("24", "low"),
        ("25", "normal"),
        (50, "normal"),
        (74, "normal"),
        (75, "high"),
        (99, "high"),
        (100, "urgent"),
        (250, "urgent"),
        (-5, "low"),
        ("", "low"),
        ("Medium", "normal"),  # not a number: the default level
    ],
)
def test_priority_thresholds(number, level):
    assert priority_from_rt(number) == level


def test_priority_round_trips():
    for level, number in PRIORITY_TO_RT.items():
        assert priority_from_rt(number) == level


def test_priority_sql_ranges():
    assert priority_sql("low") == "Priority < 25"
    assert priority_sql("normal") == "Priority >= 25 AND Priority < 75"
    assert priority_sql("high") == "Priority >= 75 AND Priority < 100"
    assert priority_sql("urgent") == "Priority >= 100"


# -- TicketSQL ---------------------------------------------------------------------------------
def test_sql_quote_escapes_quotes_and_backslashes():
    assert sql_quote("it's") == r"'it\'s'"
    assert sql_quote("a\\b") == r"'a\\b'"
    assert sql_quote("x' OR id > '0") == r"'x\' OR id > \'0'"


def test_sql_scope_mine_and_statuses():
    sql = ticket_sql(TicketQuery(statuses=("pending", "closed")), "root", now=NOW)
    assert sql == (
        "Status != 'deleted' AND (Requestor.Name = 'root' OR Cc.Name = 'root' OR Owner = 'root')"
        " AND (Status = 'stalled' OR Status = 'resolved' OR Status = 'rejected')"
    )


def test_sql_org_scope_has_no_watcher_clause():
    assert ticket_sql(TicketQuery(scope="org"), "root", now=NOW) == "Status != 'deleted'"


@pytest.mark.parametrize(
    "query",
    [
        TicketQuery(scope="org", statuses=("resolved",)),
        TicketQuery(scope="org", statuses=("escalated",)),
        TicketQuery(scope="org", types=("phone",)),
        TicketQuery(scope="org", categories=("billing",)),
        TicketQuery(scope="org", org="acme"),
    ],
)
def test_sql_filters_rt_cannot_hold_match_nothing(query):
    assert ticket_sql(query, "root", now=NOW).endswith(" AND id = 0")


def test_sql_every_filter():
    query = TicketQuery(
        scope="org",
        priorities=("low", "urgent"),
        assignee="none",
        requester="o'brien",
        tags=("sso", "vip"),
        since=datetime(2026, 11, 1, tzinfo=UTC),
        until=datetime(2026, 11, 20, 12, 30, tzinfo=UTC),
        idle=timedelta(days=14),
        search="50% off 'now'",
        types=("email", "web"),
        categories=("general",),
    )
    assert ticket_sql(query, "root", now=NOW) == (
        "Status != 'deleted'"
        " AND (Priority < 25 OR Priority >= 100)"
        " AND Owner = 'Nobody'"
        r" AND Requestor.Name = 'o\'brien'"
        " AND CF.{Tags} = 'sso' AND CF.{Tags} = 'vip'"
        " AND Created >= '2026-11-01 00:00:00'"
        " AND Created <= '2026-11-20 12:30:00'"
        " AND LastUpdated < '2026-11-09 12:00:00'"
        r" AND (Subject LIKE '50% off \'now\'' OR Content LIKE '50% off \'now\'')"
    )


def test_sql_assignee_me():
    assert "Owner = 'sam'" in ticket_sql(TicketQuery(assignee="@me"), "sam", now=NOW)


# -- history → messages and events ------------------------------------------------------------
def test_history_to_messages_and_events():
    user = {"6": "Nobody", "14": "sam"}
    queue = {"1": "General", "2": "Billing"}
    txns = [
        {
            "id": "10",
            "Type": "Create",
            "Creator": {"id": "alice"},
            "Created": "2026-11-20T10:00:00Z",
        },
        {
            "id": "11",
            "Type": "Correspond",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T11:00:00Z",
        },
        {
            "id": "12",
            "Type": "Status",
            "Field": "Status",
            "OldValue": "new",
            "NewValue": "open",
            "Creator": {"id": "RT_System"},
            "Created": "2026-11-20T11:00:00Z",
        },
        {
            "id": "13",
            "Type": "Comment",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:00:00Z",
        },
        {
            "id": "14",
            "Type": "Set",
            "Field": "Owner",
            "OldValue": "6",
            "NewValue": "14",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:01:00Z",
        },
        {
            "id": "15",
            "Type": "Set",
            "Field": "Queue",
            "OldValue": "1",
            "NewValue": "2",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:02:00Z",
        },
        {
            "id": "16",
            "Type": "Set",
            "Field": "Priority",
            "OldValue": "50",
            "NewValue": "60",  # same level: no event
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:03:00Z",
        },
        {
            "id": "17",
            "Type": "Set",
            "Field": "Priority",
            "OldValue": "60",
            "NewValue": "100",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:04:00Z",
        },
        {
            "id": "18",
            "Type": "Status",
            "Field": "Status",
            "OldValue": "open",
            "NewValue": "rejected",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:05:00Z",
        },
        {
            "id": "19",
            "Type": "AddWatcher",
            "Creator": {"id": "sam"},
            "Created": "2026-11-20T12:06:00Z",
        },
    ]
    parts = [
        {"id": "1", "TransactionId": "10", "ContentType": "multipart/mixed", "Filename": ""},
        {
            "id": "2",
            "TransactionId": "10",
            "ContentType": "text/plain",
            "Filename": "",
            "Content": "Help\n",
        },
        {
            "id": "3",
            "TransactionId": {"id": "10", "type": "transaction"},
            "ContentType": "text/csv",
            "Filename": "data.csv",
            "ContentLength": "4",
            "sha256": "ab" * 32,
        },
        {
            "id": "4",
            "TransactionId": "11",
            "ContentType": "text/html",
            "Filename": "",
            "Content": "<p>x</p>",
        },
        {
            "id": "5",
            "TransactionId": "11",
            "ContentType": "text/plain",
            "Filename": "",
            "Content": "On it",
        },
        {
            "id": "6",
            "TransactionId": "13",
            "ContentType": "text/plain",
            "Filename": "",
            "Content": "legacy plan",
        },
    ]
    messages, events = thread_from_rt(txns, parts, user.get, queue.get)
    assert [(m.id, m.kind, m.author, m.body) for m in messages] == [
        ("10", "email", "alice", "Help"),
        ("11", "email", "sam", "On it"),
        ("13", "note", "sam", "legacy plan"),
    ]
    assert [(a.name, a.size, a.content_type) for a in messages[0].attachments] == [
        ("data.csv", 4, "text/csv")
    ]
    assert [(e.action, e.detail) for e in events] == [
        ("created", {}),
        ("replied", {"message": "11"}),
        ("status_changed", {"from": "new", "to": "open"}),
        ("noted", {"message": "13"}),
        ("assigned", {"from": None, "to": "sam"}),
        ("group_changed", {"from": "General", "to": "Billing"}),
        ("priority_changed", {"from": "normal", "to": "urgent"}),
        ("closed", {"from": "open", "to": "closed", "resolution": "other"}),
    ]


# -- credentials and URL ------------------------------------------------------------------------
def settings(**over):
    values = {
        "token": None,
        "user": None,
        "url": "http://rt.test",
        "timeout": 5.0,
        "ca_bundle": None,
    }
    values.update(over)
    return SimpleNamespace(**values)


def test_credentials(monkeypatch):
    assert credentials(settings(token="root:s3:cret")) == (("root", "s3:cret"), None, "root")
    assert credentials(settings(token="1-14-abcdef", user="sam")) == (None, "1-14-abcdef", "sam")
    monkeypatch.setenv("SUPPORTCTL_RT_PASSWORD", "pw")
    assert credentials(settings(user="sam")) == (("sam", "pw"), None, "sam")
    monkeypatch.delenv("SUPPORTCTL_RT_PASSWORD")
    with pytest.raises(AuthenticationFailed):
        credentials(settings(user="sam"))


def test_rest_url():
    assert rest_url("https://rt.example.com/") == "https://rt.example.com/REST/2.0"
    assert rest_url("https://rt.example.com/REST/2.0") == "https://rt.example.com/REST/2.0"


@responses.activate
def test_token_header_and_basic_auth_sent():
    responses.get(f"{BASE}/user/sam", json={"Name": "sam", "Privileged": 1})
    svc = rt.open_service(settings(token="1-14-abcdef", user="sam"))
    svc.client.base_url = BASE
    assert svc.actor.is_agent
    assert responses.calls[0].request.headers["Authorization"] == "token 1-14-abcdef"
    svc = rt.open_service(settings(token="sam:pw"))
    svc.client.base_url = BASE
    assert svc.actor.username == "sam"
    assert responses.calls[1].request.headers["Authorization"].startswith("Basic ")


# -- errors ------------------------------------------------------------------------------------
@responses.activate
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, UsageError),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
        (500, Unavailable),
        (503, Unavailable),
    ],
)
def test_error_mapping(status, error):
    responses.get(f"{BASE}/ticket/7", json={"message": "Nope"}, status=status)
    with pytest.raises(error) as caught:
        service()._raw("7")
    if status == 404:  # named, as on every backend
        assert caught.value.message == "ticket 7 not found"
    elif status < 500 and status != 401:
        assert "Nope" in caught.value.message


def test_non_numeric_id_is_not_found_without_a_request():
    with pytest.raises(NotFound):
        service()._raw("abc")
    with pytest.raises(UsageError):
        service()._raw(" ")


# -- listing: lazy pages -----------------------------------------------------------------------
@responses.activate
def test_list_pages_lazily_and_reports_the_total():
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})
    responses.get(
        f"{BASE}/tickets",
        json={
            "items": [rt_ticket(id=i) for i in range(1, 101)],
            "page": 1,
            "pages": 3,
            "total": 250,
        },
    )
    result = service().list_tickets(TicketQuery(scope="org", limit=10))
    assert [t["id"] for t in result.tickets] == [str(i) for i in range(1, 11)]
    assert result.total == 250
    searches = [c for c in responses.calls if "/tickets" in c.request.url]
    assert len(searches) == 1  # no page past what --limit needs
    assert "Status+%21%3D+%27deleted%27" in searches[0].request.url
    assert "orderby=Created" in searches[0].request.url and "order=DESC" in searches[0].request.url
    assert result.tickets[0]["sla"] is not None


@responses.activate
def test_list_follows_pages_for_limit_zero():
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})
    for page in (1, 2):
        responses.get(
            f"{BASE}/tickets",
            match=[responses.matchers.query_param_matcher({"page": str(page)}, strict_match=False)],
            json={"items": [rt_ticket(id=page)], "page": page, "pages": 2, "total": 2},
        )
    result = service().list_tickets(TicketQuery(scope="org", limit=0))
    assert [t["id"] for t in result.tickets] == ["1", "2"]


# -- refusals and update checks ------------------------------------------------------------------
def test_feedback_is_refused_with_the_spec_message():
    """The registry refuses it before the service is built; the method itself is not
    reachable from the command line (calling it is a bug, not a user's mistake)."""
    result = run(
        "--backend", "rt", "--url", "http://rt.test", "tickets", "feedback", "7", "--rating", "5"
    )
    assert result.exit_code == 2
    assert (
        result.stderr
        == "supportctl: error: `tickets feedback` is not supported by the `rt` backend\n"
    )
    with pytest.raises(NotImplementedError):
        service().feedback("7", 5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (TicketChanges(status="resolved"), "no `resolved` status"),
        (TicketChanges(status="closed"), "tickets close"),
        (TicketChanges(group=""), "always in a queue"),
    ],
)
def test_update_refusals(changes, message):
    with pytest.raises(UsageError, match=message):
        service().update("7", changes)


@responses.activate
def test_update_tags_without_the_custom_field_is_refused():
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    with pytest.raises(UsageError, match="custom field 'Tags'"):
        service().update("7", TicketChanges(add_tags=("sso",)))


@responses.activate
def test_update_sends_rt_fields_and_opens_a_new_ticket_on_assign():
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})
    responses.get(f"{BASE}/ticket/7", json=rt_ticket(Status="new"))  # before, then after:
    responses.get(
        f"{BASE}/ticket/7", json=rt_ticket(Status="open", Owner={"id": "root"}, Priority="100")
    )
    put = responses.put(f"{BASE}/ticket/7", json=["ok"])
    ticket, added = service().update("7", TicketChanges(assignee="@me", priority="urgent"))
    assert json.loads(put.calls[0].request.body) == {
        "Priority": 100,
        "Owner": "root",
        "Status": "open",
    }
    assert [(e.action, e.detail) for e in added] == [
        ("priority_changed", {"from": "normal", "to": "urgent"}),
        ("assigned", {"from": None, "to": "root"}),
        ("status_changed", {"from": "new", "to": "open"}),
    ]
    assert ticket.assignee == "root"
    # what the output needs and no more: who acts, the ticket, the change, the ticket again
    assert [
        (c.request.method, c.request.url.split("?")[0])
        for c in responses.calls
        if "REST" in c.request.url
    ] == [
        ("GET", f"{BASE}/user/root"),
        ("GET", f"{BASE}/ticket/7"),
        ("PUT", f"{BASE}/ticket/7"),
        ("GET", f"{BASE}/ticket/7"),
    ]


@responses.activate
def test_update_reports_what_rt_silently_refused():
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    responses.put(f"{BASE}/ticket/7", json=["Owner: Permission Denied"])
    with pytest.raises(UsageError, match="assignee.*Permission Denied"):
        service().update("7", TicketChanges(assignee="sam"))


@responses.activate
def test_reply_to_a_closed_ticket_is_a_conflict():
    responses.get(f"{BASE}/ticket/7", json=rt_ticket(Status="resolved"))
    with pytest.raises(Conflict, match="ticket 7 is closed; open a new ticket and reference 7"):
        service().reply("7", "hello")


@pytest.mark.parametrize(
    "args",
    [
        ["escalations", "list"],
        ["proxy-access", "show", "7"],
        ["org", "view"],
        ["report"],
    ],
)
def test_capability_check_refuses_other_nouns(args):
    result = run(
        "--backend", "rt", "--url", "http://rt.test", *args, env={"SUPPORTCTL_TOKEN": "a:b"}
    )
    assert result.exit_code == 2
    command = " ".join(a for a in args if a != "7")
    assert f"`{command}` is not supported by the `rt` backend" in result.stderr


def test_module_constants_are_consistent():
    assert set(rt.STATUS_TO_RT) == {"new", "open", "pending", "escalated", "resolved", "closed"}
    for status, rt_statuses in rt.STATUS_TO_RT.items():
        for rt_status in rt_statuses:
            assert status_from_rt(rt_status)[0] == status


# -- round trips, sessions and bytes (issue: a reply made 7 requests) --------------------------
SITE = BASE.removesuffix("/REST/2.0")


def _rest_calls() -> list[tuple[str, str]]:
    return [
        (c.request.method, c.request.url.split("?")[0].removeprefix(BASE))
        for c in responses.calls
        if c.request.url.startswith(BASE)
    ]


@responses.activate
def test_one_login_per_command_then_the_session_cookie_with_a_referer():
    login = responses.post(
        f"{SITE}/NoAuth/Login.html",
        status=302,
        headers={"Set-Cookie": "RT_SID_rt.test.80=abc123; path=/; HttpOnly"},
    )
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    responses.post(f"{BASE}/ticket/7/correspond", json=["Correspondence added"])
    service().reply("7", "hello")
    assert len(login.calls) == 1
    assert login.calls[0].request.body == "user=root&pass=pw"
    later = [c.request for c in responses.calls if c.request.url.startswith(BASE)]
    assert all(r.headers["Cookie"] == "RT_SID_rt.test.80=abc123" for r in later)
    assert all(r.headers["Referer"] == f"{SITE}/" for r in later)  # RT's CSRF check on writes
    assert all(r.headers["Authorization"].startswith("Basic ") for r in later)  # the fallback


@responses.activate
def test_a_failed_login_falls_back_to_the_password_on_each_request():
    import requests

    responses.post(f"{SITE}/NoAuth/Login.html", body=requests.ConnectionError("refused"))
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    assert service()._raw("7")["id"] == 7
    (read,) = [c.request for c in responses.calls if c.request.url.startswith(BASE)]
    assert read.headers["Authorization"].startswith("Basic ")
    assert "Cookie" not in read.headers


@responses.activate
def test_a_reply_is_one_read_and_the_post_and_json_reads_the_thread_only_then():
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    post = responses.post(f"{BASE}/ticket/7/correspond", json=["Correspondence added"])
    svc = service()
    ticket = svc.reply("7", "hello")
    assert ticket.id == "7"
    assert _rest_calls() == [("GET", "/ticket/7"), ("POST", "/ticket/7/correspond")]
    assert json.loads(post.calls[0].request.body)["Content"] == "hello"
    responses.get(f"{BASE}/ticket/7/history", json={"items": [], "pages": 1})
    responses.get(f"{BASE}/ticket/7/attachments", json={"items": [], "pages": 1})
    doc = svc.ticket_json(ticket)  # -o json: now the thread
    assert doc["id"] == "7" and doc["messages"] == []
    assert ("GET", "/ticket/7/history") in _rest_calls()


@responses.activate
def test_close_is_a_read_the_change_and_a_look_at_the_result():
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    responses.get(f"{BASE}/ticket/7", json=rt_ticket(Status="resolved"))
    responses.put(f"{BASE}/ticket/7", json=["Status changed"])
    ticket, changed = service().close("7")
    assert changed and ticket.status == "closed" and ticket.resolution == "solved"
    assert _rest_calls() == [("GET", "/ticket/7"), ("PUT", "/ticket/7"), ("GET", "/ticket/7")]


@responses.activate
def test_files_go_as_octet_stream_so_rt_keeps_their_bytes():
    """RT re-encodes text parts it takes for another charset (Shift-JIS read as Latin-1);
    binary parts it stores as they are."""
    from supportctl.api import NewAttachment

    sjis = "日本語のログ".encode("shift_jis")
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    post = responses.post(f"{BASE}/ticket/7/correspond", json=["ok"])
    service().reply("7", "log", attachments=[NewAttachment("log.txt", sjis)])
    (sent,) = json.loads(post.calls[0].request.body)["Attachments"]
    assert sent["FileType"] == "application/octet-stream"
    assert __import__("base64").b64decode(sent["FileContent"]) == sjis
    row = {"Filename": "log.txt", "ContentType": "application/octet-stream"}
    assert rt.file_content_type(row) == "text/plain"  # reported as the name says
    assert rt.file_content_type({"Filename": "x.bin", "ContentType": "image/png"}) == "image/png"


@responses.activate
def test_a_missing_ticket_is_named():
    responses.get(f"{BASE}/ticket/42", status=404, json={"message": "Not Found"})
    with pytest.raises(NotFound, match="^ticket 42 not found$"):
        service().get_visible_ticket("42")


@responses.activate
def test_a_group_sweep_re_checks_the_queue_by_name():
    """The re-read before acting sees the queue's name (a plain GET gives only its id)."""
    from supportctl.api import SweepRule

    old = {"LastUpdated": "2026-11-01T10:00:00Z", "Status": "new"}
    responses.get(f"{BASE}/user/root", json={"Name": "root", "Privileged": 1})
    responses.get(
        f"{BASE}/tickets",
        json={"items": [rt_ticket(Queue={"id": "3", "type": "queue", "Name": "billing"}, **old)],
              "total": 1, "pages": 1},
    )  # fmt: skip
    responses.get(f"{BASE}/ticket/7", json=rt_ticket(Queue={"id": "3", "type": "queue"}, **old))
    responses.get(f"{BASE}/queue/3", json={"id": 3, "Name": "billing"})
    responses.put(f"{BASE}/ticket/7", json=["Status changed"])
    responses.get(f"{BASE}/ticket/7", json=rt_ticket(Status="rejected"))
    rule = SweepRule("g", "expire", timedelta(days=1), groups=("billing",))
    (outcome,) = service().sweep([rule])
    assert outcome.result == "expired", outcome


def test_sql_requester_by_email():
    query = TicketQuery(scope="org", requester="ben@acme.example")
    assert ticket_sql(query, "root", now=NOW) == (
        "Status != 'deleted'"
        " AND (Requestor.Name = 'ben@acme.example' OR Requestor.EmailAddress = 'ben@acme.example')"
    )


@responses.activate
def test_the_login_starts_in_the_background_and_the_first_request_waits_for_it():
    login = responses.post(
        f"{SITE}/NoAuth/Login.html",
        status=302,
        headers={"Set-Cookie": "RT_SID_rt.test.80=abc123; path=/; HttpOnly"},
    )
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    client = RtClient(BASE, auth=("root", "pw"), token=None, sleep=lambda s: None)
    client.start_login()
    client.start_login()  # once
    svc = RtService(client, "root")
    assert svc._raw("7")["id"] == 7
    assert len(login.calls) == 1
    (read,) = [c.request for c in responses.calls if c.request.url.startswith(BASE)]
    assert read.headers["Cookie"] == "RT_SID_rt.test.80=abc123"  # after the login, not before


# -- the early login (remote/rtlogin.py): sent before requests is imported -------------------
class _LoginSite:
    """A local web server standing in for RT's /NoAuth/Login.html (the early login speaks
    http.client, which `responses` does not see)."""

    def __init__(self, set_cookie: str | None = "RT_SID_site.80=early1; path=/; HttpOnly"):
        import http.server
        import threading

        self.posts: list[tuple[str, str, dict[str, str]]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                site.posts.append((self.path, body, dict(self.headers)))
                self.send_response(302)
                if set_cookie:
                    self.send_header("Set-Cookie", set_cookie)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def login_site():
    site = _LoginSite()
    yield site
    site.close()


@responses.activate
def test_the_early_login_goes_over_the_standard_library_and_its_cookie_rides_along(
    login_site, monkeypatch
):
    from supportctl.remote import rtlogin

    for name in ("http_proxy", "HTTPS_PROXY", "ALL_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    base = login_site.url + "/REST/2.0"
    responses.get(f"{base}/ticket/7", json=rt_ticket())
    svc = rtlogin.open_service(settings(url=login_site.url, token="root:pw"))
    svc.client.sleep = lambda s: None
    assert svc._raw("7")["id"] == 7
    ((path, body, headers),) = login_site.posts  # one login, over the standard library
    assert path == "/NoAuth/Login.html" and body == "user=root&pass=pw"
    assert headers["Referer"] == login_site.url + "/"
    assert not [c for c in responses.calls if "Login.html" in c.request.url]  # not twice
    (read,) = [c.request for c in responses.calls]
    assert read.headers["Cookie"] == "RT_SID_site.80=early1"
    assert read.headers["Authorization"].startswith("Basic ")  # the fallback still goes along


@responses.activate
def test_the_early_logins_cookie_rides_along_to_a_host_name_without_a_dot(login_site, monkeypatch):
    # `--url http://localhost:8080` or an intranet name like https://rt/: the cookie jar
    # files such a host under NAME.local, so a cookie set for plain NAME was never sent.
    from supportctl.remote import rtlogin

    for name in ("http_proxy", "HTTPS_PROXY", "ALL_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = login_site.url.replace("127.0.0.1", "localhost")
    responses.get(f"{url}/REST/2.0/ticket/7", json=rt_ticket())
    svc = rtlogin.open_service(settings(url=url, token="root:pw"))
    svc.client.sleep = lambda s: None
    assert svc._raw("7")["id"] == 7
    assert len(login_site.posts) == 1
    (read,) = [c.request for c in responses.calls]
    assert read.headers.get("Cookie") == "RT_SID_site.80=early1"


@responses.activate
def test_an_early_login_that_cannot_connect_leaves_the_password_on_each_request(monkeypatch):
    import socket

    from supportctl.remote import rtlogin

    with socket.socket() as probe:  # a port nothing listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    responses.get(f"{url}/REST/2.0/ticket/7", json=rt_ticket())
    svc = rtlogin.open_service(settings(url=url, token="root:pw"))
    assert svc._raw("7")["id"] == 7
    (read,) = [c.request for c in responses.calls]
    assert "Cookie" not in read.headers and read.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_with_a_proxy_in_the_environment_requests_logs_in_as_before(login_site, monkeypatch):
    from supportctl.remote import rtlogin

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    login = responses.post(
        f"{SITE}/NoAuth/Login.html",
        status=302,
        headers={"Set-Cookie": "RT_SID_rt.test.80=abc123; path=/; HttpOnly"},
    )
    responses.get(f"{BASE}/ticket/7", json=rt_ticket())
    svc = rtlogin.open_service(settings(token="root:pw"))
    assert svc._raw("7")["id"] == 7
    assert len(login.calls) == 1 and not login_site.posts


def test_a_token_needs_no_login_and_bad_input_fails_before_any(login_site):
    from supportctl.remote import rtlogin

    svc = rtlogin.open_service(settings(url=login_site.url, token="1-14-abcdef", user="sam"))
    assert svc.client._early is None and not login_site.posts
    with pytest.raises(UsageError, match="invalid URL"):
        rtlogin.open_service(settings(url="rt.example.com", token="root:pw"))
    with pytest.raises(AuthenticationFailed, match="needs credentials"):
        rtlogin.open_service(settings(url=login_site.url))
    assert not login_site.posts


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("RT_SID_x.80=abc; path=/; HttpOnly", {"name": "RT_SID_x.80", "value": "abc", "path": "/"}),
        ("a=b; Path=/rt; Secure", {"name": "a", "value": "b", "path": "/rt", "secure": True}),
        ("a=", {"name": "a", "value": "", "path": "/"}),
        ("novalue", None),
        ("=x", None),
    ],
)
def test_set_cookie_headers_are_read_for_the_jar(header, expected):
    from supportctl.remote.rtlogin import parse_set_cookie

    assert parse_set_cookie(header) == expected


def test_the_early_login_trusts_what_requests_would(tmp_path, monkeypatch):
    import ssl

    import certifi

    from supportctl.remote.rtlogin import EarlyLogin

    seen: list[dict[str, str]] = []
    monkeypatch.setattr(ssl, "create_default_context", lambda **kw: seen.append(kw))
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)

    def trust(ca_bundle=None):
        EarlyLogin(
            "https://rt.test", "u", "p", connect_timeout=1, timeout=1, ca_bundle=ca_bundle
        )._tls()
        return seen.pop()

    assert trust() == {"cafile": certifi.where()}
    assert trust(str(tmp_path)) == {"capath": str(tmp_path)}  # a directory of certificates
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp.pem")
    assert trust() == {"cafile": "/etc/corp.pem"}
    assert trust("/etc/mine.pem") == {"cafile": "/etc/mine.pem"}  # --ca-bundle first
