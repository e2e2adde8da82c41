"""Bad and hostile input found in review: each a clear error with the SPEC exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import jsonl, run, ticket


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "1000000d"],
        ["--idle", "99999999999d"],
        ["--since", "0001-01-01T00:00:00+01:00"],
        ["--until", "9999-12-31T23:59:59-01:00"],
    ],
)
def test_overflowing_times_are_usage_errors(store, args):
    result = run("--user", "dana", "tickets", "list", *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("supportctl: error: invalid")


def test_overflowing_import_time_is_a_bad_line(store):
    doc = ticket("3001", "bob", "acme", created_at="0001-01-01T00:00:00+01:00")
    result = run("store", "import", "-", input=jsonl([doc]))
    assert result.exit_code == 2
    assert "line 1: field 'created_at' must be an RFC 3339 time" in result.stderr


def test_years_before_1000_keep_four_digits(store):
    doc = ticket("3001", "bob", "acme", created_at="0999-01-01T00:00:00Z")
    assert run("store", "import", "-", input=jsonl([doc])).exit_code == 0
    shown = run("--user", "bob", "tickets", "show", "3001", "-o", "json").json()
    assert shown["created_at"] == "0999-01-01T00:00:00Z"
    assert run("store", "check").exit_code == 0


def test_ticket_org_must_be_the_requesters(store):
    doc = ticket("3001", "gina", "acme")  # gina is in globex
    result = run("store", "import", "-", input=jsonl([doc]))
    assert result.exit_code == 2
    assert "org 'acme' is not the org of requester 'gina' ('globex')" in result.stderr


def test_non_ascii_digits_are_not_escalation_ids(store):
    doc = ticket("3001", "bob", "acme", escalation_id="CP-١٢٣")
    assert run("store", "import", "-", input=jsonl([doc])).exit_code == 2


def test_terminal_escapes_are_made_visible_in_tables_and_show(store):
    doc = ticket("3001", "bob", "acme", subject="\x1b[2J\x1b[31mpwned")
    assert run("store", "import", "-", input=jsonl([doc])).exit_code == 0
    table = run("--user", "bob", "tickets", "list").stdout
    assert "\x1b" not in table and "\\x1b[2J" in table
    show = run("--user", "bob", "tickets", "show", "3001").stdout
    assert "\x1b" not in show and "\\x1b[31mpwned" in show
    # data formats keep the stored value exactly
    data = run("--user", "bob", "tickets", "list", "-o", "json", "--columns", "id,subject").json()
    assert {d["id"]: d["subject"] for d in data}["3001"] == "\x1b[2J\x1b[31mpwned"
    tsv = run("--user", "bob", "tickets", "list", "-o", "tsv", "--columns", "subject").stdout
    assert "\x1b[31mpwned" in tsv


@pytest.mark.parametrize(
    "field, value, shown",
    [
        ("body", "first line\nsecond \x9b2J line\x07", "second \\x9b2J line\\x07"),
        ("author", "bob\x1b]0;title\x07", "bob\\x1b]0;title\\x07"),
        ("at", "2026-10-01T09:00:00Z", "first line"),  # nothing to escape: shown as stored
    ],
)
def test_controls_anywhere_in_the_thread_are_made_visible_in_show(store, field, value, shown):
    msg = {
        "id": "m1",
        "kind": "email",
        "author": "bob",
        "at": "2026-10-01T09:00:00Z",
        "body": "first line\nsecond line",
        "attachments": [],
    }
    msg[field] = value
    doc = ticket("3002", "bob", "acme", messages=[msg])
    assert run("store", "import", "-", input=jsonl([doc])).exit_code == 0
    show = run("--user", "bob", "tickets", "show", "3002").stdout
    assert shown in show
    assert not any(ch in show for ch in "\x1b\x9b\x07")
    assert "    first line\n" in show  # a body keeps its lines


CONTROLS = ("\x1b", "\x07", "\x9b", "\x00")


def test_bulk_errors_make_control_characters_visible(store, backend):
    """An id read from stdin is echoed in the bulk error line: escapes never reach the
    terminal raw (a title-setting OSC and a screen clear here), as `tickets show` does."""
    ids = "1002\n\x1b]0;PWNED\x07\nx\x1b[2Jy\n"
    for args in (("tickets", "update", "-", "--priority", "high"), ("tickets", "close", "-")):
        result = run("--user", "dana", *args, input=ids)
        assert result.exit_code == 3, result.stderr
        assert not any(c in result.stderr for c in CONTROLS), repr(result.stderr)
        assert "ticket \\x1b]0;PWNED\\x07 not found" in result.stderr
        assert "ticket x\\x1b[2Jy not found" in result.stderr


def test_sweep_failure_notes_make_control_characters_visible(store, monkeypatch):
    """A sweep's failure note carries a message from the store (or a server): escaped too."""
    from supportctl.api import SweepOutcome
    from supportctl.service import LocalService

    def sweep(self, rules, **kwargs):
        return [SweepOutcome("1001", "r", "close", "failed", "bad \x1b[2J\x07 data", 6)]

    monkeypatch.setattr(LocalService, "sweep", sweep)
    result = run("--user", "dana", "tickets", "sweep")
    assert result.exit_code == 6
    assert not any(c in result.stderr + result.stdout for c in CONTROLS)
    assert "supportctl: error: ticket 1001: bad \\x1b[2J\\x07 data" in result.stderr


