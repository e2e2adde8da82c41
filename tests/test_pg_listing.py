"""Listings answered by PostgreSQL itself (SPEC §12: filters, sorting and `--limit` in SQL on
indexed columns; `--search` too, with a trigram index when pg_trgm is there).

The service hands the store a listing it can answer exactly (``Storage.list_page``) or, for
anything it does not express, filters, sorts and limits the store's rows in Python itself.
The promise is that both give the same answer: these tests run many random queries, by every
kind of user, over the demo store and over random stores full of awkward values (ties,
non-numeric and very long ids, casefolding that differs from lower(), LIKE's wildcards in
search text), and compare the store's page with the Python listing of the same store.
"""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta

import pytest

from supportctl.api import TicketQuery
from supportctl.errors import SupportctlError
from supportctl.service import LocalService
from supportctl.storage.base import ListRequest, TicketFilter
from tests import pg
from tests.conftest import jsonl, run

FROZEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _service(storage, username: str) -> LocalService:
    return LocalService(storage, username, clock=lambda: FROZEN)


def _python_listing(service: LocalService, query: TicketQuery, monkeypatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(type(service.storage), "list_page", lambda self, request: None)
        return _outcome(service, query)


def _outcome(service: LocalService, query: TicketQuery) -> object:
    try:
        result = service.list_tickets(query)
    except SupportctlError as exc:
        return (type(exc).__name__, str(exc))
    return ([row["id"] for row in result.tickets], result.tickets, result.total)


class Counting:
    """Counts the pages the store answered (so a test knows the pushdown ran)."""

    def __init__(self, monkeypatch, cls) -> None:
        self.pages = 0
        original = cls.list_page

        def counted(store, request):
            page = original(store, request)
            self.pages += page is not None
            return page

        monkeypatch.setattr(cls, "list_page", counted)


def _pg(pg_store):
    from supportctl.storage.postgres import PostgresStore

    return PostgresStore(pg_store)


# -- random queries ---------------------------------------------------------------------------


def _words(storage) -> list[str]:
    """Search needles: words of subjects and bodies in odd cases, pieces of words, and
    text that matters to LIKE or to casefolding."""
    words = set()
    for row in storage.ticket_summaries():
        words.update(row["subject"].split()[:3])
    for ticket_id in sorted(r["id"] for r in storage.ticket_summaries())[:40]:
        ticket = storage.get_ticket(ticket_id)
        for m in ticket.messages:
            words.update(m.body.split()[:4])
    picked = sorted(w for w in words if w)
    extra = ["%", "_", "\\", "a%b", "ss", "SS", "ß", "ﬁ", "FI", "σ", "x\x1fy", "e", "zzzq"]
    return picked + extra


def random_query(rng: random.Random, users, words, org_ids) -> tuple[str, TicketQuery]:
    user = rng.choice(users)
    agents = [u.username for u in users if u.role == "agent"]
    kw: dict = {"scope": rng.choice(["mine", "org", "org"])}
    if rng.random() < 0.15:
        kw["org"] = rng.choice(org_ids)
    if rng.random() < 0.6:
        kw["statuses"] = tuple(rng.sample(["new", "open", "pending", "escalated", "resolved",
                                           "closed"], rng.randint(1, 3)))  # fmt: skip
    if rng.random() < 0.2:
        kw["types"] = tuple(rng.sample(["email", "chat", "phone", "call", "web"], 2))
    if rng.random() < 0.2:
        kw["categories"] = (rng.choice(["technical", "billing", "general"]),)
    if rng.random() < 0.2:
        kw["priorities"] = tuple(rng.sample(["low", "normal", "high", "urgent"], 2))
    if rng.random() < 0.2:
        kw["assignee"] = rng.choice(["@me", "none", *agents[:3]])
    if rng.random() < 0.15:
        requester = rng.choice(users)
        kw["requester"] = requester.email if rng.random() < 0.4 else requester.username
    if rng.random() < 0.1:
        kw["tags"] = (rng.choice(["export", "api", "billing", "vip", "sso", "nope"]),)
    if rng.random() < 0.2:
        kw["since"] = FROZEN - timedelta(days=rng.choice([1, 30, 200, 400]))
    if rng.random() < 0.1:
        kw["until"] = FROZEN - timedelta(days=rng.choice([2, 60, 300]))
    if rng.random() < 0.1:
        kw["idle"] = timedelta(days=rng.choice([1, 7, 90]))
    if rng.random() < 0.3:
        word = rng.choice(words)
        kw["search"] = rng.choice([word, word.upper(), word.lower()[1:4] or word])
    if rng.random() < 0.15:
        groups = sorted({g for u in users for g in u.groups}) + ["@mine", "No such group"]
        kw["groups"] = tuple(rng.sample(groups, min(2, len(groups))))
    if rng.random() < 0.1:
        kw["resolutions"] = tuple(rng.sample(["solved", "spam", "duplicate", "other"], 2))
    kw["sort"] = rng.choice(["created", "created", "updated", "priority", "status", "id", "due"])
    kw["asc"] = rng.random() < 0.3
    kw["limit"] = rng.choice([0, 1, 3, 20, 50, 50])
    return user.username, TicketQuery(**kw)


def _compare(storage, monkeypatch, queries: int, seed: int) -> int:
    counting = Counting(monkeypatch, type(storage))
    users = storage.list_users()
    words = _words(storage)
    org_ids = [o.id for o in storage.list_orgs()] + ["no-such-org"]
    rng = random.Random(seed)
    answered = 0
    for i in range(queries):
        username, query = random_query(rng, users, words, org_ids)
        service = _service(storage, username)
        before = counting.pages
        pushed = _outcome(service, query)
        answered += counting.pages - before
        python = _python_listing(_service(storage, username), query, monkeypatch)
        assert pushed == python, (i, username, query)
    return answered


def test_the_demo_store_lists_the_same_in_sql_as_in_python(pg_store, monkeypatch):
    assert run("store", "init", "--demo").exit_code == 0
    storage = _pg(pg_store)
    answered = _compare(storage, monkeypatch, queries=300, seed=1)
    assert answered > 120  # the pushdown ran (the rest: refusals, --sort due, --sla)


# -- random stores ------------------------------------------------------------------------------

ODD_TEXT = ["Straße", "STRASSE", "ﬁle", "FILE", "Σίσυφος", "ΣΊΣΥΦΟΣ", "İstanbul", "100%", "a_b",
            "back\\slash", "naïve", "NAÏVE", "tab\there", "ǅemal"]  # fmt: skip


def random_store_docs(rng: random.Random, n: int) -> list[dict]:
    orgs = ["acme", "globex", "initech", "support"]
    docs: list[dict] = [{"kind": "org", "id": o, "name": o.title()} for o in orgs]
    users = []
    for i in range(12):
        org = rng.choice(orgs[:3])
        role = rng.choice(["user", "user", "admin"])
        users.append((f"u{i}", org, role))
    users += [("agent1", "support", "agent"), ("agent2", "support", "agent")]
    for name, org, role in users:
        docs.append({"kind": "user", "username": name, "name": name.title(), "org": org,
                     "role": role, "email": f"{name}@{org}.example"})  # fmt: skip
        if name == "agent1":
            docs[-1]["groups"] = ["Tier 1", "Billing"]
    agents = ["agent1", "agent2"]
    times = [
        f"2026-{m:02d}-{d:02d}T{h:02d}:00:00Z"
        for m in (3, 7, 10)
        for d in (1, 15)
        for h in (9, 9, 17)
    ]  # fmt: skip  (few distinct times: many ties)
    ids = [str(2000 + i) for i in range(n)]
    ids += ["X-1", "X-10", "ab", "12345678901234567890123", "9" * 19, "a.b_c"]
    for ticket_id in ids:
        requester, org, _ = rng.choice([u for u in users if u[2] != "agent"])
        status = rng.choice(["new", "open", "open", "pending", "escalated", "resolved", "closed"])
        created = rng.choice(times)
        updated = max(created, rng.choice(times))
        words = rng.sample(ODD_TEXT, 2) + [rng.choice(string.ascii_letters) * 3]
        messages = []
        for j in range(rng.randint(0, 3)):
            kind = rng.choice(["email", "chat", "note"])
            body = " ".join(rng.sample(ODD_TEXT, 2)) + f" body {j}"
            messages.append({"id": f"m{j}", "kind": kind, "author": requester, "at": created,
                             "body": body, "attachments": []})  # fmt: skip
        doc = {
            "kind": "ticket",
            "id": ticket_id,
            "subject": " ".join(words),
            "type": rng.choice(["email", "chat", "phone", "call", "web"]),
            "category": rng.choice(["technical", "billing", "general"]),
            "status": status,
            "priority": rng.choice(["low", "normal", "high", "urgent"]),
            "requester": requester,
            "org": org,
            "cc": rng.sample([u[0] for u in users], rng.choice([0, 0, 1, 2])),
            "assignee": rng.choice([None, *agents]),
            "group": rng.choice([None, "Tier 1", "Billing", "Engineering"]),
            "tags": rng.sample(["export", "api", "billing", "vip", "sso"], rng.randint(0, 2)),
            "created_at": created,
            "updated_at": updated,
            "messages": messages,
        }
        if status == "closed":
            doc.update(resolution=rng.choice(["solved", "spam", "other"]), closed_at=updated)
        docs.append(doc)
    return docs


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_random_stores_list_the_same_in_sql_as_in_python(pg_store, pg_server, monkeypatch, seed):
    rng = random.Random(seed)
    imported = run("store", "import", "-", input=jsonl(random_store_docs(rng, 120)))
    assert imported.exit_code == 0, imported.stderr
    storage = _pg(pg_store)
    answered = _compare(storage, monkeypatch, queries=250, seed=seed)
    assert answered > 100


def test_a_query_field_the_store_does_not_express_falls_back_to_python(pg_store, monkeypatch):
    """A filter added to TicketQuery later (or the SLA filter, computed at this moment) is
    never silently dropped: the listing falls back to the service's own filtering."""
    import dataclasses

    assert run("store", "init", "--demo").exit_code == 0
    storage = _pg(pg_store)
    counting = Counting(monkeypatch, type(storage))
    service = _service(storage, "sam")
    service.list_tickets(TicketQuery(scope="org", sla="breached"))
    assert counting.pages == 0
    service.list_tickets(TicketQuery(scope="org"))
    assert counting.pages == 1

    @dataclasses.dataclass
    class Extended(TicketQuery):
        view: str | None = None  # a field the pushdown does not know

    assert service._list_request(service.actor, Extended(scope="org")) is not None
    assert service._list_request(service.actor, Extended(scope="org", view="x")) is None
    # a sort it does not know is the service's, as is a condition the store does not know
    assert service._list_request(service.actor, TicketQuery(sort="due")) is None
    odd = ListRequest(TicketFilter(equals=(("language", frozenset({"en"})),)), "created", False, 5)
    assert storage.list_page(odd) is None


def test_the_json_store_leaves_listing_to_the_service(tmp_path):
    from supportctl.storage.jsonstore import JsonStore

    assert run("--store", str(tmp_path / "s"), "store", "init", "--demo").exit_code == 0
    request = ListRequest(TicketFilter(), "created", False, 5)
    assert JsonStore(tmp_path / "s").list_page(request) is None


def _search_plan(pg_server) -> str:
    """The plan of the listing's search condition, sequential scans discouraged (the test
    tables are small enough that PostgreSQL would rightly scan them)."""
    import psycopg

    from supportctl.storage.postgres import _filter_sql

    clause, params = _filter_sql(TicketFilter(search="straße", search_notes=True))
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        rows = conn.execute(f"EXPLAIN SELECT summary FROM tickets{clause}", params).fetchall()
    return "\n".join(r[0] for r in rows)


def test_search_uses_the_trigram_index_when_pg_trgm_is_there(pg_store, pg_server, monkeypatch):
    """With pg_trgm, `--search` reads a trigram index; without it (simulated: the extension
    cannot be created), the same search is a plain scan with the same answers."""
    rng = random.Random(5)
    docs = random_store_docs(rng, 400)
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    names = {r[0] for r in pg_server.execute("SELECT indexname FROM pg_indexes")}
    assert {"tickets_search_subject", "tickets_search_public", "tickets_search_notes"} <= names
    assert "Bitmap Index Scan on tickets_search_public" in _search_plan(pg_server)
    with_index = _search_answers(pg_store, monkeypatch)

    # the same store without pg_trgm: the migration's attempt fails, the search still works
    from supportctl.storage import postgres

    pg_server.reset()
    pg_server.execute("DROP EXTENSION IF EXISTS pg_trgm")
    real = postgres.PostgresStore._try_trigram

    def no_trgm(self, cur):
        cur.execute("SAVEPOINT trgm")
        try:
            cur.execute("CREATE EXTENSION no_such_extension_pg_trgm")
        except Exception:
            cur.execute("ROLLBACK TO SAVEPOINT trgm")

    monkeypatch.setattr(postgres.PostgresStore, "_try_trigram", no_trgm)
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    names = {r[0] for r in pg_server.execute("SELECT indexname FROM pg_indexes")}
    assert not {"tickets_search_subject", "tickets_search_public"} & names
    assert _search_answers(pg_store, monkeypatch) == with_index
    assert "Seq Scan on tickets" in _search_plan(pg_server)
    monkeypatch.setattr(postgres.PostgresStore, "_try_trigram", real)


def _search_answers(pg_store, monkeypatch) -> list:
    storage = _pg(pg_store)
    out = []
    for username in ("agent1", "u0", "u3"):
        for text in ("straße", "STRASSE", "ss", "ﬁ", "fi", "σ", "100%", "a_b", "\\", "body 2"):
            query = TicketQuery(scope="mine" if username != "agent1" else "org", search=text,
                                limit=0)  # fmt: skip
            pushed = _outcome(_service(storage, username), query)
            assert pushed == _python_listing(_service(storage, username), query, monkeypatch)
            out.append(pushed)
    return out


def test_a_schema_1_store_is_migrated_with_its_listing_columns_filled(pg_store, pg_server):
    """Schema 2 adds the columns listings sort and search on; an older store gets them
    filled from its documents, in the migration's one transaction."""
    docs = random_store_docs(random.Random(7), 60)
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    listing = ("--user", "agent1", "tickets", "list", "--scope", "org", "--search", "straße",
               "--sort", "id", "-o", "ids")  # fmt: skip
    expected = run(*listing).stdout
    assert expected.strip()
    pg.back_to_schema_1(pg_server)  # as a store written by the previous version looks
    assert run(*listing).stdout == expected  # migrated on the way
    assert pg_server.execute("SELECT max(version) FROM schema_version") == [(2,)]
    assert pg_server.execute("SELECT count(*) FROM tickets WHERE search_subject IS NULL") == [(0,)]
    names = {r[0] for r in pg_server.execute("SELECT indexname FROM pg_indexes")}
    assert "tickets_subject_trgm" not in names and "tickets_search_subject" in names
    checked = run("store", "check")
    assert checked.exit_code == 0, checked.stdout


def test_store_check_repairs_stale_listing_columns(pg_store, pg_server):
    docs = random_store_docs(random.Random(8), 10)
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    pg_server.execute("UPDATE tickets SET search_subject = 'wrong' WHERE id = '2001'")
    damaged = run("store", "check")
    assert damaged.exit_code == 6 and "1 ticket(s) with a stale listing row" in damaged.stdout
    assert run("store", "check", "--repair").exit_code == 0
    assert run("store", "check").exit_code == 0


def test_a_bulk_import_into_an_empty_store_rebuilds_every_index(pg_store, pg_server, monkeypatch):
    """A large import drops the secondary indexes, loads by COPY and builds them again;
    the store ends with the same indexes, the rows, and listings that use them."""
    from supportctl.storage import postgres

    assert run("store", "init").exit_code == 0
    indexes = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets' ORDER BY 1"
    before = pg_server.execute(indexes)
    monkeypatch.setattr(postgres, "_BULK", 5)
    docs = random_store_docs(random.Random(9), 40)
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    assert pg_server.execute(indexes) == before
    assert pg_server.execute("SELECT count(*) FROM tickets") == [(46,)]
    assert run("store", "check").exit_code == 0
    # a second import into the non-empty store keeps the indexes in place
    more = [d for d in random_store_docs(random.Random(9), 10) if d["kind"] == "ticket"]
    for n, doc in enumerate(more):
        doc["id"] = str(5000 + n)
    assert run("store", "import", "-", input=jsonl(more)).exit_code == 0
    assert pg_server.execute(indexes) == before
    # a failed bulk import (a duplicate id) leaves everything as it was
    pg_server.reset()
    assert run("store", "init").exit_code == 0
    docs.append(dict(docs[-1]))
    failed = run("store", "import", "-", input=jsonl(docs))
    assert failed.exit_code != 0 and "nothing imported" in failed.stderr
    assert pg_server.execute(indexes) == before
    assert pg_server.execute("SELECT count(*) FROM tickets") == [(0,)]
