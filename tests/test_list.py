"""`tickets list`: visibility (SPEC §3), filters and sorts (§4, §9), every output format (§8)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import run

pytestmark = pytest.mark.usefixtures("backend")


def ids(*args: str, user: str = "dana") -> list[str]:
    result = run("--user", user, "tickets", "list", "-o", "ids", "--limit", "0", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


# -- visibility -----------------------------------------------------------------------------------


def test_user_sees_tickets_they_submitted_or_are_cc_on(store):
    assert sorted(ids(user="bob")) == ["1001", "1003"]
    assert sorted(ids(user="carol")) == ["1001", "1002"]  # cc on 1001


def test_agent_mine_scope_is_assigned_tickets(store):
    assert ids(user="dana") == ["1001"]
    assert sorted(ids("--scope", "org", user="dana")) == [
        "1001",
        "1002",
        "1003",
        "1004",
        "1005",
        "1006",
    ]


def test_agent_org_flag_narrows_and_implies_org_scope(store):
    assert ids("--org", "globex", user="eve") == ["1004"]


def test_admin_org_scope_sees_own_org_only_and_gains_username_column(store):
    assert sorted(ids("--scope", "org", user="alice")) == ["1001", "1002", "1003", "1005", "1006"]
    table = run("--user", "alice", "tickets", "list", "--scope", "org")
    assert table.exit_code == 0
    header = table.stdout.splitlines()[0].split()
    assert header[:2] == ["ID", "USERNAME"]
    assert "ASSIGNEE" not in header


def test_admin_cannot_list_another_org(store):
    result = run("--user", "alice", "tickets", "list", "--scope", "org", "--org", "globex")
    assert result.exit_code == 4
    assert result.stderr.startswith("supportctl: error: ")


def test_user_org_scope_is_permission_error(store):
    result = run("--user", "bob", "tickets", "list", "--scope", "org")
    assert result.exit_code == 4
    assert "--scope org is for brand admins and agents" in result.stderr


def test_agent_table_gains_assignee_column(store):
    header = run("--user", "dana", "tickets", "list").stdout.splitlines()[0]
    assert header.split()[-1] == "ASSIGNEE"


def test_fedramp_user_is_refused_with_reason(store):
    for args in (["tickets", "list"], ["tickets", "show", "1005"]):
        result = run("--user", "fed", *args)
        assert result.exit_code == 4
        assert "FedRAMP" in result.stderr
        assert result.stdout == ""


@pytest.mark.local_only("identity on the json backend is --user; over http it is the token")
def test_unknown_user_exit_4(store):
    result = run("--user", "nobody", "tickets", "list")
    assert result.exit_code == 4
    assert "unknown user 'nobody'" in result.stderr


@pytest.mark.local_only("identity on the json backend is --user; over http it is the token")
def test_no_user_configured_exit_4_and_says_how(store):
    result = run("tickets", "list")
    assert result.exit_code == 4
    assert "no user configured" in result.stderr
    assert "config set user" in result.stderr


@pytest.mark.local_only("identity on the json backend is --user; over http it is the token")
def test_user_from_environment_and_profile(store):
    assert run("tickets", "list", "-o", "ids", env={"SUPPORTCTL_USER": "carol"}).stdout.split() == [
        "1002",
        "1001",
    ]
    assert run("config", "set", "user", "bob").exit_code == 0
    assert run("tickets", "list", "-o", "ids").stdout.split() == ["1003", "1001"]
    # flag beats environment beats profile
    result = run("--user", "gina", "tickets", "list", "-o", "ids", env={"SUPPORTCTL_USER": "carol"})
    assert result.stdout.split() == ["1004"]


# -- filters --------------------------------------------------------------------------------------


def test_repeated_filter_means_any_of(store):
    assert sorted(ids("--scope", "org", "--status", "new", "--status", "pending")) == [
        "1002",
        "1003",
    ]


def test_different_filters_must_all_hold(store):
    assert ids("--scope", "org", "--status", "open", "--priority", "high") == ["1001"]
    assert ids("--scope", "org", "--type", "phone", "--category", "billing") == []


def test_repeated_tag_means_all_of(store):
    assert sorted(ids("--scope", "org", "--tag", "export")) == ["1001", "1003"]
    assert ids("--scope", "org", "--tag", "export", "--tag", "api") == ["1001"]


def test_assignee_filter(store):
    assert ids("--scope", "org", "--assignee", "eve") == ["1006"]
    assert ids("--scope", "org", "--assignee", "@me", user="eve") == ["1006"]
    assert sorted(ids("--scope", "org", "--assignee", "none")) == ["1002", "1003", "1004", "1005"]


def test_requester_filter(store):
    assert sorted(ids("--scope", "org", "--requester", "bob")) == ["1001", "1003"]


def test_since_until_compare_created_at(store):
    assert sorted(ids("--scope", "org", "--since", "2026-10-12")) == ["1004", "1005", "1006"]
    assert ids("--scope", "org", "--until", "2026-10-01T09:00:00Z") == ["1001"]
    assert sorted(
        ids("--scope", "org", "--since", "2026-10-05T00:00:00Z", "--until", "2026-10-11")
    ) == ["1002", "1003"]


def test_idle_compares_updated_at(store):
    everything = ids("--scope", "org")
    idle = ids("--scope", "org", "--idle", "1d")
    assert "1002" not in idle  # active two hours ago
    assert set(idle) == set(everything) - {"1002"}
    assert "1002" in ids("--scope", "org", "--idle", "90m")


def test_search_subject_and_visible_bodies_case_insensitive(store):
    assert ids("--scope", "org", "--search", "EXPORT FAILS") == ["1001"]
    assert ids("--scope", "org", "--search", "har file") == ["1001"]
    # internal notes are searched for agents only
    assert ids("--scope", "org", "--search", "legacy plan") == ["1001"]
    assert ids("--search", "legacy plan", user="bob") == []
    assert ids("--search", "invoice is wrong", user="carol") == ["1002"]


@pytest.mark.parametrize(
    "bad",
    [
        ["--since", "yesterday"],
        ["--until", "2026-13-45"],
        ["--idle", "14 days"],
        ["--status", "bogus"],
        ["--sort", "subject"],
        ["--limit", "-1"],
        ["-o", "xml"],
        ["--scope", "world"],
    ],
)
def test_bad_flags_exit_2_with_one_line(store, bad):
    result = run("--user", "dana", "tickets", "list", *bad)
    assert result.exit_code == 2
    assert result.stderr.startswith("supportctl: error: ")
    assert result.stdout == ""


# -- sorting and limit ----------------------------------------------------------------------------


def test_default_sort_is_created_newest_first(store):
    assert ids("--scope", "org") == ["1006", "1005", "1004", "1003", "1002", "1001"]
    assert ids("--scope", "org", "--asc") == ["1001", "1002", "1003", "1004", "1005", "1006"]


def test_sort_priority_urgent_first_unless_asc(store):
    order = ids("--scope", "org", "--sort", "priority")
    assert order[0] == "1003"  # urgent
    assert order[-1] == "1002"  # low
    assert ids("--scope", "org", "--sort", "priority", "--asc")[0] == "1002"


def test_sort_updated_and_id(store):
    assert ids("--scope", "org", "--sort", "updated")[0] == "1002"
    assert ids("--scope", "org", "--sort", "id", "--asc")[0] == "1001"


def test_limit_cuts_and_says_how_many_more(store):
    result = run("--user", "dana", "tickets", "list", "--scope", "org", "--limit", "2", "-o", "ids")
    assert result.stdout.split() == ["1006", "1005"]
    assert "4 more" in result.stderr


# -- output formats -------------------------------------------------------------------------------


def test_json_is_a_list_of_documents_with_utc_times(store):
    docs = run("--user", "bob", "tickets", "list", "-o", "json").json()
    assert [d["id"] for d in docs] == ["1003", "1001"]
    first = docs[1]
    assert first["created_at"] == "2026-10-01T09:00:00Z"
    assert "messages" not in first and "events" not in first
    assert docs[0]["subject"] == ""  # stored value, not the derived one


def test_jsonl_one_object_per_line(store):
    out = run("--user", "bob", "tickets", "list", "-o", "jsonl").stdout
    lines = out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1003", "1001"]


def test_csv_and_tsv_header_then_rows(store):
    out = run(
        "--user", "bob", "tickets", "list", "-o", "csv", "--columns", "id,subject,tags"
    ).stdout
    rows = list(csv.reader(io.StringIO(out)))
    assert rows == [
        ["id", "subject", "tags"],
        ["1003", "", "export"],
        ["1001", "Export fails with a timeout", "export,api"],
    ]
    out = run("--user", "bob", "tickets", "list", "-o", "tsv", "--columns", "id,status").stdout
    assert out == "id\tstatus\n1003\tnew\n1001\topen\n"


def test_table_uses_local_time_and_derived_subject(store):
    out = run("--user", "bob", "tickets", "list", env={"TZ": "Asia/Tokyo"}).stdout
    assert "2026-10-01 18:00" in out  # 09:00Z in Tokyo
    assert "Phone call – bob" in out


def test_columns_apply_to_every_format(store):
    docs = run("--user", "bob", "tickets", "list", "-o", "json", "--columns", "id,status").json()
    assert docs == [{"id": "1003", "status": "new"}, {"id": "1001", "status": "open"}]
    table = run("--user", "bob", "tickets", "list", "--columns", "id,priority").stdout
    assert table.splitlines()[0].split() == ["ID", "PRIORITY"]


def test_columns_messages_loads_the_thread_without_notes_for_users(store):
    docs = run("--user", "bob", "tickets", "list", "-o", "json", "--columns", "id,messages").json()
    thread = next(d for d in docs if d["id"] == "1001")["messages"]
    assert [m["id"] for m in thread] == ["m1", "m3"]
    docs = run("--user", "dana", "tickets", "list", "-o", "json", "--columns", "id,messages").json()
    assert [m["id"] for m in docs[0]["messages"]] == ["m1", "m2", "m3"]


def test_unknown_column_lists_valid_ones(store):
    result = run("--user", "bob", "tickets", "list", "--columns", "id,nope")
    assert result.exit_code == 2
    assert "unknown column nope" in result.stderr
    assert "valid columns: id, subject" in result.stderr


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("json", "[]\n"), ("jsonl", ""), ("ids", ""), ("csv", "id,status\n"), ("tsv", "id\tstatus\n")],
)
def test_empty_result_is_not_an_error(store, fmt, expected):
    result = run(
        "--user",
        "gina",
        "tickets",
        "list",
        "--status",
        "closed",
        "-o",
        fmt,
        "--columns",
        "id,status",
    )
    assert result.exit_code == 0
    assert result.stdout == expected


def test_empty_table_says_so_on_stderr(store):
    result = run("--user", "gina", "tickets", "list", "--status", "closed")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no tickets match" in result.stderr


def test_no_ansi_codes_when_not_a_tty(store):
    out = run("--user", "dana", "tickets", "list", "--scope", "org").stdout
    assert "\x1b[" not in out
    show = run("--user", "dana", "tickets", "show", "1001").stdout
    assert "\x1b[" not in show


def test_ls_is_an_alias(store):
    assert run("--user", "bob", "tickets", "ls", "-o", "ids").stdout.split() == ["1003", "1001"]
