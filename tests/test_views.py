"""Triage views (SPEC §16): built-in and saved views, PRIORITY, `--sort due`, `--group`,
`--resolution`, and the service level in `tickets show` — on every local store and over
http (the shared ``backend`` fixture), through the CLI."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import NOW, jsonl, message, run, small_store_docs, ticket, ts, user


def _config(text: str) -> Path:
    path = Path(os.environ["SUPPORTCTL_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def triage_docs() -> list[dict]:
    """The small store, with support groups and a ticket for each built-in view."""
    docs = []
    for doc in small_store_docs():
        if doc.get("username") == "dana":
            doc["groups"] = ["Tier 1"]
        if doc.get("id") == "1001":
            doc["group"] = "Tier 1"
        if doc.get("id") == "1002":
            doc["group"] = "Billing"
        docs.append(doc)
    closed = {"closed_at": "2026-10-20T09:00:00Z", "status": "closed"}
    return [
        *docs,
        user("fay", "support", "agent", groups=["Billing", "Tier 1"]),
        ticket("1007", "gina", "globex", resolution="spam", **closed),
        ticket("1008", "bob", "acme", status="resolved", assignee="dana", group="Tier 1"),
        ticket("1009", "carol", "acme", status="pending", assignee="dana", group="Billing"),
        ticket("1010", "gina", "globex", status="new", assignee="dana", priority="urgent"),
        ticket("1011", "bob", "acme", resolution="duplicate", assignee="dana", **closed),
        ticket("1012", "carol", "acme", status="escalated", assignee="fay", group="Tier 1"),
    ]


@pytest.fixture
def triage(backend):
    result = run("store", "import", "-", input=jsonl(triage_docs()))
    assert result.exit_code == 0, result.stderr
    return backend


def ids(*args: str) -> list[str]:
    result = run(*args, "-o", "ids")
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


def id_set(*args: str) -> set[str]:
    return set(ids(*args))


# -- built-in views -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("unassigned", {"1002", "1003", "1004", "1005"}),  # not closed, no assignee
        ("group", {"1001", "1008", "1012"}),  # dana's group Tier 1, not closed
        ("mine-open", {"1001", "1010"}),  # new/open/escalated, assigned to dana
        ("mine-pending", {"1009"}),
        ("mine-resolved", {"1008"}),
        ("mine-closed", {"1011"}),  # whatever the resolution
        ("spam", {"1007"}),  # closed as spam, anyone's
    ],
)
def test_builtin_views_select_seed_001s_menus(triage, view, expected):
    assert id_set("--user", "dana", "tickets", "list", "--view", view) == expected


def test_group_view_takes_any_of_my_groups(triage):
    assert id_set("--user", "fay", "tickets", "list", "--view", "group") == {
        "1001",
        "1002",
        "1008",
        "1009",
        "1012",
    }
    assert id_set("--user", "fay", "tickets", "list", "--view", "mine-open") == {"1012"}


def test_group_view_of_an_agent_in_no_group_is_empty_and_says_why(triage):
    result = run("--user", "eve", "tickets", "list", "--view", "group")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "you are in no support group" in result.stderr


def test_a_refused_list_says_only_why(triage):
    # a FedRAMP user is refused a list; "no support group" would only mislead
    result = run("--user", "fed", "tickets", "list", "--view", "group")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[0].startswith("supportctl: error: FedRAMP")
    assert "support group" not in result.stderr


def test_views_cover_what_customers_may_see(triage):
    # a user: their own tickets (scope mine); an admin: their org's
    assert id_set("--user", "bob", "tickets", "list", "--view", "unassigned") == {"1003"}
    assert id_set("--user", "alice", "tickets", "list", "--view", "unassigned") == {
        "1002",
        "1003",
        "1005",
    }
    assert id_set("--user", "gina", "tickets", "list", "--view", "spam") == {"1007"}
    assert id_set("--user", "bob", "tickets", "list", "--view", "spam") == set()


def test_unknown_view_exits_2_listing_the_valid_ones(triage):
    _config('[views.billing-queue]\ngroup = "Billing"\n')
    result = run("--user", "dana", "tickets", "list", "--view", "nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first == (
        "supportctl: error: unknown view 'nope'; valid views: unassigned, group, mine-open, "
        "mine-pending, mine-resolved, mine-closed, spam, billing-queue"
    )


# -- flags with a view ----------------------------------------------------------------------------
def test_flags_narrow_a_view(triage):
    dana = ("--user", "dana", "tickets", "list")
    assert id_set(*dana, "--view", "unassigned", "--priority", "urgent") == {"1003"}
    assert id_set(*dana, "--view", "unassigned", "--tag", "export") == {"1003"}
    assert id_set(*dana, "--view", "unassigned", "--org", "globex") == {"1004"}
    # a flag for a key the view sets keeps the values in both
    assert id_set(*dana, "--view", "mine-open", "--status", "open") == {"1001"}
    assert id_set(*dana, "--view", "mine-open", "--status", "open", "--status", "pending") == {
        "1001"
    }
    fay = ("--user", "fay", "tickets", "list")
    assert id_set(*fay, "--view", "group", "--group", "Billing") == {"1002", "1009"}
    # --scope replaces the view's (widest) scope: dana's own unassigned tickets are none
    assert id_set(*dana, "--view", "unassigned", "--scope", "mine") == set()


def test_your_own_username_agrees_with_a_views_at_me(triage):
    """`--assignee dana` as dana is the view's `@me`: it narrows nothing and selects what the
    view does, rather than exiting 2 with "selects nothing" (nor does `@me` against a saved
    view naming dana)."""
    dana = ("--user", "dana", "tickets", "list")
    assert id_set(*dana, "--view", "mine-open", "--assignee", "dana") == {"1001", "1010"}
    _config('[views.danas]\nassignee = "dana"\n')
    assert id_set(*dana, "--view", "danas", "--assignee", "@me", "--status", "new") == {"1010"}
    # another agent's name still contradicts the view's @me
    other = run(*dana, "--view", "mine-open", "--assignee", "fay")
    assert other.exit_code == 2
    assert "--assignee fay selects nothing in view 'mine-open'" in other.stderr


def test_presentation_flags_replace_the_views(triage):
    dana = ("--user", "dana", "tickets", "list", "--view", "unassigned")
    assert ids(*dana, "--sort", "id", "--asc") == ["1002", "1003", "1004", "1005"]
    assert ids(*dana, "--sort", "id", "--limit", "2") == ["1005", "1004"]
    result = run(*dana, "--columns", "id,priority", "-o", "csv")
    assert result.stdout.splitlines()[0] == "id,priority"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--view", "mine-pending", "--status", "open"],
            "--status open selects nothing in view 'mine-pending', which has status pending",
        ),
        (
            ["--view", "unassigned", "--assignee", "dana"],
            "--assignee dana selects nothing in view 'unassigned', which has assignee none",
        ),
        (
            ["--view", "group", "--group", "Billing"],  # dana is in Tier 1 only
            "--group Billing selects nothing in view 'group', which has group @mine",
        ),
        (
            ["--view", "spam", "--resolution", "solved"],
            "--resolution solved selects nothing in view 'spam', which has resolution spam",
        ),
    ],
)
def test_a_flag_contradicting_the_view_exits_2(triage, args, message):
    result = run("--user", "dana", "tickets", "list", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"supportctl: error: {message}"


# -- saved views ----------------------------------------------------------------------------------
SAVED = """
[views.urgent-first]
description = "What burns"
status = ["new", "open", "pending"]
priority = ["urgent", "high", "normal"]
sort = "priority"
columns = "id,priority,status"
output = "csv"

