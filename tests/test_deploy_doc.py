"""Every shell command docs/deploy.md prints, run as written on a throwaway PostgreSQL.

The example database URL, the json store's directory and the backup directory are replaced
by the test's own; a line that needs what a test cannot have (root, the system's
PostgreSQL superuser, a package index, a server left running) is listed in NOT_RUN with
the reason, and the test does its part itself (the databases). Everything else must exit 0,
in order: the schema is created, a json store with a token is moved into PostgreSQL and
checked, backed up with pg_dump, restored with pg_restore into another database and checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import run

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deploy.md"
EXAMPLE_URL = "postgresql://supportctl@db.example.com/supportctl"
pytestmark = pytest.mark.slow

#: Lines not run here, and why.
NOT_RUN = {
    "sudo -u postgres createuser": "needs root and the system's cluster; the test's role exists",
    "sudo -u postgres createdb": "needs root and the system's cluster; the test makes the databases",
    "pip install": "installs the package; the test extra already holds the postgres one",
    "gunicorn": "serves until stopped; tests/test_http.py runs the app under gunicorn",
}


def doc_lines() -> list[str]:
    """The commands of the sh blocks, continuation lines joined, comments dropped."""
    text = DOC.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```sh\n(.*?)\n```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def test_the_lines_not_run_are_still_in_the_doc():
    lines = doc_lines()
    for start in NOT_RUN:
        assert any(start in line for line in lines), f"NOT_RUN names a line gone: {start}"


def test_every_command_of_the_deploy_doc_runs(pg_store, pg_server, tmp_path):
    import psycopg

    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    restored_name = f"supportctl_restored_{uuid.uuid4().hex[:8]}"
    base = pg_server.url.rsplit("/", 1)[0]
    with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{restored_name}"')  # the doc's `createdb` line
    json_store = tmp_path / "srv-supportctl"
    assert run("--store", str(json_store), "store", "init", "--demo").exit_code == 0
    token = run("--store", str(json_store), "store", "token", "create", "sam")
    assert token.exit_code == 0
    original = run("--store", str(json_store), "store", "export", "--with-tokens").stdout
    backup = tmp_path / "backup"
    backup.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "admin"
    home.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
    }
    ran = []
    try:
        for line in doc_lines():
            if any(start in line for start in NOT_RUN):
                continue
            command = (
                line.replace(EXAMPLE_URL + "_restored", f"{base}/{restored_name}")
                .replace(EXAMPLE_URL, pg_server.url)
                .replace("/srv/supportctl", str(json_store))
                .replace("/backup/", f"{backup}/")
            )
            assert "example.com" not in command, line
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
            ran.append(line)
        assert len(ran) >= 7, ran
        # what moved and what came back from the backup are the json store, document for
        # document and token for token
        moved = run("--store", pg_server.url, "store", "export", "--with-tokens")
        assert moved.stdout == original
        restored = run("--store", f"{base}/{restored_name}", "store", "export", "--with-tokens")
        assert restored.stdout == original
        assert list(backup.glob("supportctl-*.dump"))
    finally:
        with psycopg.connect(pg_server.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')
