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


@pytest.mark.json_only("over http the identity is the token's")
def test_after_the_subcommand_wins(store):
    mine = run("--user", "bob", "tickets", "list", "-o", "ids", "--user", "carol")
    assert (
        mine.stdout.split() == run("--user", "carol", "tickets", "list", "-o", "ids").stdout.split()
    )


@pytest.mark.json_only("--store and -v are about the local store")
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


@pytest.mark.json_only("the bar is drawn by the command, whatever the backend")
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
