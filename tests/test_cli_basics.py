"""The CLI as a whole: version, help, error format, module entry point, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from supportctl import __version__
from tests.conftest import run


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"supportctl {__version__}\n"


def test_every_command_has_help():
    from supportctl.cli import cli

    def walk(group, path):
        for name, command in group.commands.items():
            yield [*path, name], command
            if hasattr(command, "commands"):
                yield from walk(command, [*path, name])

    for path, command in walk(cli, []):
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert command.help or command.short_help, path


def test_usage_errors_are_one_line_with_a_hint():
    result = run("tickets", "list", "--bogus")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("supportctl: error: No such option '--bogus'")
    assert lines[1] == "hint: see `supportctl tickets list --help`"


def test_unknown_command_exit_2():
    result = run("frobnicate")
    assert result.exit_code == 2
    assert result.stderr.startswith("supportctl: error: No such command 'frobnicate'")


def _subprocess(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, check=False, **kwargs
    )


def test_python_dash_m_entry_point():
    result = _subprocess("-m", "supportctl", "--version")
    assert result.returncode == 0
    assert result.stdout == f"supportctl {__version__}\n"


def test_help_and_json_backend_commands_do_not_import_requests_the_server_or_psycopg(store):
    code = (
        "import sys\n"
        "from supportctl.cli import cli\n"
        "for args in (['--help'], ['--user', 'bob', 'tickets', 'list'], ['tickets', 'show', '--help'], ['serve', '--help'], ['store', 'check'], ['store', 'token', 'list']):\n"
        "    try:\n"
        "        cli.main(args=args, prog_name='supportctl')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "for name in ('requests', 'urllib3', 'waitress', 'werkzeug', 'psycopg', 'psycopg_pool'):\n"
        "    assert name not in sys.modules, name + ' was imported'\n"
        "print('clean')\n"
    )
    result = _subprocess("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("clean\n")


def test_broken_pipe_is_quiet(store):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.run(
        f"{sys.executable} -m supportctl --user dana tickets list --scope org -o jsonl | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "Traceback" not in proc.stderr
    assert "error" not in proc.stderr


def test_unexpected_failure_says_it_is_a_bug(store, monkeypatch):
    from supportctl import service

    def boom(self, query, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(service.LocalService, "list_tickets", boom)
    result = run("--user", "bob", "tickets", "list")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "supportctl: error: unexpected failure (this is a bug): RuntimeError: kaboom",
        "hint: run again with -v to see the traceback",
    ]
    verbose = run("-v", "--user", "bob", "tickets", "list")
    assert "Traceback" in verbose.stderr


def test_the_rt_login_is_on_its_way_before_requests_is_imported():
    """RT's password check (0.3–0.5 s) overlaps loading the rt backend: the module that
    starts it needs only the standard library."""
    code = (
        "import sys\n"
        "import supportctl.remote.rtlogin\n"
        "assert 'requests' not in sys.modules and 'urllib3' not in sys.modules\n"
        "print('clean')\n"
    )
    result = _subprocess("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "clean\n"


# -- leaving without the interpreter's teardown (entry.leave) ---------------------------------
LEAVE = (
    "import atexit, sys, threading, time\n"
    "atexit.register(lambda: print('atexit handler ran', flush=True))\n"
    "if sys.argv[1] == 'thread':\n"
    "    threading.Thread(target=lambda: (time.sleep(0.3), print('thread finished'))).start()\n"
    "sys.argv = ['supportctl', *sys.argv[2:]]\n"
    "from supportctl.entry import main\n"
    "main()\n"
)


def test_a_finished_command_keeps_its_exit_code_output_and_atexit_handlers(store):
    shown = _subprocess("-c", LEAVE, "-", "--user", "bob", "tickets", "show", "1001", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.endswith("atexit handler ran\n")
    assert json.loads(shown.stdout.removesuffix("atexit handler ran\n"))["id"] == "1001"
    missing = _subprocess("-c", LEAVE, "-", "--user", "bob", "tickets", "show", "9999")
    assert (
        missing.returncode == 3 and missing.stderr == "supportctl: error: ticket 9999 not found\n"
    )
    usage = _subprocess("-c", LEAVE, "-", "tickets", "list", "--status", "bogus")
    assert usage.returncode == 2 and "atexit handler ran" in usage.stdout


def test_a_large_output_reaches_a_pipe_whole(store):
    exported = _subprocess("-m", "supportctl", "store", "export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == run("store", "export").stdout


def test_a_thread_still_running_is_waited_for(store):
    done = _subprocess("-c", LEAVE, "thread", "--user", "bob", "tickets", "list", "-o", "ids")
    assert done.returncode == 0, done.stderr
    assert "thread finished" in done.stdout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_that_cannot_be_written_is_not_a_success(store):
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "supportctl", "store", "export"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
    assert done.returncode != 0
    assert "No space left on device" in done.stderr
