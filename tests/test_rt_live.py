"""The rt backend against a real Request Tracker 5 (SPEC §11), started on a loopback port.

Each command runs the CLI as a user would (``python -m supportctl --backend rt --url …``),
and every change is checked by reading the ticket back through RT's own REST2 API.

Only the throwaway RT of ``tests/rt/setup_rt.sh`` is ever touched.  The RT is the one
answering on ``127.0.0.1:$SUPPORTCTL_RT_PORT`` (8097), else the script is run to start the
installed packages (a test run never installs them: run the script as root for that);
``SUPPORTCTL_RT_URL`` names another URL of such an RT.  Either way the tests act only when
the RT carries the script's marker: the secret in ``$SUPPORTCTL_RT_STATE/<port>/marker``
(state root ``/tmp/supportctl-rt``; ``<port>`` is the port of the URL) must end the
Description of the RT's queue ``supportctl-test-<port>``, which the script writes only into an
RT it started itself.  A real RT answering on the port has no such queue, so the module is
skipped, saying why — or fails when ``SUPPORTCTL_RT_REQUIRED=1`` (as CI sets it), like a
missing RT.

Each test run creates queues of its own (``supportctl-test-<port>-<random>``, disabled at the
end), creates every ticket in one (``SUPPORTCTL_RT_QUEUE``), lists by unique subjects and
sweeps with ``--group``: two runs at once, on one RT, never act on each other's tickets.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests

pytestmark = [pytest.mark.rt, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "tests" / "rt" / "setup_rt.sh"
RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
AUTH = ("root", "password")


def _unavailable(reason: str) -> None:
    if os.environ.get("SUPPORTCTL_RT_REQUIRED") == "1":
        pytest.fail(f"RT is required (SUPPORTCTL_RT_REQUIRED=1) but {reason}")
    pytest.skip(reason)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/REST/2.0/queues/all", auth=AUTH, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _require_marker(url: str) -> str:
    """The name of the marked test queue of the RT at url; refuses (skip/fail) without it."""
    port = _port(url)
    marker = Path(os.environ.get("SUPPORTCTL_RT_STATE") or "/tmp/supportctl-rt") / str(port)
    marker /= "marker"
    queue = f"supportctl-test-{port}"
    refuse = (
        f"the RT at {url} is not the throwaway one tests/rt/setup_rt.sh set up "
        f"(SUPPORTCTL_RT_PORT={port}), so the rt tests do not touch it"
    )
    try:
        secret = marker.read_text(encoding="utf-8").strip()
    except OSError as e:
        secret, missing = "", f"{e.strerror}: {marker}"
    else:
        missing = ""
    if missing:  # outside the except: the report shows the reason, not a chained traceback
        _unavailable(f"{refuse}: no marker ({missing})")
    try:
        got = requests.get(f"{url}/REST/2.0/queue/{quote(queue, safe='')}", auth=AUTH, timeout=10)
        doc = got.json() if got.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        doc = {}
    description = str(doc.get("Description") or "")
    if not secret or description.rsplit(" ", 1)[-1] != secret or str(doc.get("Disabled")) != "0":
        _unavailable(f"{refuse}: its queue {queue} does not carry the marker of {marker}")
    return queue


@pytest.fixture(scope="session")
def rt_url() -> str:
    """The URL of the marked throwaway RT (started by tests/rt/setup_rt.sh when none answers)."""
    given = os.environ.get("SUPPORTCTL_RT_URL")
    if given:
        url = given.rstrip("/")
        if not _answers(url):
            _unavailable(f"SUPPORTCTL_RT_URL={given} does not answer REST2 as root/password")
        _require_marker(url)
        return url
    port = os.environ.get("SUPPORTCTL_RT_PORT", "8097")
    url = f"http://127.0.0.1:{port}"
    if _answers(url):
        _require_marker(url)
        return url
    if not RT_SERVER.exists():  # a test run never installs packages itself
        _unavailable(
            f"Request Tracker is not installed ({RT_SERVER} is missing): run "
            "tests/rt/setup_rt.sh as root to install Debian's request-tracker5 packages"
        )
    started = time.monotonic()
    try:
        done = subprocess.run(
            ["bash", str(SETUP)], capture_output=True, text=True, timeout=1200, check=False
        )
    except subprocess.TimeoutExpired:
        _unavailable("tests/rt/setup_rt.sh did not finish within 20 minutes")
    sys.stderr.write(done.stderr)
    if done.returncode != 0 or not _answers(url):
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        _unavailable(f"tests/rt/setup_rt.sh could not start RT on {url}:\n{tail}")
    _require_marker(url)
    sys.stderr.write(f"RT set-up took {time.monotonic() - started:.1f} s\n")
    return url


class Rt:
    """RT's own REST2, for reading back what the CLI did (and for the tests' queues)."""

    def __init__(self, url: str) -> None:
        self.base = f"{url}/REST/2.0"

    def get(self, path: str, **params) -> dict:
        r = requests.get(self.base + path, params=params, auth=AUTH, timeout=30)
        r.raise_for_status()
        return r.json()

    def ticket(self, ticket_id: str) -> dict:
        return self.get(f"/ticket/{ticket_id}")

    def queue_name(self, ticket_id: str) -> str:
        return self.get(f"/queue/{self.ticket(ticket_id)['Queue']['id']}")["Name"]

    def history(self, ticket_id: str) -> list[dict]:
        doc = self.get(
            f"/ticket/{ticket_id}/history",
            fields="Type,Field,OldValue,NewValue,Creator",
            per_page="100",
        )
        return doc["items"]

    def contents(self, ticket_id: str) -> list[dict]:
        doc = self.get(
            f"/ticket/{ticket_id}/attachments",
            fields="Filename,ContentType,TransactionId,Content",
            per_page="100",
        )
        return doc["items"]

    def search(self, sql: str) -> list[str]:
        return [str(t["id"]) for t in self.get("/tickets", query=sql, per_page="100")["items"]]

    def create_queue(self, name: str) -> str:
        doc = {"Name": name, "Description": f"supportctl test run (pid {os.getpid()})"}
        r = requests.post(f"{self.base}/queue", json=doc, auth=AUTH, timeout=30)
        assert r.status_code == 201, f"POST /queue {name}: {r.status_code} {r.text}"
        return str(r.json()["id"])

    def disable_queue(self, queue_id: str) -> None:
        requests.delete(f"{self.base}/queue/{queue_id}", auth=AUTH, timeout=30)


@pytest.fixture(scope="session")
def rt(rt_url: str) -> Rt:
    return Rt(rt_url)


@pytest.fixture(scope="session")
def base_queue(rt_url: str) -> str:
    """setup_rt.sh's marked queue `supportctl-test-<port>` (rt_url checked it): never swept."""
    return f"supportctl-test-{_port(rt_url)}"


