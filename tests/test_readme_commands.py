"""Every command the README prints, run as written, in order, on the demo store.

Each ```sh line runs in bash with a private HOME and nothing else of this machine's
environment (as a new user's shell would be, with the installed `supportctl` on PATH); the
cron line runs the way cron runs it: `env -i PATH=/usr/bin:/bin HOME=…`.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

#: Lines not run here, and why (everything else must exit 0).
NOT_RUN = {
    "python3 -m venv": "the install and test commands: this suite runs inside them",
    "gunicorn": "gunicorn is not a dependency; `serve` hosts the same WSGI app",
    "--backend rt": "needs a Request Tracker; tests/test_rt_live.py runs these against one",
    "supportctl[postgres]": "installs an extra; the test extra already holds it",
    "postgresql://": "needs a PostgreSQL server; tests/test_postgres.py runs these against one",
    "serve --threads 16": "serves the PostgreSQL store of the lines above",
    "creates the schema": "initialises the PostgreSQL store of the lines above",
    "store export --with-tokens | supportctl store import -": "moves a store into the PostgreSQL one above (tests/test_postgres.py moves the demo and its tokens)",
}


def _lines() -> list[tuple[str, str]]:
    """(block kind, line) for every line of the README's sh and cron blocks."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for kind, block in re.findall(r"```(sh|cron)\n(.*?)\n```", text, re.S):
        out += [(kind, line) for line in block.splitlines() if line.strip()]
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def shell(tmp_path: Path):
    home = tmp_path / "new-user"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "trace.har").write_text('{"log": {"entries": []}}')
    (work / "log.txt").write_text("export started\nexport failed: 502\n")
    (work / "answer.md").write_text("Here is what we found.\n")
    bindir = str(Path(sys.executable).parent)
    assert shutil.which("supportctl", path=bindir), "supportctl is not installed in this venv"
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "EDITOR": "true",  # `config edit` opens it and finds the file unchanged
        "TOKEN": "sct_an_example_token_0123456789",
    }

    def sh(line: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", line],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    sh.home = home  # type: ignore[attr-defined]
    sh.env = env  # type: ignore[attr-defined]
    return sh


def test_every_readme_command_runs_as_written(shell):
    assert shell("supportctl store init --demo && supportctl tickets list").returncode == 0
    lines = _lines()
    assert len(lines) > 50
    ran = 0
    i = 0
    while i < len(lines):
        kind, line = lines[i]
        i += 1
        if kind == "cron" or line.lstrip().startswith("#"):
            continue  # the cron line is run below, from the line the README's echo prints
        if any(marker in line for marker in NOT_RUN):
            continue
        if "escalations track --ticket 1015 --wait" in line:
            # The example waits for engineering; here engineering has already moved.
            moved = shell(
                "supportctl --user sam escalations advance CP-1203 --to confirm_resolution"
            )
            assert moved.returncode == 0, moved.stderr
        if line.startswith("export SUPPORTCTL_TOKEN"):
            # The block that shares a store over HTTP runs as one script (the token it
            # exports and the server it starts are its own), on a free port, and the server
            # is stopped afterwards.
            block = [line, *(b for _k, b in lines[i : i + 5])]
            assert "supportctl serve" in block[1]
            i += 5
            port = str(_free_port())
            script = "\n".join(["set -e", *(b.replace("8080", port) for b in block), "kill %1"])
            result = shell(script, timeout=90)
            assert result.returncode == 0, (script, result.stdout, result.stderr)
            ran += len(block)
            continue
        result = shell(line)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
        ran += 1
    assert ran > 40


def test_the_readme_cron_line_runs_under_crons_bare_environment(shell):
    assert shell("supportctl store init --demo").returncode == 0
    (literal,) = [line for kind, line in _lines() if kind == "cron" and not line.startswith("#")]
    (echo,) = [line for _k, line in _lines() if line.startswith('echo "15 2 * * * $(command -v')]
    printed = shell(echo)
    assert printed.returncode == 0, printed.stderr
    cron_line = printed.stdout.strip()
    schedule, command = cron_line[: len("15 2 * * * ")], cron_line[len("15 2 * * * ") :]
    assert schedule == "15 2 * * * "
    assert command.startswith(str(Path(sys.executable).parent / "supportctl"))
    assert re.sub(r"/\S+/supportctl ", "supportctl ", literal) == re.sub(
        r"/\S+/supportctl ", "supportctl ", cron_line
    )
    home = shell.home
    result = subprocess.run(
        ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    log = (home / "supportctl-sweep.jsonl").read_text()
    assert log.startswith("[") and '"result":"closed"' in log


def test_the_readme_pipelines_act_on_every_match(shell):
    """Each of the README's `list … -o ids | … -` pipelines acts on every match, not the
    first 50: the close sweep, and the templated bulk reply (preview, then sent)."""
    assert shell("supportctl store init --demo").returncode == 0
    pipelines = [line for _k, line in _lines() if "-o ids | supportctl" in line]
    assert len(pipelines) == 3, pipelines
    for pipeline in pipelines:
        listing = pipeline.split(" | ")[0]
        before = shell(listing).stdout.split()
        assert before, f"the demo store has tickets for: {listing}"
        result = shell(pipeline)
        assert result.returncode == 0, result.stderr
        if "--preview" in pipeline:
            assert f"previewed {len(before)} message(s); nothing sent" in result.stderr
            assert result.stdout.count("Subject: Re: ") == len(before)
        elif "tickets reply" in pipeline:
            assert f"replied to {len(before)}, failed 0" in result.stderr
            assert shell(listing).stdout.split() == before  # now pending, still listed
        else:
            assert f"closed {len(before)}, already closed 0, failed 0" in result.stderr
            assert shell(listing).stdout.split() == []
