"""normalize_ts: the fast path for the stored form gives the results and errors of the long way."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportctl.models import Ticket
from supportctl.timeutil import format_ts, normalize_ts, parse_ts
from tests.test_models import _ticket_doc


def _long_way(value):
    """What normalize_ts was before its fast path: parse, then format."""
    return format_ts(parse_ts(value))


def _outcome(fn, value):
    try:
        return "ok", fn(value)
    except Exception as exc:  # noqa: BLE001 - the type and text are what is compared
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-01T09:30:00Z", "2026-11-01T09:30:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z"),  # leap year
        ("2026-01-31T00:00:00Z", "2026-01-31T00:00:00Z"),
        ("2026-04-30T00:00:00Z", "2026-04-30T00:00:00Z"),
        # Not the stored form: normalised.
        ("2026-11-01T09:30:00+02:00", "2026-11-01T07:30:00Z"),
        ("2026-11-01T23:30:00-01:00", "2026-11-02T00:30:00Z"),
        ("2026-11-01T09:30:00+00:00", "2026-11-01T09:30:00Z"),
        ("2026-11-01t09:30:00z", "2026-11-01T09:30:00Z"),
        ("2026-11-01T09:30:00.123Z", "2026-11-01T09:30:00Z"),
        (" 2026-11-01T09:30:00Z ", "2026-11-01T09:30:00Z"),
        ("2026-11-01T09:30:00Z\n", "2026-11-01T09:30:00Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z"),
    ],
)
def test_normalised_form(value, expected):
    assert normalize_ts(value) == expected
    assert _long_way(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2026-13-01T00:00:00Z",  # month 13
        "2026-00-01T00:00:00Z",
        "2026-02-30T00:00:00Z",  # 30 February
        "2025-02-29T00:00:00Z",  # not a leap year
        "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-32T00:00:00Z",
        "2026-01-00T00:00:00Z",
        "2026-01-01T24:00:00Z",  # hour 24
        "2026-01-01T00:60:00Z",
        "2026-01-01T00:00:60Z",  # no leap seconds
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "2026-01-01T00:00:00",  # no offset
        "2026-01-01",
        "2026-01-01T00:00:0٣Z",  # a digit, but not an ASCII one
        "2026-01-01T00:00:0²Z",
        "",
        None,
        20260101,
    ],
)
def test_refused_with_the_errors_of_the_long_way(value):
    fast, slow = _outcome(normalize_ts, value), _outcome(_long_way, value)
    assert fast == slow
    assert fast[0] != "ok"


def test_every_field_boundary_of_the_stored_form():
    years = ["0000", "0001", "1900", "2000", "2023", "2024", "2100", "9999"]
    months = [f"{m:02d}" for m in range(14)]
    days = [f"{d:02d}" for d in range(33)]
    for y, m, d, h, mi, s in itertools.product(
        years, months, days, ["00", "23", "24"], ["00", "59", "60"], ["00", "59", "60"]
    ):
        value = f"{y}-{m}-{d}T{h}:{mi}:{s}Z"
        assert _outcome(normalize_ts, value) == _outcome(_long_way, value), value


class _Text(str):
    pass


def test_a_str_subclass_comes_back_as_a_str():
    result = normalize_ts(_Text("2026-11-01T09:30:00Z"))
    assert type(result) is str
    assert result == "2026-11-01T09:30:00Z"


_STORED = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)


@given(_STORED, st.lists(st.tuples(st.integers(0, 25), st.sampled_from("0123456789-T:Zz+. ٣"))))
def test_same_outcome_as_the_long_way(value, edits):
    for position, char in edits:
        value = value[:position] + char + value[position + 1 :]
    assert _outcome(normalize_ts, value) == _outcome(_long_way, value)


def test_ticket_validation_names_the_field_of_an_out_of_range_time():
    with pytest.raises(ValueError, match="field 'created_at' must be an RFC 3339 time"):
        Ticket.from_dict(_ticket_doc(created_at="2026-02-30T00:00:00Z"))
    with pytest.raises(ValueError, match="field 'updated_at' must be an RFC 3339 time"):
        Ticket.from_dict(_ticket_doc(updated_at="2026-13-01T00:00:00Z"))
