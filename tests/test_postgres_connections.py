"""The postgres store's connections (SPEC §12): a database host that vanishes from the
network is noticed in seconds (TCP keepalives and a user timeout on every connection, of a
command and of a server's pool), unless the URL says otherwise."""

from __future__ import annotations

import socket

from supportctl.storage.postgres import PostgresStore


def tcp_settings(conn) -> tuple[int, int, int, int, int]:
    sock = socket.socket(fileno=conn.pgconn.socket)
    try:
        return (
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        )
    finally:
        sock.detach()  # the connection's socket stays open


def test_a_command_and_a_server_notice_a_vanished_database_host_in_seconds(pg_store):
    assert pg_store.startswith("postgresql://postgres@127.0.0.1:")  # over TCP
    PostgresStore.create(pg_store).close()
    store = PostgresStore(pg_store)
    try:
        with store._connection() as conn:
            assert tcp_settings(conn) == (1, 10, 5, 3, 30_000)
    finally:
        store.close()
    served = PostgresStore.pooled(pg_store, size=2)
    try:
        with served.session()._connection() as conn:
            assert tcp_settings(conn) == (1, 10, 5, 3, 30_000)
    finally:
        served.close_pool()


def test_the_url_may_set_them_otherwise(pg_store):
    PostgresStore.create(pg_store).close()
    store = PostgresStore(pg_store + "?keepalives_idle=60&tcp_user_timeout=0")
    try:
        with store._connection() as conn:
            assert tcp_settings(conn) == (1, 60, 5, 3, 0)
    finally:
        store.close()


def test_reads_inside_a_change_use_its_connection_not_another_of_the_pool(pg_store):
    """A change may read the store while it runs (a trigger's `least-busy` counts the
    agents' tickets inside the create): on a server that read must use the change's own
    connection. A second one from the pool would deadlock a busy server, every thread
    holding one connection and waiting for another (here: a pool of one)."""
    import time

    from tests.conftest import jsonl, run, small_store_docs

    assert run("store", "import", "-", input=jsonl(small_store_docs())).exit_code == 0
    served = PostgresStore.pooled(pg_store, size=1)
    try:
        store = served.session()
        seen = []

        def change(ticket):
            seen.append(store.get_user("dana").role)
            seen.append(len(list(store.ticket_summaries())))
            ticket.priority = "low"
            return ticket

        started = time.monotonic()
        store.update_ticket("1001", change)
        assert time.monotonic() - started < 2.0
        assert seen == ["agent", 6]
        assert store.get_ticket("1001").priority == "low"
    finally:
        served.close_pool()


def test_a_server_of_one_thread_routes_tickets_with_least_busy_at_once(pg_store, tmp_path):
    import time

    from werkzeug.test import Client

    from supportctl.server.app import create_app
    from supportctl.storage import admin
    from tests.conftest import jsonl, run, small_store_docs

    docs = small_store_docs()
    for doc in docs:
        if doc.get("username") in ("dana", "eve"):
            doc["groups"] = ["billing"]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    config = tmp_path / "server.toml"
    config.write_text('[triggers.billing]\ncategory = "billing"\ngroup = "billing"\n'
                      'assignee = "least-busy"\n')  # fmt: skip
    api = create_app(pg_store, config_path=config, threads=1, log=lambda line: None)
    try:
        _record, token = admin.create_token(api.storage, "bob")
        started = time.monotonic()
        answer = Client(api).post(
            "/api/v1/tickets",
            json={"subject": "Invoice", "body": "wrong total", "category": "billing"},
            headers={"Authorization": f"Bearer {token}"},
        )
        took = time.monotonic() - started
    finally:
        api.close()
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["assignee"] == "eve"  # dana has a ticket already
    assert took < 2.0, f"{took:.1f} s"
