"""Customer history (SPEC §13, 001 "inquiry history"): for agents `tickets show` ends with
the requester's other tickets; `tickets list --requester` takes a username or an email."""

from __future__ import annotations

from tests.conftest import jsonl, run, small_store_docs, ticket


def _store() -> None:
    more = [
        ticket(
            f"20{n:02d}",
            "bob",
            "acme",
            subject=f"Older {n}",
            created_at=f"2026-09-{n:02d}T09:00:00Z",
        )
        for n in range(1, 6)
    ]
    assert run("store", "import", "-", input=jsonl([*small_store_docs(), *more])).exit_code == 0


def test_agents_see_the_requesters_newest_five_other_tickets(backend):
    _store()
    result = run("--user", "dana", "tickets", "show", "1001", "-o", "json")
    assert result.exit_code == 0, result.stderr
    history = result.json()["history"]
    # bob's tickets but 1001, newest first: 1003 (Oct 10), then 2005 … 2002 (Sept)
    assert [h["id"] for h in history] == ["1003", "2005", "2004", "2003", "2002"]
    assert history[1] == {
        "id": "2005",
        "subject": "Older 5",
        "status": "open",
        "created_at": "2026-09-05T09:00:00Z",
    }
    table = run("--user", "dana", "tickets", "show", "1001").stdout
    tail = table[table.index("Other tickets of Bob (bob)") :].splitlines()
    assert tail[1].split() == ["ID", "STATUS", "CREATED", "SUBJECT"]
    assert tail[2].split()[:2] == ["1003", "new"]
    assert len(tail) == 7


def test_customers_do_not_get_the_history_and_json_fields_are_unchanged(backend):
    _store()
    shown = run("--user", "bob", "tickets", "show", "1001", "-o", "json").json()
    assert "history" not in shown
    assert "Other tickets" not in run("--user", "bob", "tickets", "show", "1001").stdout


def test_a_requester_with_no_other_ticket(backend):
    _store()
    table = run("--user", "dana", "tickets", "show", "1004").stdout  # gina's only ticket
    assert table.rstrip().endswith("Other tickets of Gina (gina) (newest first)\n  none")
    assert run("--user", "dana", "tickets", "show", "1004", "-o", "json").json()["history"] == []


def test_list_requester_takes_a_username_or_an_email(backend):
    _store()

    def ids(value: str) -> list[str]:
        result = run(
            "--user",
            "dana",
            "tickets",
            "list",
            "--scope",
            "org",
            "--requester",
            value,
            "-o",
            "ids",
            "--sort",
            "id",
        )
        assert result.exit_code == 0, result.stderr
        return sorted(result.stdout.split())

    by_name = ids("bob")
    assert by_name == ["1001", "1003", "2001", "2002", "2003", "2004", "2005"]
    assert ids("bob@example.com") == by_name
    assert ids("BOB@Example.COM") == by_name  # addresses compare case-insensitively
    assert ids("nobody@example.com") == []
