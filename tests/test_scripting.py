"""The scripting contract, round two: what scripts rely on (limits in pipes, global options
anywhere, dates, IDs from CSV/TSV, honest bulk summaries), on every backend."""

from __future__ import annotations

import time

import pytest

from tests.conftest import jsonl, run, ticket

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def many(store):
    """The small store plus 60 open tickets of bob's, created one hour apart on 2026-09-0x."""
    docs = [
        ticket(
            str(2000 + n),
            "bob",
            "acme",
            created_at=f"2026-09-{1 + n // 24:02d}T{n % 24:02d}:00:00Z",
            updated_at=f"2026-09-{1 + n // 24:02d}T{n % 24:02d}:30:00Z",
        )
        for n in range(60)
    ]
    result = run("store", "import", "-", input=jsonl(docs))
    assert result.exit_code == 0, result.stderr
    return store


# -- limits in pipes ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["ids", "json", "jsonl", "csv", "tsv"])
def test_machine_formats_list_every_match_by_default(many, fmt):
    result = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", fmt)
    assert result.exit_code == 0, result.stderr
    counted = {
        "ids": len(result.stdout.split()),
        "json": len(result.json()) if fmt == "json" else 0,
        "jsonl": result.stdout.count("\n"),
        "csv": result.stdout.count("\n") - 1,
        "tsv": result.stdout.count("\n") - 1,
    }[fmt]
    assert counted == 66
    assert "more not shown" not in result.stderr


def test_the_table_still_shows_50_and_says_how_many_more(many):
    result = run("--user", "dana", "tickets", "list", "--scope", "org")
    assert result.stdout.count("\n") == 51  # the header and 50 rows
    assert "showing 50 of 66 tickets; 16 more not shown" in result.stderr


def test_an_explicit_limit_always_applies(many):
    result = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "ids", "--limit", "5")
    assert len(result.stdout.split()) == 5
    assert "61 more not shown" in result.stderr


def test_the_readme_pipeline_closes_every_match(many):
    """`list --idle 14d -o ids | close -` acts on all 60 idle open tickets, not the first 50."""
    listed = run(
        "--user", "dana", "tickets", "list", "--scope", "org", "--status", "open",
        "--idle", "14d", "--requester", "bob", "-o", "ids",
    )  # fmt: skip
    assert len(listed.stdout.split()) == 61  # 60 generated and 1001
    closed = run("--user", "dana", "tickets", "close", "-", input=listed.stdout)
    assert closed.exit_code == 0, closed.stderr
    left = run(
        "--user", "dana", "tickets", "list", "--scope", "org", "--status", "open", "-o", "ids"
    )
    assert left.stdout.split() == ["1005", "1004"]  # not bob's


# -- global options anywhere ----------------------------------------------------------------------
def test_global_options_after_the_subcommand(store):
    before = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "ids")
    after = run("tickets", "list", "--scope", "org", "-o", "ids", "--user", "dana")
    assert after.exit_code == 0, after.stderr
    assert after.stdout == before.stdout
    inline = run("tickets", "list", "--user=dana", "--scope", "org", "-o", "ids")
    assert inline.stdout == before.stdout


@pytest.mark.local_only("over http the identity is the token's")
def test_after_the_subcommand_wins(store):
    mine = run("--user", "bob", "tickets", "list", "-o", "ids", "--user", "carol")
    assert (
        mine.stdout.split() == run("--user", "carol", "tickets", "list", "-o", "ids").stdout.split()
    )


@pytest.mark.local_only("--store and -v are about the local store")
def test_store_no_color_and_verbose_after_the_subcommand(store, tmp_path):
    missing = tmp_path / "nowhere"
    result = run("--user", "dana", "tickets", "list", "--store", str(missing), "-v", "--no-color")
    assert result.exit_code == 6
    assert str(missing) in result.stderr
    assert "supportctl: profile default, backend json" in result.stderr


def test_a_commands_own_option_of_the_same_name_stays_its_own(isolated_home):
    set_ = run("config", "set", "user", "dana", "--profile", "work")
    assert set_.exit_code == 0, set_.stderr
    assert run("config", "get", "user", "--profile", "work").stdout == "dana\n"
    # a value that looks like a global option is still the value of its option
    assert run("config", "get", "user", "--profile", "default").exit_code == 3


