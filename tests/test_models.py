"""Documents of SPEC §2: exact field names, validation, JSON round trip; WHEN parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportctl.errors import UsageError
from supportctl.models import STATUSES, TICKET_TYPES, Escalation, Org, Ticket, User
from supportctl.timeutil import format_ts, parse_duration, parse_when
from tests.conftest import small_store_docs

SPEC_TICKET_FIELDS = [
    "id", "subject", "type", "category", "status", "resolution", "priority", "requester",
    "org", "cc", "assignee", "group", "language", "tags", "created_at", "updated_at",
    "closed_at", "proxy_access", "call", "escalation_id", "resources", "feedback",
    "duplicate_of",  # SPEC §16: after the fields of §2, before the thread
    "messages", "events",
]  # fmt: skip


def _ticket_doc(**extra) -> dict:
    doc = next(d for d in small_store_docs() if d.get("id") == "1001")
    doc = {k: v for k, v in doc.items() if k != "kind"}
    doc.update(extra)
    return doc


def test_ticket_fields_are_the_spec_fields_in_order():
    assert list(Ticket.from_dict(_ticket_doc()).to_dict()) == SPEC_TICKET_FIELDS


def test_message_and_attachment_fields():
    doc = _ticket_doc()
    doc["messages"][0]["attachments"] = [
        {"name": "a.har", "size": 12, "sha256": "0" * 64, "content_type": "application/json"}
    ]
    message = Ticket.from_dict(doc).to_dict()["messages"][0]
    assert list(message) == ["id", "kind", "author", "at", "body", "attachments"]
    assert list(message["attachments"][0]) == ["name", "size", "sha256", "content_type"]


def test_round_trip_is_exact():
    for doc in small_store_docs():
        kind = doc.pop("kind")
        cls = {"org": Org, "user": User, "ticket": Ticket}[kind]
        again = cls.from_dict(json.loads(json.dumps(cls.from_dict(doc).to_dict()))).to_dict()
        assert again == cls.from_dict(doc).to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "done"}, "'status' must be one of new, open"),
        ({"type": "fax"}, "'type' must be one of"),
        ({"priority": "p1"}, "'priority' must be one of"),
        ({"category": None}, "'category' must be one of"),
        ({"resolution": "fixed"}, "'resolution' must be one of"),
        ({"created_at": "yesterday"}, "'created_at' must be an RFC 3339 time"),
        ({"created_at": "2026-10-01T09:00:00"}, "'created_at' must be an RFC 3339 time"),
        ({"cc": "carol"}, "'cc' must be a list of strings"),
        ({"status": "closed"}, "a closed ticket needs a 'resolution'"),
        ({"feedback": {"rating": 6, "at": "2026-10-01T09:00:00Z"}}, "rating' must be an integer"),
        ({"escalation_id": "ESC-1"}, "must look like CP-1234"),
        ({"id": "../1001"}, "field 'id' must be letters"),
        ({"proxy_access": {"bob": "yes"}}, "proxy_access.bob"),
        ({"surprise": 1}, "unknown ticket field(s): surprise"),
    ],
)
def test_invalid_tickets_are_refused_naming_the_field(change, message):
    with pytest.raises(ValueError, match=None) as info:
        Ticket.from_dict(_ticket_doc(**change))
    assert message in str(info.value)


def test_timestamps_are_normalised_to_utc_z():
    ticket = Ticket.from_dict(_ticket_doc(created_at="2026-10-01T18:00:00+09:00"))
    assert ticket.created_at == "2026-10-01T09:00:00Z"


def test_escalation_validation():
    doc = {
        "id": "CP-1",
        "ticket_id": "1001",
        "description": "d",
        "stage": "launched",
        "created_at": "2026-10-01T09:00:00Z",
        "updated_at": "2026-10-01T09:00:00Z",
    }
    with pytest.raises(ValueError, match="'stage' must be one of submitted"):
        Escalation.from_dict(doc)


def test_user_role_validation():
    with pytest.raises(ValueError, match="'role' must be one of user, admin, agent"):
        User.from_dict({"username": "x", "org": "o", "role": "root"})


@given(
    status=st.sampled_from(STATUSES),
    type_=st.sampled_from(TICKET_TYPES),
    subject=st.text(max_size=50).filter(lambda s: "\x00" not in s),
    tags=st.lists(st.text(max_size=10), max_size=4),
)
def test_round_trip_property(status, type_, subject, tags):
    extra = {"status": status, "type": type_, "subject": subject, "tags": tags}
    if status == "closed":
        extra["resolution"] = "solved"
    ticket = Ticket.from_dict(_ticket_doc(**extra))
    assert Ticket.from_dict(json.loads(json.dumps(ticket.to_dict()))) == ticket


# -- WHEN and durations (SPEC §4) -------------------------------------------------------------


CLOCK = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("90m", timedelta(minutes=90)),
        ("36h", timedelta(hours=36)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations_back_from_now(text, delta):
    assert parse_when(text, clock=CLOCK) == CLOCK - delta
    assert parse_duration(text) == delta


def test_rfc3339_and_dates():
    assert format_ts(parse_when("2026-11-01T09:30:00+02:00")) == "2026-11-01T07:30:00Z"
    assert format_ts(parse_when("2026-11-01")) == "2026-11-01T00:00:00Z"  # TZ=UTC in tests
    assert format_ts(parse_when("2026-11-01", end_of_day=True)) == "2026-11-01T23:59:59Z"
    assert format_ts(parse_when("2026-11-01T09:30:00")) == "2026-11-01T09:30:00Z"  # local


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-02-30", "7 days", "-3d", "2026-11-01T09:00"]
)
def test_nonsense_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_when(text, clock=CLOCK)