def test_columns_edge_cases(store):
    assert run("--user", "bob", "tickets", "list", "--columns", "").exit_code == 2
    dup = run("--user", "bob", "tickets", "list", "-o", "csv", "--columns", "ID,id,Status").stdout
    assert dup.splitlines()[0] == "id,status"


def test_config_values_and_write_failures(isolated_home, tmp_path):
    for value in ("nan", "inf", "1e400", "0"):
        assert run("config", "set", "timeout", value).exit_code == 2, value
    result = run("config", "set", "user", "bob", env={"SUPPORTCTL_CONFIG": "/proc/nope/c.toml"})
    assert result.exit_code == 2
    assert "cannot write config file" in result.stderr


def test_unknown_backend_from_the_environment(store):
    result = run("--user", "bob", "tickets", "list", env={"SUPPORTCTL_BACKEND": "carrier-pigeon"})
    assert result.exit_code == 2
    assert "unknown backend 'carrier-pigeon'. Valid backends: http, json" in result.stderr


def test_export_to_an_unwritable_path_is_usage(store, tmp_path):
    result = run("store", "export", str(tmp_path / "missing-dir" / "x.jsonl"))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_store_path_that_is_a_file(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("hello")
    for args in (["store", "init"], ["--user", "bob", "tickets", "list"]):
        result = run("--store", str(afile), *args)
        assert result.exit_code == 2
        assert "is a file, not a store directory" in result.stderr
    assert afile.read_text() == "hello"


def test_broken_pipe_exits_0_quietly(store):
    many = [ticket(str(4000 + i), "bob", "acme", subject="x" * 500) for i in range(400)]
    run("store", "import", "-", input=jsonl(many))
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.run(
        f"{sys.executable} -m supportctl store export | head -c 10; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_sort_status_new_first(store):
    out = run("--user", "dana", "tickets", "list", "--scope", "org", "--sort", "status", "-o", "json",
              "--columns", "id,status").json()  # fmt: skip
    assert [t["status"] for t in out][:2] == ["new", "open"]
    assert out[-1]["status"] == "closed"


def test_colour_only_when_both_ends_are_terminals(monkeypatch):
    from supportctl.cli.context import AppContext

    app = AppContext()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    assert app.use_color
    assert "\x1b[" in app.style("x", fg="red")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert not app.use_color
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    assert not AppContext(no_color=True).use_color


def test_no_color_environment(store):
    assert run("--user", "bob", "tickets", "list", env={"NO_COLOR": "1"}).exit_code == 0


def test_resources_and_phone_basic_info_in_show(store):
    doc = ticket(
        "3001", "bob", "acme", type="phone", subject="",
        resources=[{"title": "Exporting data", "url": "https://help.example.com/export"}],
        messages=[{"id": "m1", "kind": "email", "author": "bob", "at": "2026-10-01T09:00:00Z",
                   "body": "Follow-up by mail", "attachments": []}],
    )  # fmt: skip
    assert run("store", "import", "-", input=jsonl([doc])).exit_code == 0
    out = run("--user", "bob", "tickets", "show", "3001").stdout
    assert "- Exporting data  https://help.example.com/export" in out
    assert "Phone ticket: basic information only" in out
    assert "Follow-up by mail" in out
    assert (
        json.loads(run("--user", "bob", "tickets", "show", "3001", "-o", "json").stdout)["subject"]
        == ""
    )