[views.acme-export]
org = "acme"
tag = "export"
since = "2026-09-01"
scope = "org"
"""


def test_saved_views_hold_tickets_list_flags(triage):
    _config(SAVED)
    result = run("--user", "dana", "tickets", "list", "--view", "urgent-first")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "id,priority,status",
        "1003,urgent,new",
        "1010,urgent,new",
        "1001,high,open",
        "1005,normal,open",  # ties: newest first
        "1004,normal,open",
        "1009,normal,pending",
    ]
    assert id_set("--user", "dana", "tickets", "list", "--view", "acme-export") == {
        "1001",
        "1003",
    }
    # flags narrow a saved view too, and replace its presentation
    narrowed = run(
        "--user", "dana", "tickets", "list", "--view", "urgent-first", "--priority", "urgent",
        "-o", "json", "--columns", "id",
    )  # fmt: skip
    assert narrowed.json() == [{"id": "1003"}, {"id": "1010"}]


def test_saved_view_since_narrows_with_the_later_bound(triage):
    _config('[views.recent]\nsince = "2026-10-12"\nscope = "org"\n')
    base = ("--user", "dana", "tickets", "list", "--view", "recent")
    assert id_set(*base) >= {"1004", "1005", "1006"}
    assert "1003" not in id_set(*base)
    assert id_set(*base, "--since", "2026-10-01", "--until", "2026-10-12") == {"1004"}
    assert id_set(*base, "--since", "2026-10-13", "--until", "2026-10-13") == {"1005"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[views.v]\nstatuses = "open"\n', "[views.v]: unknown key(s) statuses; valid: scope"),
        ('[views.v]\nstatus = "opened"\n', "[views.v]: 'status' value 'opened' is not one of"),
        ("[views.v]\nstatus = []\n", "[views.v]: 'status' must be a non-empty string or list"),
        ('[views.v]\nsort = "due-date"\n', "[views.v]: 'sort' value 'due-date' is not one of"),
        ('[views.v]\ncolumns = "id,nope"\n', "[views.v]: 'columns': unknown column nope"),
        ("[views.v]\nlimit = -1\n", "[views.v]: 'limit' must be a whole number"),
        ('[views.v]\nasc = "yes"\n', "[views.v]: 'asc' must be true or false"),
        ('[views.v]\nsince = "last tuesday"\n', "[views.v]: 'since': invalid time"),
        ('[views.v]\nidle = "2 weeks"\n', "[views.v]: 'idle': invalid duration"),
        ('[views.v]\nsince = "2d"\nuntil = "3d"\n', "[views.v]: --since is after --until"),
        ('[views.v]\noutput = "yaml"\n', "[views.v]: 'output' value 'yaml' is not one of"),
        ('[views.spam]\nstatus = "open"\n', "[views.spam]: 'spam' is a built-in view"),
        ("[views]\nv = 1\n", "[views.v] must be a table"),
        ('views = "x"\n', "[views] must be a table"),
    ],
)
def test_a_bad_saved_view_is_a_configuration_error_naming_view_and_key(store, text, message):
    path = _config(text)
    for args in (["tickets", "list", "--view", "v"], ["views", "list"], ["tickets", "list"]):
        result = run("--user", "dana", *args)
        assert result.exit_code == 2, (args, result.stdout)
        assert result.stdout == ""
        assert result.stderr.startswith(f"supportctl: error: config file {path}: ")
        assert message in result.stderr


# -- views list -----------------------------------------------------------------------------------
def test_views_list_table_and_json(store):
    _config(SAVED)
    table = run("views", "list")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "SELECTS", "DESCRIPTION"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == [
        "unassigned",
        "group",
        "mine-open",
        "mine-pending",
        "mine-resolved",
        "mine-closed",
        "spam",
        "urgent-first",
        "acme-export",
    ]
    assert "status closed; resolution spam" in lines[7]
    docs = run("views", "list", "-o", "json").json()
    assert docs[0] == {
        "name": "unassigned",
        "kind": "built-in",
        "description": "Not closed and assigned to no one",
        "flags": {
            "status": ["new", "open", "pending", "escalated", "resolved"],
            "assignee": "none",
        },
    }
    assert docs[-2] == {
        "name": "urgent-first",
        "kind": "saved",
        "description": "What burns",
        "flags": {
            "status": ["new", "open", "pending"],
            "priority": ["urgent", "high", "normal"],
            "sort": "priority",
            "columns": "id,priority,status",
            "output": "csv",
        },
    }
    assert docs[-1]["flags"]["tag"] == ["export"]


def test_views_list_needs_no_store_or_server(isolated_home):
    result = run("--backend", "http", "--url", "http://127.0.0.1:9/api/v1", "views", "list")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 8


def test_completion_offers_view_names(store):
    from click.shell_completion import ShellComplete

    from supportctl.cli import cli

    _config(SAVED)
    complete = ShellComplete(cli, {}, "supportctl", "_SUPPORTCTL_COMPLETE")
    found = [c.value for c in complete.get_completions(["tickets", "list", "--view"], "")]
    assert found[:7] == [
        "unassigned",
        "group",
        "mine-open",
        "mine-pending",
        "mine-resolved",
        "mine-closed",
        "spam",
    ]
    assert found[7:] == ["urgent-first", "acme-export"]
    mine = [c.value for c in complete.get_completions(["tickets", "list", "--view"], "mine-p")]
    assert mine == ["mine-pending"]


# -- --group, --resolution, PRIORITY ----------------------------------------------------------------
def test_group_filter_is_repeatable_any_of(triage):
    dana = ("--user", "dana", "tickets", "list", "--scope", "org")
    assert id_set(*dana, "--group", "Billing") == {"1002", "1009"}
    assert id_set(*dana, "--group", "Billing", "--group", "Tier 1") == {
        "1001",
        "1002",
        "1008",
        "1009",
        "1012",
    }
    assert id_set(*dana, "--group", "Tier 1", "--status", "open") == {"1001"}
    assert id_set(*dana, "--group", "@mine") == {"1001", "1008", "1012"}
    assert id_set(*dana, "--group", "nobody's") == set()
    # in a user's scope: their own tickets only
    assert id_set("--user", "carol", "tickets", "list", "--group", "Billing") == {"1002", "1009"}
    assert id_set("--user", "bob", "tickets", "list", "--group", "Billing") == set()


def test_resolution_filter(triage):
    dana = ("--user", "dana", "tickets", "list", "--scope", "org")
    assert id_set(*dana, "--resolution", "spam") == {"1007"}
    assert id_set(*dana, "--resolution", "spam", "--resolution", "duplicate") == {"1007", "1011"}
    assert id_set(*dana, "--resolution", "solved") == {"1006"}
    bad = run(*dana, "--resolution", "fixed")
    assert bad.exit_code == 2
    assert "'fixed' is not one of" in bad.stderr


def test_default_table_has_priority_after_status(triage):
    result = run("--user", "dana", "tickets", "list", "--scope", "org", "--sort", "id")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[header.index("STATUS") + 1] == "PRIORITY"
    row = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert " urgent " in row["1003"] and " low " in row["1002"]
    user_table = run("--user", "bob", "tickets", "list").stdout.splitlines()[0].split()
    assert user_table == [
        "ID",
        "SUBJECT",
        "TYPE",
        "STATUS",
        "PRIORITY",
        "CREATED",
        "LAST",
        "ACTIVITY",
    ]


# -- --sort due -----------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def due_docs(base: datetime) -> list[dict]:
    """Tickets whose nearest pending target is known (defaults: first response urgent 1h,
    high 4h, normal 1d, low 2d; resolution urgent 1d, high 3d, normal 7d, low 14d)."""
    people = [d for d in small_store_docs() if d["kind"] != "ticket"]

    def _ago(**delta) -> str:
        return ts(base - timedelta(**delta))

    def t(id_: str, priority: str, created: str, **extra) -> dict:
        return ticket(
            id_, "bob", "acme", priority=priority, created_at=created, updated_at=created, **extra
        )

    answered = [message("m1", "dana", "On it", at=_ago(minutes=50))]
    return [
        *people,
        t("2001", "urgent", _ago(hours=2)),  # first response due 1h ago: breached
        t("2002", "normal", _ago(hours=30), status="new"),  # due 6h ago: breached longest
        t("2003", "high", _ago(hours=1)),  # due in 3h
        t("2004", "high", _ago(hours=1)),  # same due and priority as 2003: the id decides
        t("2005", "normal", _ago(hours=21)),  # due in 3h too, lower priority
        t("2006", "low", _ago(hours=1), messages=answered),  # answered: resolution in ~14d
        t("2007", "urgent", _ago(hours=3), status="resolved"),  # nothing pending
        t(
            "2008",
            "urgent",
            _ago(hours=5),
            status="closed",
            resolution="spam",
            closed_at=_ago(hours=4),
        ),  # excluded
        t("2009", "normal", _ago(days=3), status="pending"),  # first response overdue 2d
    ]


@pytest.fixture
def due_store(backend) -> datetime:
    """The due-time store, its times counted back from now; the moment they were."""
    base = _now()
    result = run("store", "import", "-", input=jsonl(due_docs(base)))
    assert result.exit_code == 0, result.stderr
    return base


DUE_ORDER = ["2009", "2002", "2001", "2003", "2004", "2005", "2006"]


def test_sort_due_puts_the_nearest_due_first_and_no_target_last(due_store):
    listed = ids("--user", "dana", "tickets", "list", "--scope", "org", "--sort", "due")
    assert listed[:7] == DUE_ORDER
    assert sorted(listed[7:]) == ["2007", "2008"]  # no pending target: last
    # the heap path of --limit gives the same order as the full sort
    assert ids("--user", "dana", "tickets", "list", "--scope", "org", "--sort", "due",
               "--limit", "4") == DUE_ORDER[:4]  # fmt: skip


def test_sort_due_asc_is_latest_first_with_no_target_still_last(due_store):
    listed = ids("--user", "dana", "tickets", "list", "--scope", "org", "--sort", "due", "--asc")
    assert listed[:7] == ["2006", "2005", "2004", "2003", "2001", "2002", "2009"]
    assert sorted(listed[7:]) == ["2007", "2008"]


def test_sort_due_table_shows_the_sla_column(due_store):
    result = run("--user", "dana", "tickets", "list", "--scope", "org", "--sort", "due")
    lines = result.stdout.splitlines()
    assert lines[0].split()[-1] == "SLA"
    assert "breached 2d ago" in lines[1]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["2008"].rstrip().endswith("excluded")


def test_sort_due_with_a_view(due_store):
    listed = ids("--user", "dana", "tickets", "list", "--view", "unassigned", "--sort", "due")
    assert listed == [*DUE_ORDER, "2007"]


def test_the_sla_column_shows_the_pending_target_after_one_met_late(backend):
    """A first response given late, the resolution still to come: `--sort due` orders the
    ticket by the resolution's due time, so its SLA cell says how long is left for it (and
    that the response was late), not only "response late"."""
    base = _now()
    people = [d for d in small_store_docs() if d["kind"] != "ticket"]
    created = ts(base - timedelta(hours=30))  # normal: response due 6h ago, resolution in ~5d
    late = [message("m1", "dana", "On it", at=ts(base - timedelta(hours=2)))]
    doc = ticket("2101", "bob", "acme", created_at=created, updated_at=created, messages=late)
    result = run("store", "import", "-", input=jsonl([*people, doc]))
    assert result.exit_code == 0, result.stderr
    for flag in (("--sort", "due"), ("--sla", "breached")):
        result = run("--user", "dana", "tickets", "list", "--scope", "org", *flag)
        assert result.exit_code == 0, result.stderr
        row = result.stdout.splitlines()[1]
        assert row.split()[0] == "2101"
        assert row.rstrip().endswith("5d left (resolution), response late"), row


@pytest.mark.parametrize("value", ["due-date", "sla", ""])
def test_a_bad_sort_exits_2_naming_the_valid_ones(store, value):
    result = run("--user", "dana", "tickets", "list", "--sort", value)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "'created', 'updated', 'priority', 'status', 'id', 'due'" in result.stderr


# -- tickets show: the service level ----------------------------------------------------------------
def _section(text: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index("Service level")
    end = lines.index("", start)
    return lines[start + 1 : end]


def test_show_prints_each_target(due_store):
    result = run("--user", "dana", "tickets", "show", "2006")
    assert result.exit_code == 0, result.stderr
    first, resolution = _section(result.stdout)
    created = due_store - timedelta(hours=1)
    fmt = "%Y-%m-%d %H:%M"
    assert first.startswith("  First response:  met · due ")
    assert (created + timedelta(days=2)).strftime(fmt) in first
    assert f"at {(due_store - timedelta(minutes=50)).strftime(fmt)}" in first
    assert first.endswith("to spare")
    assert resolution.startswith("  Resolution:      on time · due ")
    assert (created + timedelta(days=14)).strftime(fmt) in resolution
    assert resolution.endswith("13d left")


def test_show_breached_and_at_risk(due_store):
    first, resolution = _section(run("--user", "dana", "tickets", "show", "2009").stdout)
    assert first.startswith("  First response:  breached · due ")
    assert first.endswith("· 2d overdue")
    assert resolution.startswith("  Resolution:      on time · due ")
    # urgent, created 2h ago: response 1h overdue; resolution (1d) has 22h of 24h left
    first, resolution = _section(run("--user", "dana", "tickets", "show", "2001").stdout)
    assert first.endswith("· 1h overdue") or first.endswith("· 59m overdue")
    assert resolution.startswith("  Resolution:      on time")
    # normal, created 30h ago: 6h overdue on the first response; 5d left of 7d
    first, _ = _section(run("--user", "dana", "tickets", "show", "2002").stdout)
    assert "breached" in first and "overdue" in first


def test_show_at_risk(backend):
    docs = [
        *[d for d in small_store_docs() if d["kind"] != "ticket"],
        ticket(
            "3001",
            "bob",
            "acme",
            priority="high",
            created_at=ts(_now() - timedelta(hours=3, minutes=30)),
        ),
    ]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    first, _ = _section(run("--user", "dana", "tickets", "show", "3001").stdout)
    assert first.startswith("  First response:  at risk · due ")
    assert first.endswith("· 29m left") or first.endswith("· 30m left")


def test_show_excluded(due_store):
    lines = _section(run("--user", "dana", "tickets", "show", "2008").stdout)
    assert lines == ["  excluded: closed as spam, so it has no service level"]


def test_show_met_late(store):
    result = run("--user", "dana", "tickets", "show", "1001")  # replied 2026-10-01, high
    first, resolution = _section(result.stdout)
    # m3 by dana at 09:00 on the creation day: in time; resolution (3d) never came: breached
    assert first.startswith("  First response:  met · due 2026-10-01 13:00 · at 2026-10-01 09:00")
    assert resolution.startswith("  Resolution:      breached · due 2026-10-04 09:00 · ")
    assert resolution.endswith("overdue")


def test_show_json_is_unchanged(store):
    doc = run("--user", "dana", "tickets", "show", "1001", "-o", "json").json()
    assert set(doc["sla"]) == {
        "first_response_due",
        "first_response_at",
        "resolution_due",
        "resolved_at",
        "breached",
        "at_risk",
        "excluded",
    }


def test_render_counts_time_left_from_the_given_moment():
    from supportctl.api import TicketView
    from supportctl.models import Ticket, User
    from supportctl.render import render_ticket
    from supportctl.sla import SlaPolicy, evaluate

    doc = {k: v for k, v in ticket("9", "bob", "acme", created_at=ts(NOW)).items() if k != "kind"}
    t = Ticket.from_dict(doc)
    sla = evaluate(t.summary(), {}, SlaPolicy(), NOW)
    view = TicketView(t, User.from_dict({"username": "bob", "org": "acme"}), [], None, sla=sla)
    text = render_ticket(view, now=NOW + timedelta(hours=20))
    first, resolution = _section(text)
    assert first.endswith(
        "at risk · due " + (NOW + timedelta(days=1)).strftime("%Y-%m-%d %H:%M") + " · 4h left"
    )
    assert resolution.endswith("6d left")
    text = render_ticket(view, now=NOW + timedelta(days=2))
    first, _ = _section(text)
    assert first.startswith("  First response:  breached") and first.endswith("24h overdue")


# -- the rt backend ---------------------------------------------------------------------------------
def test_rt_maps_group_to_queues_and_resolution_to_statuses():
    from datetime import UTC, datetime

    from supportctl.api import TicketQuery
    from supportctl.remote.rt import ticket_sql

    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    sql = ticket_sql(TicketQuery(scope="org", groups=("Billing", "Tier 1")), "root", now=now)
    assert sql == "Status != 'deleted' AND (Queue = 'Billing' OR Queue = 'Tier 1')"
    sql = ticket_sql(TicketQuery(scope="org", resolutions=("solved", "other")), "root", now=now)
    assert sql == "Status != 'deleted' AND (Status = 'resolved' OR Status = 'rejected')"
    # resolutions RT cannot hold (spam, duplicate, …) match nothing, like other such filters
    sql = ticket_sql(TicketQuery(scope="org", resolutions=("spam",)), "root", now=now)
    assert sql.endswith(" AND id = 0")


@pytest.mark.parametrize(
    ("query", "message", "hint"),
    [
        (
            {"sort": "due"},
            "`tickets list --sort due` is not supported by the `rt` backend",
            "--sla",
        ),
        (
            {"groups": ("@mine",)},
            "`tickets list --group @mine` is not supported by the `rt` backend",
            "--group QUEUE",
        ),
    ],
)
def test_rt_refuses_sort_due_and_my_groups_before_any_request(query, message, hint):
    import responses

    from supportctl.api import TicketQuery
    from supportctl.errors import UsageError
    from supportctl.remote.rt import RtClient, RtService

    with responses.RequestsMock() as mocked:
        service = RtService(
            RtClient("http://rt.test/REST/2.0", auth=None, token="t", sleep=lambda s: None),
            "root",
        )
        with pytest.raises(UsageError) as caught:
            service.list_tickets(TicketQuery(scope="org", **query))
        assert not mocked.calls
    assert caught.value.message == message
    assert hint in (caught.value.hint or "")


def test_rt_refusal_through_the_cli(isolated_home):
    result = run(
        "--backend", "rt", "--url", "http://rt.test", "tickets", "list", "--sort", "due",
        env={"SUPPORTCTL_TOKEN": "a:b"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "supportctl: error: `tickets list --sort due` is not supported by the `rt` backend"
    )


def _pending_due(doc: dict) -> str | None:
    """The oracle of `--sort due`, from a listed ticket's own `sla` object."""
    sla = doc["sla"]
    if sla["excluded"] or doc["status"] in ("resolved", "closed"):
        return None
    pending = [
        sla[due]
        for due, done in (
            ("first_response_due", "first_response_at"),
            ("resolution_due", "resolved_at"),
        )
        if sla[done] is None
    ]
    return min(pending, default=None)