@pytest.fixture(scope="session")
def new_queue(rt: Rt, base_queue: str) -> Iterator:
    """Make a queue of this run's own (`<base queue>-<random>`); all are disabled at the end."""
    made: list[str] = []

    def make() -> str:
        name = uniq(base_queue)
        made.append(rt.create_queue(name))
        return name

    yield make
    for queue_id in made:
        rt.disable_queue(queue_id)


@pytest.fixture(scope="session")
def run_queue(new_queue) -> str:
    """The queue the tickets of this run are created in."""
    return new_queue()


@pytest.fixture
def cli(rt_url: str, run_queue: str, tmp_path: Path):
    """Run the CLI in a subprocess against RT; returns a CompletedProcess (text).

    New tickets go to `queue` (this run's queue unless given)."""

    def run(*args: str, input: str | None = None, queue: str = run_queue):
        env = {
            **os.environ,
            "SUPPORTCTL_TOKEN": "root:password",
            "SUPPORTCTL_RT_QUEUE": queue,
            "PYTHONPATH": str(ROOT),
        }
        base = [sys.executable, "-m", "supportctl", "--backend", "rt", "--url", rt_url]
        return subprocess.run(
            [*base, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
            check=False,
        )

    return run


def uniq(word: str) -> str:
    return f"{word}-{uuid.uuid4().hex[:10]}"


def create(cli, subject: str, *extra: str, queue: str | None = None) -> str:
    where = {"queue": queue} if queue else {}
    done = cli(
        "tickets", "create", "--subject", subject, "-m", f"body of {subject}", *extra, **where
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_create_with_priority_cc_and_attachment(cli, rt, run_queue, tmp_path):
    trace = tmp_path / "trace.har"
    trace.write_bytes(b'{"log": {"entries": []}}\n')
    subject = uniq("Export times out")
    ticket_id = create(
        cli, subject, "--priority", "urgent", "--cc", "carol@example.com", "--attach", str(trace)
    )
    doc = rt.ticket(ticket_id)
    assert doc["Subject"] == subject
    assert doc["Status"] == "new"
    assert int(doc["Priority"]) == 100
    assert [r["id"] for r in doc["Requestor"]] == ["root"]
    assert [r["id"] for r in doc["Cc"]] == ["carol@example.com"]
    assert rt.queue_name(ticket_id) == run_queue  # SUPPORTCTL_RT_QUEUE
    files = [a for a in rt.contents(ticket_id) if a["Filename"]]
    assert [(a["Filename"], a["Content"]) for a in files] == [
        ("trace.har", '{"log": {"entries": []}}\n')
    ]


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_attachments_come_back_byte_for_byte_whatever_their_encoding(cli, tmp_path):
    """RT re-encodes text parts from a charset it guesses; files go as octet-stream."""
    files = {
        "sjis.txt": "日本語のログです。エラーが発生しました。原因を調べています".encode(
            "shift_jis"
        )[:50],
        "utf16.txt": "\ufeffUTF-16 with a BOM: ünïcödé".encode("utf-16-le"),
        "latin1.csv": "name;city\nJosé;Münster\n".encode("latin-1"),
        "nul.txt": b"before\x00after\n",
        "pixel.png": PNG,
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths += ["--attach", str(tmp_path / name)]
    assert len(files["sjis.txt"]) == 50
    ticket_id = create(cli, uniq("Encodings"))
    done = cli("tickets", "reply", ticket_id, "-m", "logs attached", *paths)
    assert done.returncode == 0, done.stderr
    shown = json.loads(cli("tickets", "show", ticket_id, "-o", "json").stdout)
    attached = {a["name"]: a for m in shown["messages"] for a in m["attachments"]}
    for name, data in files.items():
        out = tmp_path / f"back-{name}"
        got = cli("tickets", "attachment", ticket_id, name, "-O", str(out))
        assert got.returncode == 0, got.stderr
        assert out.read_bytes() == data, name
        assert attached[name]["size"] == len(data)
        assert attached[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert attached["pixel.png"]["content_type"] == "image/png"
    assert attached["sjis.txt"]["content_type"] == "text/plain"


def test_a_missing_ticket_is_named(cli):
    done = cli("tickets", "show", "999999")
    assert done.returncode == 3
    assert "ticket 999999 not found" in done.stderr


def test_list_with_filters(cli, rt):
    tag = uniq("filters")
    urgent = create(cli, f"{tag} urgent", "--priority", "urgent")
    low = create(cli, f"{tag} low", "--priority", "low")
    quoted = create(cli, f"{tag} it's \\ odd", "--priority", "normal")
    assert cli("tickets", "update", low, "--assignee", "@me").returncode == 0

    def ids(*flags: str) -> list[str]:
        done = cli("tickets", "list", "--search", tag, "--limit", "0", *flags, "-o", "ids")
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert sorted(ids(), key=int) == sorted([urgent, low, quoted], key=int)
    assert ids("--priority", "urgent") == [urgent]
    assert sorted(ids("--priority", "urgent", "--priority", "low"), key=int) == [urgent, low]
    assert ids("--assignee", "@me") == [low]
    assert sorted(ids("--assignee", "none"), key=int) == [urgent, quoted]
    assert ids("--status", "open") == [low]  # assigning a new ticket opened it
    odd = cli("tickets", "list", "--search", f"{tag} it's \\ odd", "-o", "ids")
    assert odd.stdout.split() == [quoted]  # quote and backslash escaped in TicketSQL
    assert ids("--status", "escalated") == []
    assert ids("--since", "1d", "--priority", "normal") == [quoted]
    assert ids("--until", "2000-01-01") == []
    # --limit pages lazily, and says how many more there are
    done = cli("tickets", "list", "--search", tag, "--limit", "1", "--sort", "id", "-o", "ids")
    assert done.stdout.split() == [quoted]
    assert "showing 1 of 3 tickets" in done.stderr
    # RT's own search agrees
    assert sorted(rt.search(f"Subject LIKE '{tag}' AND Priority >= 100")) == [urgent]


def test_show_with_history_and_attachments(cli, rt, tmp_path):
    log = tmp_path / "log.txt"
    log.write_bytes(b"line one\nline two\n")
    ticket_id = create(cli, uniq("Show me"), "--attach", str(log))
    assert cli("tickets", "update", ticket_id, "--priority", "high").returncode == 0
    done = cli("tickets", "show", ticket_id, "-o", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    first = doc["messages"][0]
    assert first["kind"] == "email" and first["author"] == "root"
    assert first["body"].startswith("body of Show me")
    assert first["attachments"] == [
        {
            "name": "log.txt",
            "size": 18,
            "sha256": hashlib.sha256(b"line one\nline two\n").hexdigest(),
            "content_type": "text/plain",
        }
    ]
    actions = [e["action"] for e in doc["events"]]
    assert actions[0] == "created"
    assert any(
        e["action"] == "priority_changed" and e["detail"] == {"from": "normal", "to": "high"}
        for e in doc["events"]
    )
    assert doc["sla"] is not None
    table = cli("tickets", "show", ticket_id)
    assert "log.txt" in table.stdout and "priority changed normal → high" in table.stdout
    # download it back
    out = tmp_path / "back.txt"
    got = cli("tickets", "attachment", ticket_id, "log.txt", "-O", str(out))
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == b"line one\nline two\n"
    # RT's own history has the Set Priority transaction
    assert any(
        t["Type"] == "Set" and t["Field"] == "Priority" and t["NewValue"] == "75"
        for t in rt.history(ticket_id)
    )


def test_reply_and_internal_note(cli, rt, tmp_path):
    ticket_id = create(cli, uniq("Reply to me"))
    note = tmp_path / "note.csv"
    note.write_bytes(b"a,b\n1,2\n")
    done = cli("tickets", "reply", ticket_id, "-m", "Thanks, fixed in 5.1")
    assert done.returncode == 0, done.stderr
    done = cli(
        "tickets", "reply", ticket_id, "--internal", "-m", "Legacy plan", "--attach", str(note)
    )
    assert done.returncode == 0, done.stderr
    types = [t["Type"] for t in rt.history(ticket_id)]
    assert "Correspond" in types and "Comment" in types
    txn = {t["id"]: t["Type"] for t in rt.history(ticket_id)}
    parts = rt.contents(ticket_id)
    bodies = {
        txn.get(str(p["TransactionId"])): p
        for p in parts
        if p["ContentType"] == "text/plain" and not p["Filename"]
    }
    assert bodies["Correspond"]["Content"].startswith("Thanks, fixed in 5.1")
    assert bodies["Comment"]["Content"].startswith("Legacy plan")
    assert any(p["Filename"] == "note.csv" for p in parts)
    shown = json.loads(cli("tickets", "show", ticket_id, "-o", "json").stdout)
    assert [(m["kind"], m["body"]) for m in shown["messages"][1:]] == [
        ("email", "Thanks, fixed in 5.1"),
        ("note", "Legacy plan"),
    ]


def test_update(cli, rt, base_queue):
    ticket_id = create(cli, uniq("Update me"))
    done = cli(
        "tickets",
        "update",
        ticket_id,
        "--assignee",
        "@me",
        "--priority",
        "high",
        "--status",
        "pending",
        "--group",
        base_queue,
    )
    assert done.returncode == 0, done.stderr
    doc = rt.ticket(ticket_id)
    assert doc["Owner"]["id"] == "root"
    assert int(doc["Priority"]) == 75
    assert doc["Status"] == "stalled"
    assert rt.queue_name(ticket_id) == base_queue
    # refused changes exit 2 and change nothing
    assert cli("tickets", "update", ticket_id, "--status", "resolved").returncode == 2
    assert cli("tickets", "update", ticket_id, "--add-tag", "sso").returncode == 2
    assert rt.ticket(ticket_id)["Status"] == "stalled"
    done = cli("tickets", "update", ticket_id, "--assignee", "none")
    assert done.returncode == 0, done.stderr
    assert rt.ticket(ticket_id)["Owner"]["id"] == "Nobody"


def test_update_subject_and_cc(cli, rt):
    ticket_id = create(cli, uniq("Rename me"))
    subject = uniq("Renamed")
    done = cli("tickets", "update", ticket_id, "--subject", subject, "--add-cc", "dora@example.com")
    assert done.returncode == 0, done.stderr
    doc = rt.ticket(ticket_id)
    assert doc["Subject"] == subject
    assert [c["id"] for c in doc["Cc"]] == ["dora@example.com"]
    done = cli("tickets", "update", ticket_id, "--remove-cc", "dora@example.com")
    assert done.returncode == 0, done.stderr
    assert rt.ticket(ticket_id)["Cc"] == []
    assert cli("tickets", "update", ticket_id, "--category", "billing").returncode == 2


def test_merge_is_rts_own_merge(cli, rt):
    target = create(cli, uniq("Keep me"))
    duplicate = create(cli, uniq("Same problem"), "--cc", "erin@example.com")
    done = cli("tickets", "merge", duplicate, "--into", target, "-o", "json")
    assert done.returncode == 0, done.stderr
    assert str(rt.ticket(duplicate)["id"]) == target  # RT: the number now names the target
    assert "erin@example.com" in [c["id"] for c in rt.ticket(target)["Cc"]]
    again = cli("tickets", "merge", duplicate, "--into", target)
    assert again.returncode == 0, again.stderr  # already merged there: nothing to do
    assert cli("tickets", "merge", target, "--into", target).returncode == 5
    assert cli("tickets", "merge", target, "--into", duplicate).returncode == 5  # a cycle


def test_close(cli, rt):
    solved = create(cli, uniq("Close me"))
    spam = create(cli, uniq("Spam me"))
    done = cli("tickets", "close", solved, "--comment", "Solved by the new endpoint")
    assert done.returncode == 0, done.stderr
    assert "This ticket has been closed" in done.stderr
    assert rt.ticket(solved)["Status"] == "resolved"
    assert any(t["Type"] == "Correspond" for t in rt.history(solved))
    assert cli("tickets", "close", spam, "--reason", "spam").returncode == 0
    assert rt.ticket(spam)["Status"] == "rejected"
    again = cli("tickets", "close", solved)
    assert again.returncode == 0 and "already closed" in again.stderr
    late = cli("tickets", "reply", solved, "-m", "one more thing")
    assert late.returncode == 5
    assert f"ticket {solved} is closed; open a new ticket and reference {solved}" in late.stderr


def test_list_ids_piped_into_close(cli, rt):
    tag = uniq("bulk")
    ids = [create(cli, f"{tag} {n}") for n in range(3)]
    listed = cli("tickets", "list", "--search", tag, "-o", "ids")
    assert sorted(listed.stdout.split(), key=int) == ids
    done = cli("tickets", "close", "-", input=listed.stdout)
    assert done.returncode == 0, done.stderr
    assert "closed 3, already closed 0, failed 0" in done.stderr
    assert [rt.ticket(i)["Status"] for i in ids] == ["resolved"] * 3


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["escalations", "list"], "escalations list"),
        (["proxy-access", "show", "1"], "proxy-access show"),
        (["tickets", "feedback", "1", "--rating", "5"], "tickets feedback"),
        (["org", "view"], "org view"),
    ],
)
def test_refused_commands_exit_2(cli, args, command):
    done = cli(*args)
    assert done.returncode == 2
    assert f"`{command}` is not supported by the `rt` backend" in done.stderr


def test_sweep_selects_only_its_group(cli, rt, new_queue):
    """A sweep with --group selects the idle tickets of that queue only (a Queue clause)."""
    queue = new_queue()
    stale = create(cli, uniq("Stale new"), queue=queue)
    other = create(cli, uniq("Elsewhere"))  # this run's queue, just as idle
    time.sleep(1.2)  # RT keeps whole seconds; --idle 0m means "last activity before now"
    done = cli(
        "tickets",
        "sweep",
        "--group",
        queue,
        "--idle",
        "0m",
        "--action",
        "expire",
        "--dry-run",
        "-o",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert {o["ticket"]: o["result"] for o in json.loads(done.stdout)} == {stale: "would-expire"}
    assert rt.ticket(stale)["Status"] == rt.ticket(other)["Status"] == "new"  # dry run


def test_sweep_expires_idle_new_tickets_and_re_checks(cli, rt, new_queue):
    """Sweeps act on every matching ticket they see: this one sweeps a queue of its own."""
    queue = new_queue()

    def sweep(*args: str) -> dict[str, str]:
        done = cli("tickets", "sweep", "--group", queue, "--idle", "0m", *args, "-o", "json")
        assert done.returncode == 0, done.stderr
        return {o["ticket"]: o["result"] for o in json.loads(done.stdout)}

    stale = create(cli, uniq("Stale new"), queue=queue)
    touched = create(cli, uniq("Touched"), queue=queue)
    time.sleep(1.2)  # RT keeps whole seconds; --idle 0m means "last activity before now"
    planned = sweep("--action", "expire", "--dry-run")
    assert planned == {stale: "would-expire", touched: "would-expire"}
    assert rt.ticket(stale)["Status"] == "new"  # a dry run changes nothing
    assert cli("tickets", "update", touched, "--assignee", "@me").returncode == 0  # now open
    assert sweep("--action", "expire") == {stale: "expired"}  # touched is no longer new
    assert rt.ticket(stale)["Status"] == "rejected"
    assert rt.ticket(touched)["Status"] == "open"
    # a second sweep finds nothing more to do
    assert sweep("--action", "expire") == {}
    # remind: one reminder to a pending ticket, never twice in a row
    pending = create(cli, uniq("Waiting"), queue=queue)
    assert cli("tickets", "update", pending, "--status", "pending").returncode == 0
    time.sleep(1.2)
    assert sweep("--action", "remind") == {pending: "reminded"}
    time.sleep(1.2)
    assert sweep("--action", "remind") == {pending: "skipped"}
    corresponds = [t for t in rt.history(pending) if t["Type"] == "Correspond"]
    assert len(corresponds) == 1
