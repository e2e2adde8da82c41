"""The scripting contract, tested as a whole: every command, its help, its output streams,
its exit codes, and the generated docs and completions (SPEC §1, §8)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from supportctl.cli import EXIT_CODES, cli
from tests.conftest import run

ROOT = Path(__file__).resolve().parent.parent

# Commands that print data accept -o json; the others say why they do not.
NO_JSON = {
    "config get": "prints one value",
    "config set": "prints nothing",
    "config unset": "prints nothing",
    "config list": "prints KEY = VALUE lines",
    "config path": "prints one path",
    "config use": "prints nothing",
    "config edit": "opens an editor",
    "store init": "prints nothing",
    "store import": "prints nothing",
    "store export": "prints JSON Lines by definition",
    "store check": "prints a report of lines",
    "store token create": "prints the token alone",
    "store token revoke": "prints nothing",
    "tickets attachment": "prints the attachment's bytes",
    "proxy-access toggle": "prints on or off",
    "me support-access": "prints on or off",
    "serve": "a server",
    "completion": "prints a shell script",
    "templates path": "prints one path",
    "templates show": "prints the template's text, raw or rendered",
}


def commands() -> list[tuple[str, click.Command]]:
    found = []

    def walk(group: click.Group, path: list[str]) -> None:
        for name, command in sorted(group.commands.items()):
            if name != command.name:
                continue  # an alias
            if isinstance(command, click.Group):
                walk(command, [*path, name])
            else:
                found.append((" ".join([*path, name]), command))

    walk(cli, [])
    return found


@pytest.mark.parametrize(("path", "command"), commands(), ids=[p for p, _ in commands()])
def test_every_command_has_help_exit_codes_and_json_where_it_prints_data(path, command):
    result = run(*path.split(), "--help")
    assert result.exit_code == 0
    assert (command.help or "").strip(), f"{path} has no help"
    assert EXIT_CODES.split(":")[0] in result.stdout, f"{path} does not document its exit codes"
    formats = next((p for p in command.params if p.name == "fmt"), None)
    if path in NO_JSON:
        assert formats is None or "json" not in getattr(formats.type, "choices", ())
    else:
        assert formats is not None and "json" in formats.type.choices, f"{path} lacks -o json"


# One realistic invocation of every command, run with stdin not a terminal.
INVOCATIONS = [
    ["config", "path"],
    ["config", "set", "timeout", "20"],
    ["config", "get", "timeout"],
    ["config", "list"],
    ["config", "use", "default"],
    ["config", "edit"],  # no $EDITOR and no terminal: exit 2, never an editor waiting
    ["config", "unset", "timeout"],
    ["store", "check"],
    ["store", "export"],
    ["store", "token", "create", "sam"],
    ["store", "token", "list"],
    ["--user", "alice", "tickets", "list", "--scope", "org", "--limit", "0"],
    ["--user", "alice", "tickets", "show", "1004"],
    ["--user", "alice", "tickets", "create", "--subject", "s"],  # body from (empty) stdin
    ["--user", "alice", "tickets", "reply", "1026"],  # body from (empty) stdin: exit 2, no prompt
    ["--user", "alice", "tickets", "reply", "1026", "-m", "hi"],
    ["--user", "dmitri", "tickets", "attachment", "1004", "export_502.har"],
    ["--user", "alice", "tickets", "close", "1019"],
    ["--user", "alice", "tickets", "feedback", "1019", "--rating", "5"],
    ["--user", "sam", "tickets", "update", "-", "--priority", "high"],
    ["--user", "sam", "tickets", "merge", "1186", "--into", "1184"],
    ["--user", "sam", "tickets", "sweep"],
    ["--user", "alice", "escalations", "list", "--scope", "org"],
    ["--user", "alice", "escalations", "track", "CP-1204"],
    ["--user", "sam", "escalations", "create", "1027", "--description", "d"],
    ["--user", "sam", "escalations", "advance", "CP-1206", "--to", "evaluating"],
    ["--user", "ben", "proxy-access", "show", "1020"],
    ["--user", "ben", "proxy-access", "toggle", "1020"],
    ["--user", "alice", "org", "view"],
    ["--user", "alice", "org", "billing", "show"],
    [
        "--user",
        "alice",
        "org",
        "billing",
        "set",
        "billing",
        "--name",
        "AP",
        "--email",
        "ap@acme.example",
    ],
    ["--user", "alice", "org", "billing", "confirm"],
    ["--user", "alice", "me"],
    ["--user", "ben", "me", "support-access", "on"],
    ["--user", "alice", "report", "--scope", "org"],
    ["--user", "sam", "triggers", "list"],
    ["--user", "sam", "triggers", "test", "1025"],
    ["--user", "sam", "triggers", "run", "1025"],
    ["views", "list"],
    ["--user", "sam", "tickets", "list", "--view", "mine-open", "--sort", "due"],
    ["completion", "bash"],
    ["templates", "path"],
    ["templates", "list"],
    ["templates", "show", "thanks"],
]


def test_the_invocations_cover_every_command():
    covered = set()
    for args in INVOCATIONS:
        words = [a for a in args if not a.startswith("-")]
        words = args[2:] if args[0] == "--user" else args
        for length in (1, 2, 3):
            covered.add(" ".join(words[:length]))
    missing = [
        p
        for p, _ in commands()
        if p not in covered
        and p not in ("serve", "store init", "store import", "store token revoke")
    ]
    assert not missing, f"no invocation for {missing}"


def test_no_command_prompts_colours_or_draws_progress_on_stdout_without_a_terminal(isolated_home):
    assert run("store", "init", "--demo").exit_code == 0
    for args in INVOCATIONS:
        result = run(*args, input="")
        assert result.exit_code in (0, 2), (args, result.exit_code, result.stderr)
        assert result.exit_code != 130, f"{args} prompted"
        assert "\x1b[" not in result.stdout, f"{args} wrote colour to stdout"
        assert "Sweeping" not in result.stdout and "%" not in result.stdout.split("\n")[0][-5:]
    empty = run("--user", "alice", "tickets", "reply", "1026", input="")
    assert empty.exit_code == 2 and "empty body" in empty.stderr


def test_docs_cli_md_is_current():
    from supportctl.cli.docs import render_markdown

    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == render_markdown(), (
        "docs/cli.md is stale: python -m supportctl.cli.docs > docs/cli.md"
    )


@pytest.mark.parametrize(
    ("shell", "name"),
    [("bash", "supportctl.bash"), ("zsh", "_supportctl"), ("fish", "supportctl.fish")],
)
def test_completion_scripts_are_current(shell, name):
    result = run("completion", shell)
    assert result.exit_code == 0
    assert (ROOT / "completions" / name).read_text() == result.stdout, (
        f"completions/{name} is stale: supportctl completion {shell} > completions/{name}"
    )


def test_dynamic_completion_of_ids_profiles_and_columns(isolated_home):
    from click.shell_completion import ShellComplete

    run("store", "init", "--demo")
    run("config", "set", "user", "sam", "--profile", "agent")

    def complete(args: list[str], incomplete: str) -> list[str]:
        return [
            c.value
            for c in ShellComplete(cli, {}, "supportctl", "_X").get_completions(args, incomplete)
        ]

    assert complete(["tickets", "show"], "102")[:3] == ["1029", "1028", "1027"]
    assert "1004" in complete(["tickets", "close"], "100")
    assert complete(["--user", "sam", "tickets", "merge", "1186", "--into"], "118")[:3] == [
        "1186",
        "1185",
        "1184",
    ]
    assert complete(["escalations", "track"], "CP-120")[:2] == ["CP-1201", "CP-1202"]
    assert complete(["--profile"], "ag") == ["agent"]
    assert complete(["tickets", "list", "--columns"], "id,sta") == ["id,status"]
    assert "resolved" in complete(["tickets", "list", "--status"], "re")


def test_completion_offers_only_what_the_user_may_see(isolated_home):
    """Ticket and escalation ids of the configured user's visibility (SPEC §3), no more."""
    from click.shell_completion import ShellComplete

    from supportctl.api import TicketQuery
    from supportctl.config import default_store_path
    from supportctl.service import LocalService
    from supportctl.storage.jsonstore import JsonStore

    run("store", "init", "--demo")
    store = JsonStore(default_store_path())
    every = {t["id"] for t in store.ticket_summaries()}

    def offered(user: str, args: list[str]) -> set[str]:
        ctx = ["--user", user, *args]
        found = ShellComplete(cli, {}, "supportctl", "_X").get_completions(ctx, "")
        return {c.value for c in found}

    for user in ("alice", "ben", "sam", "fiona"):
        service = LocalService(store, user)
        visible = set()
        if not service.actor.fedramp:
            for scope in ("mine", "org") if user != "ben" else ("mine",):
                listed = service.list_tickets(TicketQuery(scope=scope, limit=0)).tickets
                visible |= {t["id"] for t in listed}
        ids = offered(user, ["tickets", "show"])
        assert ids == set(sorted(visible, key=int)[-200:]), user
        escalations = offered(user, ["escalations", "track"])
        expected = {e.id for e in store.list_escalations() if e.ticket_id in visible}
        assert escalations == expected, user
    assert offered("fiona", ["tickets", "show"]) == set()  # FedRAMP: no history at all
    assert offered("ben", ["tickets", "show"]) < offered("alice", ["tickets", "show"])
    assert offered("sam", ["tickets", "show"]) == set(sorted(every, key=int)[-200:])


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_loads_in_real_bash_and_offers_ticket_ids(isolated_home):
    run("store", "init", "--demo")
    script = ROOT / "completions" / "supportctl.bash"
    shim = isolated_home / "bin"
    shim.mkdir()
    (shim / "supportctl").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m supportctl "$@"\n')
    (shim / "supportctl").chmod(0o755)
    bash = (
        f"source {script}\n"
        "COMP_WORDS=(supportctl tickets show 102); COMP_CWORD=3\n"
        "_supportctl_completion supportctl\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        ["bash", "-c", bash], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["1029", "1028", "1027"]