def test_sort_due_agrees_with_each_tickets_sla_object_on_the_demo(backend):
    assert run("store", "init", "--demo").exit_code == 0
    result = run(
        "--user", "sam", "tickets", "list", "--scope", "org", "--sort", "due", "-o", "json"
    )
    assert result.exit_code == 0, result.stderr
    dues = [_pending_due(doc) for doc in result.json()]
    timed = [d for d in dues if d is not None]
    assert len(timed) > 20
    assert dues[: len(timed)] == sorted(timed)  # soonest first, none without a due time among them
    assert all(d is None for d in dues[len(timed) :])
    first = result.json()[0]
    assert first["sla"]["breached"]  # the most overdue one is breached
    limited = run(
        "--user",
        "sam",
        "tickets",
        "list",
        "--scope",
        "org",
        "--sort",
        "due",
        "--limit",
        "10",
        "-o",
        "ids",
    )
    assert limited.stdout.split() == [doc["id"] for doc in result.json()[:10]]


def test_combine_keeps_the_narrower_bound_and_every_tag():
    from types import SimpleNamespace

    from supportctl.views import View, combine

    view = View("v", "saved", {"idle": "2d", "tags": ("vip",), "since": "7d", "until": "1d"})
    agent = SimpleNamespace(role="agent", groups=[])
    merged = combine(
        view,
        {"idle": "36h", "tags": ("sso", "vip"), "since": "30d", "until": "2d"},
        actor=lambda: agent,
    )
    assert merged == {
        "idle": "2d",
        "tags": ("vip", "sso"),
        "since": "7d",
        "until": "2d",
        "scope": "org",
    }
    user = SimpleNamespace(role="user", groups=[])
    assert combine(view, {}, actor=lambda: user)["scope"] == "mine"
    assert "scope" not in combine(View("o", "saved", {"org": "acme"}), {}, actor=lambda: user)


def test_sort_due_takes_the_nearer_target_whatever_the_config_makes_first():
    # [sla] may give a resolution target shorter than the first response's: a ticket
    # with both pending is due at the nearer one, as the SLA column counts it.
    from datetime import timedelta

    from supportctl.sla import SlaPolicy, due_clock, epoch

    policy = SlaPolicy(
        first_response={p: timedelta(days=10) for p in ("low", "normal", "high", "urgent")},
        resolution={p: timedelta(days=5) for p in ("low", "normal", "high", "urgent")},
    )
    row = {
        "status": "open",
        "priority": "low",
        "type": "email",
        "created_at": "2026-11-01T00:00:00Z",
    }
    due = due_clock(policy)
    created = epoch("2026-11-01T00:00:00Z")
    assert due(row, {"fr": None, "res": None}) == created + 5 * 86400
    assert due(row, {"fr": "2026-11-02T00:00:00Z", "res": None}) == created + 5 * 86400
    assert due(row, {"fr": None, "res": "2026-11-03T00:00:00Z"}) == created + 10 * 86400
    assert due(row, {"fr": "2026-11-02T00:00:00Z", "res": "2026-11-03T00:00:00Z"}) is None