# -- dates ----------------------------------------------------------------------------------------
def ids(*args: str) -> list[str]:
    result = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "ids", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()


def test_a_bare_until_date_is_the_whole_day(store):
    assert ids("--since", "2026-10-12", "--until", "2026-10-12") == ["1004"]
    assert ids("--until", "2026-10-01") == ["1001"]


def test_a_time_without_an_offset_is_local_time(store, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    # 1004 was created at 09:00Z = 18:00 in Tokyo
    assert ids("--since", "2026-10-12T17:59:00", "--until", "2026-10-12T18:00:00") == ["1004"]
    assert ids("--since", "2026-10-12T18:00:01") == ["1006", "1005"]
    assert ids("--since", "2026-10-12T09:00:00Z", "--until", "2026-10-12T09:00:00Z") == ["1004"]


@pytest.mark.parametrize(
    "command",
    [
        ["tickets", "list", "--since", "2026-11-20", "--until", "2026-11-01"],
        ["report", "--since", "2026-11-20", "--until", "2026-11-01"],
    ],
)
def test_since_after_until_is_a_usage_error(store, command):
    result = run("--user", "dana", *command)
    assert result.exit_code == 2
    assert result.stderr == "supportctl: error: --since is after --until\n"


# -- IDs from stdin as CSV / TSV; honest summaries; the progress bar ------------------------------
def test_csv_output_with_quoted_subjects_and_newlines_pipes_into_close(store):
    subject = 'Broken "export",\nsecond line'
    made = run("--user", "bob", "tickets", "create", "--subject", subject, "-m", "x")
    new_id = made.stdout.strip()
    listed = run(
        "--user", "dana", "tickets", "list", "--scope", "org", "--status", "new",
        "-o", "csv", "--columns", "subject,id,status",
    )  # fmt: skip
    assert '"Broken ""export"",\nsecond line"' in listed.stdout  # quoted, newline kept
    closed = run("--user", "dana", "tickets", "close", "-", input=listed.stdout)
    assert closed.exit_code == 0, closed.stderr
    assert "not found" not in closed.stderr
    assert "closed 2, already closed 0, failed 0" in closed.stderr  # 1003 and the new one
    again = run("--user", "dana", "tickets", "list", "--scope", "org", "--status", "new")
    assert new_id not in again.stdout


def test_tsv_output_pipes_into_update(store):
    listed = run(
        "--user", "dana", "tickets", "list", "--scope", "org", "--status", "open",
        "-o", "tsv", "--columns", "subject,id",
    )  # fmt: skip
    result = run(
        "--user", "dana", "tickets", "update", "-", "--priority", "normal", input=listed.stdout
    )
    assert result.exit_code == 0, result.stderr
    assert "updated 1, unchanged 2, failed 0" in result.stderr  # only 1001 was not normal


def test_the_summary_counts_what_was_done(store):
    result = run("--user", "dana", "tickets", "close", "1001", "1006", "9999")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == "closed 1, already closed 1, failed 1"


@pytest.mark.local_only("the bar is drawn by the command, whatever the backend")
def test_the_progress_bar_never_shares_a_line_with_a_confirmation(many, monkeypatch):
    import click._termui_impl

    from supportctl.cli.context import AppContext

    monkeypatch.setattr(AppContext, "stderr_tty", property(lambda self: True))
    monkeypatch.setattr(click._termui_impl, "isatty", lambda stream: True)
    ids = "".join(f"{2000 + n}\n" for n in range(25))
    result = run("--user", "dana", "tickets", "close", "-", input=ids)
    assert result.exit_code == 0, result.stderr
    assert "Closing" in result.stderr  # the bar was drawn
    visible = [line.split("\r")[-1].replace("\x1b[K", "") for line in result.stderr.split("\n")]
    confirmations = [line for line in visible if "closed ticket" in line]
    assert len(confirmations) == 25
    assert not [line for line in confirmations if "%" in line or "Closing" in line]


# -- escalated tickets ----------------------------------------------------------------------------
@pytest.fixture
def escalated(store):
    made = run("--user", "dana", "escalations", "create", "1001", "--description", "Bug in export")
    assert made.exit_code == 0, made.stderr
    return made.stdout.split()[0] if made.stdout.strip() else "CP-1000"


def _escalation(ticket_id: str) -> dict:
    import json

    shown = run("--user", "dana", "escalations", "track", "--ticket", ticket_id, "-o", "json")
    return json.loads(shown.stdout)


def test_closing_an_escalated_ticket_is_refused_naming_the_escalation(escalated):
    esc = _escalation("1001")
    result = run("--user", "dana", "tickets", "close", "1001")
    assert result.exit_code == 5
    assert f"ticket 1001 has escalation {esc['id']} at submitted" in result.stderr
    assert "--with-escalation" in result.stderr
    assert run("--user", "dana", "tickets", "show", "1001", "-o", "json").json()["status"] == (
        "escalated"
    )


def test_with_escalation_resolves_it_in_the_same_change(escalated):
    esc = _escalation("1001")
    result = run("--user", "dana", "tickets", "close", "1001", "--with-escalation")
    assert result.exit_code == 0, result.stderr
    after = _escalation("1001")
    assert after["stage"] == "resolved"
    assert after["timeline"][-1]["stage"] == "resolved"
    assert after["timeline"][-1]["note"] == "ticket closed"
    ticket = run("--user", "dana", "tickets", "show", "1001", "-o", "json").json()
    assert ticket["status"] == "closed"
    advanced = [e for e in ticket["events"] if e["action"] == "escalation_advanced"]
    assert advanced[-1]["detail"]["to"] == "resolved"
    org = run("--user", "dana", "org", "view", "--org", "acme", "-o", "json").json()
    assert esc["id"] not in [e["id"] for e in org["open_escalations"]]
    track = run("--user", "dana", "escalations", "track", esc["id"])
    assert "(ticket closed)" in track.stdout


def test_bulk_close_obeys_the_same_rule(escalated):
    result = run("--user", "dana", "tickets", "close", "1001", "1004")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[-1] == "closed 1, already closed 0, failed 1"
    assert run("--user", "dana", "tickets", "show", "1004", "-o", "json").json()["status"] == (
        "closed"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--action", "close", "--status", "escalated", "--idle", "1d"],
        ["--action", "expire", "--status", "new", "--status", "escalated", "--idle", "1d"],
        ["--action", "remind", "--status", "open", "--idle", "1d"],
    ],
)
def test_sweep_rules_naming_escalated_or_reminding_non_pending_exit_2(store, args):
    result = run("--user", "dana", "tickets", "sweep", *args)
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.mark.local_only("configuration is read by the CLI itself")
def test_a_configured_rule_naming_escalated_is_a_configuration_error(store, isolated_home):
    config = isolated_home / "config" / "supportctl" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[sweep.rules.old]\nstatus = "escalated"\nidle = "14d"\naction = "close"\n')
    result = run("--user", "dana", "tickets", "sweep", "--dry-run")
    assert result.exit_code == 2
    assert "[sweep.rules" not in result.stderr or "escalated" in result.stderr
    assert "sweeps never close or expire escalated tickets" in result.stderr


