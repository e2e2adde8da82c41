"""A POST's change and its idempotency record (SPEC §7) on a store several servers share: a
change armed with the record of a key that another server recorded meanwhile is not made
(``RequestRecorded``), so one request is applied once even when a client's retry reaches a
second server while the first still serves it (tests/test_postgres_faults.py races two)."""

from __future__ import annotations

import time

import pytest

from supportctl.service import LocalService
from supportctl.storage.base import IDEMPOTENCY_TTL, RequestRecorded
from tests.conftest import open_store

pytestmark = pytest.mark.local_only("stores' own behaviour")

KEY = "ab" * 32


def record(stored: float, who: str):
    return lambda ticket: {"stored": stored, "by": who, "ticket": ticket.id}


def test_a_change_whose_request_another_server_recorded_is_not_made(store, backend):
    storage = open_store(store)
    storage.put_request(KEY, {"stored": time.time(), "by": "the other server"})
    before = storage.get_ticket("1001")
    storage.record_with_next_change(KEY, record(time.time(), "this server"))
    with pytest.raises(RequestRecorded):
        LocalService(storage, "dana").reply("1001", "the same request again")
    assert open_store(store).get_ticket("1001") == before
    assert storage.get_request(KEY)["by"] == "the other server"
    # and the next change, armed with nothing, is made as ever
    LocalService(storage, "dana").reply("1001", "another request")
    assert open_store(store).get_ticket("1001").messages[-1].body == "another request"


def test_an_expired_record_of_the_key_is_replaced_with_the_change(store, backend):
    storage = open_store(store)
    now = time.time()
    storage.put_request(KEY, {"stored": now - IDEMPOTENCY_TTL - 60, "by": "yesterday"})
    storage.record_with_next_change(KEY, record(now, "this server"))
    LocalService(storage, "dana").reply("1001", "a key used again after a day")
    assert open_store(store).get_ticket("1001").messages[-1].body == (
        "a key used again after a day"
    )
    assert storage.get_request(KEY) == {"stored": now, "by": "this server", "ticket": "1001"}
