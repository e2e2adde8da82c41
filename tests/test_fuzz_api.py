"""API fuzzing (issue 8, item 4): schemathesis against a real `supportctl serve`.

Every operation of docs/openapi.json is fuzzed over a demo store, as an agent (sam) and as a
user (ben), with generated valid and invalid requests (schemathesis' positive and negative
modes).  Every response must be: not a 5xx, a status code the document lists for the
operation, the content type it lists, and a body that matches its schema.

The server is a separate `python -m supportctl serve --port 0` process, so the test covers
the bundled HTTP server as well as the WSGI app; when a check fails, what the server logged
for that request (its access-log line, and the traceback of a 500) is shown.  Path
parameters are sometimes replaced by ids that exist in the demo store (tickets of every
kind, escalations, orgs, attachment names), so the fuzzer gets past "404 not found" and
reaches the handlers.  The store is shared by all examples and changes as they run (tickets
created, closed, escalated), so a failure may depend on earlier examples.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

schemathesis = pytest.importorskip(
    "schemathesis",
    minversion="4.32",
    reason="API fuzzing needs schemathesis 4 (pip install 'schemathesis>=4.32,<5')",
)

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import checks  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "docs" / "openapi.json"
USERS = ("sam", "ben")  # an agent; a user of acme (requester of 1014, 1020, 1025; cc of 1027)
# Examples per operation (both users, both modes); SUPPORTCTL_FUZZ_EXAMPLES=500 fuzzes harder.
MAX_EXAMPLES = int(os.environ.get("SUPPORTCTL_FUZZ_EXAMPLES", "100"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]

# Ids that exist in the demo store, so that requests reach the handlers: ben's own tickets
# (open, new, escalated, closed), one he is cc'd on, another user's, a FedRAMP user's,
# another org's; escalations; orgs; attachment names that exist on some of those tickets.
TICKET_IDS = ["1014", "1025", "1020", "1002", "1027", "1019", "1022", "1030", "1009"]
ESCALATION_IDS = ["CP-1201", "CP-1203", "CP-1204", "CP-1206"]
ORG_IDS = ["@me", "acme", "globex", "support"]
ATTACHMENT_NAMES = ["onboarding_export.csv", "saml_trace.txt", "conjoint_spinner.png"]

schema = schemathesis.openapi.from_path(OPENAPI)
# Every request carries a valid token (added in the test): generating missing or bogus
# Authorization headers would spend the examples on 401s.
schema.config.generation.update(with_security_parameters=False)


def _isolated_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPPORTCTL_")}
    home = base / "home"
    home.mkdir(exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        SUPPORTCTL_CONFIG=str(home / "config" / "supportctl" / "config.toml"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        TZ="UTC",
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A demo store, a token for each of USERS, and `supportctl serve` on a free port."""
    base = tmp_path_factory.mktemp("fuzz")
    env = _isolated_env(base)
    store = base / "store"
    init = subprocess.run(
        [sys.executable, "-m", "supportctl", "--store", str(store), "store", "init", "--demo"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    from supportctl.storage import admin
    from supportctl.storage.jsonstore import JsonStore

    tokens = {user: admin.create_token(JsonStore(store), user)[1] for user in USERS}
    log_path = base / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supportctl", "--store", str(store), "serve", "--port", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        url = _announced_url(proc, log_path)
        yield {"url": url, "tokens": tokens, "log": log_path}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _announced_url(proc: subprocess.Popen, log_path: Path) -> str:
    """The base URL from `serving STORE on http://HOST:PORT/api/v1 (…)` on stderr."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = re.search(r"^serving .* on (http://\S+/api/v1) ", log_path.read_text(), re.M)
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"`supportctl serve` did not start:\n{log_path.read_text(errors='replace')}")


def _known_id(case) -> st.SearchStrategy:
    """Real ids for the path parameters of ``case``'s operation (None: keep the fuzzed one)."""
    path = case.operation.path
    if path.startswith("/tickets/{id}"):
        pool = TICKET_IDS
    elif path.startswith("/escalations/{id}"):
        pool = ESCALATION_IDS
    elif path.startswith("/orgs/{id}"):
        pool = ORG_IDS
    else:
        return st.none()
    return st.one_of(st.none(), st.sampled_from(pool))


@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # Real HTTP is slow for Hypothesis; request schemas generate big inputs; the autouse
    # `isolated_home` fixture of conftest.py is function-scoped but does not touch the
    # server, which is module-scoped and has its own HOME.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_conforms_to_openapi(case, data, server) -> None:
    user = data.draw(st.sampled_from(USERS), label="user")
    known = data.draw(_known_id(case), label="id")
    if known is not None and case.path_parameters is not None:
        case.path_parameters["id"] = known
        if "name" in case.path_parameters:
            case.path_parameters["name"] = data.draw(
                st.sampled_from(ATTACHMENT_NAMES), label="name"
            )
    log_offset = server["log"].stat().st_size
    response = case.call(
        base_url=server["url"],
        headers={"Authorization": f"Bearer {server['tokens'][user]}"},
        timeout=30,
    )
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException:  # schemathesis' FailureGroup is a BaseExceptionGroup
        # Under "Captured stdout" of a failing test: who asked, and what the server logged
        # for this request (its access-log line, and a traceback after a 500).
        with server["log"].open("rb") as log:
            log.seek(log_offset)
            logged = log.read().decode("utf-8", "replace")
        print(f"as {user}; `supportctl serve` logged:\n{logged}")
        raise