def test_a_sweep_never_closes_a_ticket_whose_escalation_is_open(store):
    """An agent marked an escalated ticket resolved weeks ago: the sweep still leaves it."""
    docs = [
        ticket("3001", "bob", "acme", status="resolved", escalation_id="CP-3001"),
        {
            "kind": "escalation",
            "id": "CP-3001",
            "ticket_id": "3001",
            "description": "Engineering is on it",
            "stage": "in_engineering",
            "timeline": [{"stage": "in_engineering", "at": "2026-10-01T09:00:00Z"}],
            "created_at": "2026-10-01T09:00:00Z",
            "updated_at": "2026-10-01T09:00:00Z",
        },
    ]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    result = run("--user", "dana", "tickets", "sweep", "-o", "json")  # the built-in rule
    assert result.exit_code == 0, result.stderr
    rows = {r["ticket"]: r for r in result.json()}
    assert rows["3001"]["result"] == "skipped"
    assert rows["3001"]["detail"] == (
        "has escalation CP-3001 at in_engineering; sweeps never close or expire escalated tickets"
    )
    assert run("--user", "dana", "tickets", "show", "3001", "-o", "json").json()["status"] == (
        "resolved"
    )


def test_expire_acts_on_the_statuses_the_rule_names(store):
    result = run(
        "--user", "dana", "tickets", "sweep", "--action", "expire", "--status", "pending",
        "--idle", "1h", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [(r["ticket"], r["result"]) for r in result.json()] == [("1002", "expired")]
    shown = run("--user", "dana", "tickets", "show", "1002", "-o", "json").json()
    assert (shown["status"], shown["resolution"]) == ("closed", "expired")


# -- sweeps act per ticket ------------------------------------------------------------------------
@pytest.mark.json_only("a damaged file is the json store's")
def test_a_damaged_ticket_among_20_candidates_is_reported_and_the_rest_are_swept(store):
    docs = [ticket(str(4000 + n), "bob", "acme", status="resolved") for n in range(20)]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    damaged = store / "tickets" / "4007.json"
    damaged.write_text('{"id": "4007", "subject": ')  # cut off mid-write by something else
    result = run("--user", "dana", "tickets", "sweep", "-o", "json")
    assert result.exit_code == 6
    rows = result.json()  # the whole report, even though one ticket failed
    assert len(rows) == 20
    assert [r["result"] for r in rows].count("closed") == 19
    (failed,) = [r for r in rows if r["result"] == "failed"]
    assert failed["ticket"] == "4007" and failed["exit_code"] == 6
    assert str(damaged) in failed["detail"]
    assert "supportctl: error: ticket 4007:" in result.stderr
    table = run("--user", "dana", "tickets", "sweep", "--action", "close", "--idle", "1d")
    assert "(exit 6)" in table.stdout  # nothing else left to close but the damaged one
    assert table.exit_code == 6


# -- subjects -------------------------------------------------------------------------------------
def test_a_subject_over_250_characters_is_refused(store):
    result = run("--user", "bob", "tickets", "create", "--subject", "x" * 251, "-m", "body")
    assert result.exit_code == 2
    assert "the subject is 251 characters; at most 250" in result.stderr
    ok = run("--user", "bob", "tickets", "create", "--subject", "y" * 250, "-m", "body")
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.local_only("the table is drawn by the command, whatever the backend")
def test_a_terminal_table_shortens_long_subjects_machine_formats_keep_them(store, monkeypatch):
    from supportctl.cli.context import AppContext

    long = "Export of the quarterly survey results times out " * 4
    run("--user", "bob", "tickets", "create", "--subject", long.strip(), "-m", "body")
    with monkeypatch.context() as patched:
        patched.setattr(AppContext, "stdout_tty", property(lambda self: True))
        # 100: the user's table (with PRIORITY) and a subject of at least 20 columns fit
        table = run("--user", "bob", "tickets", "list", env={"COLUMNS": "100"})
        lines = table.stdout.splitlines()
        assert all(len(line) <= 100 for line in lines), lines
        assert any(line.rstrip().split("  ")[1].endswith("…") for line in lines[1:])
        wide = run("--user", "bob", "tickets", "list", env={"COLUMNS": "400"})
        assert long.strip() in wide.stdout
    piped = run("--user", "bob", "tickets", "list", "-o", "csv", env={"COLUMNS": "80"})
    assert long.strip() in piped.stdout
    plain = run("--user", "bob", "tickets", "list", env={"COLUMNS": "80"})
    assert long.strip() in plain.stdout  # not a terminal: nothing is cut


# -- SLA exclusions, phone tickets, breaching now -------------------------------------------------
def _sla_docs() -> list[dict]:
    old = {"created_at": "2026-09-01T09:00:00Z", "updated_at": "2026-09-20T09:00:00Z"}
    closed = {"status": "closed", "closed_at": "2026-09-20T09:00:00Z", **old}
    return [
        ticket("5001", "bob", "acme", resolution="spam", **closed),
        ticket("5002", "bob", "acme", resolution="test", **closed),
        ticket("5003", "bob", "acme", resolution="duplicate", **closed),
        ticket("5004", "bob", "acme", resolution="abuse", **closed),
        ticket("5005", "bob", "acme", resolution="solved", **closed),  # late: breached
        ticket("5006", "bob", "acme", type="phone", status="new", **old),  # no reply, a call
        ticket("5007", "bob", "acme", status="open", **old),  # open and late: breaching
    ]


@pytest.fixture
def slas(store):
    assert run("store", "import", "-", input=jsonl(_sla_docs())).exit_code == 0
    rows = run("--user", "dana", "tickets", "list", "--scope", "org", "-o", "json").json()
    return {r["id"]: r["sla"] for r in rows}


def test_tickets_closed_as_spam_test_duplicate_or_abuse_have_no_service_level(slas):
    for ticket_id in ("5001", "5002", "5003", "5004"):
        assert slas[ticket_id]["excluded"] is True
        assert slas[ticket_id]["breached"] == [] and slas[ticket_id]["at_risk"] is False
    assert slas["5005"]["excluded"] is False and slas["5005"]["breached"]
    for wanted in ("breached", "breaching", "at-risk", "ok"):
        listed = ids("--sla", wanted)
        assert not {"5001", "5002", "5003", "5004"} & set(listed), wanted


def test_a_phone_tickets_first_response_is_met_at_its_creation(slas):
    assert slas["5006"]["first_response_at"] == "2026-09-01T09:00:00Z"
    assert "first_response" not in slas["5006"]["breached"]
    assert slas["5007"]["first_response_at"] is None
    assert "first_response" in slas["5007"]["breached"]


def test_breaching_lists_what_is_breaching_now_breached_stays_historical(slas):
    breaching = ids("--sla", "breaching")
    breached = ids("--sla", "breached")
    assert "5007" in breaching and "5006" in breaching  # open, resolution overdue
    assert "5005" not in breaching and "5005" in breached  # closed late: history
    table = run("--user", "dana", "tickets", "list", "--scope", "org", "--sla", "breaching")
    assert "SLA" in table.stdout.splitlines()[0]


def test_reports_do_not_count_excluded_tickets_in_attainment(slas):
    result = run(
        "--user", "dana", "report", "--scope", "org", "--since", "2026-08-31", "--until",
        "2026-09-30", "-o", "json",
    )  # fmt: skip
    normal = result.json()["sla_attainment"]["normal"]["resolution"]
    # 5005 (late), 5006 and 5007 (overdue): the four excluded ones are not counted
    assert (normal["met"], normal["missed"]) == (0, 3)


# -- reports: ISO weeks, resolved when resolved ---------------------------------------------------
def test_reports_count_iso_weeks_from_monday_and_resolved_by_resolution_week(store):
    docs = [
        ticket(  # created long before, closed on Wednesday 2026-10-14 (week 42)
            "6001", "bob", "acme", status="closed", resolution="solved",
            created_at="2026-08-03T09:00:00Z", updated_at="2026-10-14T10:00:00Z",
            closed_at="2026-10-14T10:00:00Z",
        ),
    ]  # fmt: skip
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    report = run(
        "--user", "dana", "report", "--scope", "org", "--since", "2026-10-14T12:00:00Z",
        "--until", "2026-10-25", "-o", "json",
    ).json()  # fmt: skip
    assert report["window"]["since"] == "2026-10-12T00:00:00Z"  # that week's Monday
    assert report["window"]["requested_since"] == "2026-10-14T12:00:00Z"
    weeks = {w["week"]: w for w in report["weekly"]}
    assert list(weeks) == ["2026-W42", "2026-W43"]
    assert weeks["2026-W42"]["start"] == "2026-10-12T00:00:00Z"
    assert weeks["2026-W42"]["resolved"] == 1  # 6001, created in August
    assert "6001" not in [b["id"] for b in report["breaching_now"]]
    assert report["tickets"] == 3  # 1004, 1005, 1006: created from Monday 12th
    table = run(
        "--user", "dana", "report", "--scope", "org", "--since", "2026-10-14T12:00:00Z",
        "--until", "2026-10-25",
    )  # fmt: skip
    assert "ISO weeks, from Monday 00:00 UTC (the week of --since 2026-10-14 12:00)" in table.stdout


# -- backends -------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend_name", ["http", "rt"])
@pytest.mark.parametrize("url", ["localhost:8080/api/v1", "support.example.com", "ftp://x.example"])
def test_a_url_without_http_or_https_is_a_usage_error_with_a_hint(isolated_home, backend_name, url):
    result = run(
        "--backend", backend_name, "--url", url, "tickets", "list",
        env={"SUPPORTCTL_TOKEN": "user:secret"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith(f"supportctl: error: invalid URL {url!r}: it must start with")
    assert "\nhint: for example --url https://" in result.stderr
    assert run("config", "set", "url", url).exit_code == 2


def test_over_http_a_user_who_is_not_the_tokens_draws_a_warning(store, backend):
    if backend != "http":
        pytest.skip("the token decides who acts over http only")
    result = run("--user", "bob", "tickets", "list", "-o", "ids", env={"SUPPORTCTL_USER": "carol"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["1003", "1001"]  # bob's, the token's
    assert (
        "supportctl: warning: the configured user carol (--user, SUPPORTCTL_USER or the "
        "profile) is not the token's user; over http you act as bob" in result.stderr
    )
    same = run("--user", "bob", "tickets", "list", "-o", "ids", env={"SUPPORTCTL_USER": "bob"})
    assert "warning" not in same.stderr


# -- smaller ones ---------------------------------------------------------------------------------
def test_an_expected_date_in_the_past_is_refused(store):
    result = run(
        "--user", "dana", "escalations", "create", "1001", "--description", "x",
        "--expected", "2020-01-01",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--expected 2020-01-01 is in the past" in result.stderr
    assert run("--user", "dana", "tickets", "show", "1001", "-o", "json").json()["status"] == "open"
    ok = run(
        "--user", "dana", "escalations", "create", "1001", "--description", "x",
        "--expected", "2999-01-01",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr


@pytest.mark.json_only("damages the json store's files for store check to find")
def test_an_emptied_store_json_is_rebuilt_by_repair(store):
    (store / "store.json").write_bytes(b"")
    assert run("--user", "bob", "tickets", "list").exit_code == 6
    checked = run("store", "check")
    assert checked.exit_code == 6
    assert "store.json is damaged (not valid JSON) (repairable" in checked.stdout
    repaired = run("store", "check", "--repair")
    assert repaired.exit_code == 0, repaired.stderr
    assert "next ticket 1007" in repaired.stdout
    assert "--repair" not in repaired.stderr
    made = run("--user", "bob", "tickets", "create", "--subject", "after", "-m", "x")
    assert made.stdout.strip() == "1007"  # no id allocated twice


@pytest.mark.json_only("damages the json store's files for store check to find")
def test_repair_that_leaves_damage_does_not_suggest_repair_again(store):
    (store / "tickets" / "1004.json").write_text("{")
    result = run("store", "check", "--repair")
    assert result.exit_code == 6
    assert "restore it from a backup" in result.stdout
    assert "--repair" not in result.stderr


@pytest.mark.local_only("the message is the CLI's")
def test_a_refused_close_says_only_why(store):
    result = run("--user", "bob", "tickets", "close", "1001", "--reason", "spam")
    assert result.exit_code == 4
    assert "recorded" not in result.stderr
    assert result.stderr.startswith("supportctl: error: --reason is for agents")


# -- found by a review of the above ---------------------------------------------------------------
def test_with_escalation_is_for_agents_and_permission_comes_before_the_conflict(escalated):
    result = run("--user", "bob", "tickets", "close", "1001", "--with-escalation")
    assert result.exit_code == 4  # bob is the requester, but escalations are the agents'
    assert "--with-escalation is for agents" in result.stderr
    plain = run("--user", "bob", "tickets", "close", "1001")
    assert plain.exit_code == 5 and "ask support" in plain.stderr
    stranger = run("--user", "alice", "tickets", "close", "1001")  # admin, not the requester
    assert stranger.exit_code == 4


def test_a_dry_run_says_what_the_sweep_will_skip(store):
    docs = [
        ticket("3001", "bob", "acme", status="resolved", escalation_id="CP-3001"),
        {
            "kind": "escalation", "id": "CP-3001", "ticket_id": "3001", "description": "x",
            "stage": "evaluating", "timeline": [{"stage": "evaluating", "at": "2026-10-01T09:00:00Z"}],
            "created_at": "2026-10-01T09:00:00Z", "updated_at": "2026-10-01T09:00:00Z",
        },
    ]  # fmt: skip
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    dry = {
        r["ticket"]: r
        for r in run("--user", "dana", "tickets", "sweep", "--dry-run", "-o", "json").json()
    }
    real = {r["ticket"]: r for r in run("--user", "dana", "tickets", "sweep", "-o", "json").json()}
    assert dry["3001"]["result"] == real["3001"]["result"] == "skipped"
    assert dry["3001"]["detail"] == real["3001"]["detail"]


def test_a_report_without_since_says_nothing_of_a_since(store):
    report = run("--user", "dana", "report", "--scope", "org", "-o", "json").json()
    assert "requested_since" not in report["window"]
    table = run("--user", "dana", "report", "--scope", "org")
    assert "the week of --since" not in table.stdout


def test_a_monday_in_a_time_zone_east_of_utc_starts_that_week(store, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    report = run(
        "--user", "dana", "report", "--scope", "org", "--since", "2026-11-16", "-o", "json"
    )
    assert report.json()["window"]["since"] == "2026-11-16T00:00:00Z"


def test_the_reports_breaching_now_is_what_list_sla_breaching_lists(slas):
    report = run(
        "--user", "dana", "report", "--scope", "org", "--since", "2026-08-31", "-o", "json"
    ).json()
    assert sorted(b["id"] for b in report["breaching_now"]) == sorted(
        i for i in ids("--sla", "breaching", "--since", "2026-08-31")
    )


@pytest.mark.local_only("IDs are read by the CLI")
def test_ids_from_stdin_without_a_header_and_with_a_bom(store):
    plain = run("--user", "dana", "tickets", "update", "-", "--priority", "low", input="1004,foo\n")
    assert plain.exit_code == 0, plain.stderr
    bom = run(
        "--user", "dana", "tickets", "update", "-", "--priority", "urgent",
        input="\ufeffid,subject\n1005,x\n",
    )  # fmt: skip
    assert bom.exit_code == 0, bom.stderr
    shown = run("--user", "dana", "tickets", "show", "1005", "-o", "json").json()
    assert shown["priority"] == "urgent"


@pytest.mark.local_only("argv is parsed by the CLI")
def test_global_options_between_a_group_and_its_command_and_odd_argv(store):
    before = run("--user", "dana", "tickets", "list", "-o", "ids").stdout
    assert run("tickets", "--user", "dana", "list", "-o", "ids").stdout == before
    trailing = run("tickets", "list", "--user")
    assert trailing.exit_code == 2
    assert trailing.stderr.startswith("supportctl: error: Option '--user' requires an argument")
    assert run("tickets", "list", "--user", "dana", "-vv").exit_code == 0


@pytest.mark.parametrize("url", ["http://[::1", "http://localhost:99999", "https://x y"])
def test_malformed_urls_are_usage_errors_not_bugs(isolated_home, url):
    result = run(
        "--backend", "http", "--url", url, "tickets", "list", env={"SUPPORTCTL_TOKEN": "t"}
    )
    assert result.exit_code == 2, result.stderr
    assert "invalid URL" in result.stderr
    assert run("config", "set", "url", url).exit_code == 2


@pytest.mark.local_only("configuration is read by the CLI itself")
def test_a_sweep_rule_a_sweep_may_not_run_fails_the_sweep_not_every_command(store, isolated_home):
    config = isolated_home / "config" / "supportctl" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[sweep.rules.nudge]\nstatus = ["pending", "open"]\nidle = "7d"\naction = "remind"\n'
    )
    assert run("--user", "dana", "tickets", "list").exit_code == 0
    swept = run("--user", "dana", "tickets", "sweep", "--dry-run")
    assert swept.exit_code == 2
    assert "`remind` is for pending tickets" in swept.stderr
