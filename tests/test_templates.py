"""SPEC §13: reply templates, preview and banned words, on every backend."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from supportctl import templates
from tests.conftest import jsonl, run, ticket

pytestmark = pytest.mark.usefixtures("backend")

KNOWN_ISSUE = """+++
description = "Known export issue"
status = "pending"
priority = "high"
add_tags = ["export-timeout"]
+++
Hello {{ requester.name }},

about "{{ ticket.subject }}" (#{{ ticket.id }}): a fix ships {{ fix_date }}.
{{ me.name }}, {{org.name}}
"""


def config_path() -> Path:
    return Path(os.environ["SUPPORTCTL_CONFIG"])


def template_dir() -> Path:
    directory = config_path().parent / "templates"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_template(name: str, text: str) -> Path:
    path = template_dir() / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


def set_config(text: str) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(text, encoding="utf-8")


def ticket_doc(store: Path, ticket_id: str) -> dict:
    return json.loads((store / "tickets" / f"{ticket_id}.json").read_text())


def store_digest(store) -> str:
    """Everything the store holds, as `store export` writes it (every local backend)."""
    exported = run("store", "export")
    assert exported.exit_code == 0, exported.stderr
    return hashlib.sha256(exported.stdout.encode()).hexdigest()


# -- templates: files, front matter, placeholders ---------------------------------------------
def test_path_list_and_show(store):
    assert run("templates", "path").stdout.strip() == str(template_dir())
    assert "no templates" in run("templates", "list").stderr
    write_template("known-issue", KNOWN_ISSUE)
    listed = run("templates", "list")
    assert listed.exit_code == 0
    assert "known-issue" in listed.stdout and "status pending" in listed.stdout
    doc = run("templates", "list", "-o", "json").json()
    assert doc[0]["actions"] == {
        "status": "pending",
        "priority": "high",
        "add_tags": ["export-timeout"],
    }
    assert "fix_date" in doc[0]["placeholders"]
    assert run("templates", "show", "known-issue").stdout == KNOWN_ISSUE
    rendered = run(
        "--user", "dana", "templates", "show", "known-issue", "--ticket", "1001",
        "--var", "fix_date=Friday",
    )  # fmt: skip
    assert rendered.exit_code == 0, rendered.stderr
    assert 'about "Export fails with a timeout" (#1001): a fix ships Friday.' in rendered.stdout
    missing = run("templates", "show", "nope")
    assert missing.exit_code == 3 and "known-issue" in missing.stderr


def test_the_profile_names_the_templates_directory(store, tmp_path):
    elsewhere = tmp_path / "team-templates"
    elsewhere.mkdir()
    (elsewhere / "hello.md").write_text("Hello {{ requester.name }}")
    set_config(f'[profiles.default]\ntemplates_dir = "{elsewhere}"\n')
    assert run("templates", "path").stdout.strip() == str(elsewhere)
    assert [t["name"] for t in run("templates", "list", "-o", "json").json()] == ["hello"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{{ ticket.__class__ }}", "unknown placeholder {{ ticket.__class__ }}"),
        ("{{ ticket.id.__class__.__mro__ }}", "unknown placeholder"),
        ("{{ 7*7 }}", "unknown placeholder {{ 7*7 }}"),
        ("{{ __import__('os').system('true') }}", "unknown placeholder"),
        ("+++\ncolour = 'red'\n+++\nhi", "unknown front matter key(s) colour"),
        ("+++\nstatus = 'closed'\n+++\nhi", "close tickets with"),
        ("+++\npriority = 'huge'\n+++\nhi", "invalid priority 'huge'"),
        ("+++\ninternal = 'yes'\n+++\nhi", "'internal' must be true or false"),
        ("+++\nstatus = 'open'\nhi", "never closed"),
        ("+++\nstatus = \n+++\nhi", "not valid TOML"),
    ],
)
def test_a_template_is_data_not_code(store, text, error):
    write_template("bad", text)
    result = run("--user", "dana", "tickets", "reply", "1001", "--template", "bad")
    assert result.exit_code == 2
    assert error in result.stderr
    assert "bad.md" in result.stderr or "{{" in result.stderr
    assert len(ticket_doc(store, "1001")["messages"]) == 3


def test_vars_fill_placeholders_and_a_missing_one_is_named(store):
    write_template("known-issue", KNOWN_ISSUE)
    missing = run("--user", "dana", "tickets", "reply", "1001", "--template", "known-issue")
    assert missing.exit_code == 2
    assert "no value for {{ fix_date }}" in missing.stderr and "--var" in missing.stderr
    bad = run("--user", "dana", "tickets", "reply", "1001", "--template", "known-issue",
              "--var", "ticket.id=9")  # fmt: skip
    assert bad.exit_code == 2 and "invalid --var" in bad.stderr
    assert len(ticket_doc(store, "1001")["messages"]) == 3


# -- templated replies ------------------------------------------------------------------------
def test_each_ticket_gets_its_own_rendering_and_the_actions_follow(store):
    write_template("known-issue", KNOWN_ISSUE)
    done = run("--user", "dana", "tickets", "reply", "1001", "1002", "--template", "known-issue",
               "--var", "fix_date=Friday", "-m", "PS: thanks for your patience.")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    first, second = ticket_doc(store, "1001"), ticket_doc(store, "1002")
    assert first["messages"][-1]["body"] == (
        'Hello Bob,\n\nabout "Export fails with a timeout" (#1001): a fix ships Friday.\n'
        "Dana, Acme Corp\n\nPS: thanks for your patience."
    )
    assert '"Chat about billing" (#1002)' in second["messages"][-1]["body"]
    # an empty value is no value: ticket 1003 has no subject
    empty = run("--user", "dana", "tickets", "reply", "1003", "--template", "known-issue",
                "--var", "fix_date=Friday")  # fmt: skip
    assert empty.exit_code == 2
    assert "ticket 1003: no value for {{ ticket.subject }}" in empty.stderr
    assert first["messages"][-1]["kind"] == "email"
    # the actions, after the reply, in the same change
    actions = [e["action"] for e in first["events"][-3:]]  # 1001 was already high priority
    assert actions == ["replied", "status_changed", "tags_changed"]
    # 1002 was already pending
    assert [e["action"] for e in second["events"][-3:]] == [
        "replied",
        "priority_changed",
        "tags_changed",
    ]
    assert (first["status"], first["priority"]) == ("pending", "high")
    assert "export-timeout" in first["tags"]


def test_an_internal_template_posts_a_note(store):
    write_template("note", "+++\ninternal = true\n+++\nSeen by {{ me.username }}")
    assert run("--user", "dana", "tickets", "reply", "1001", "--template", "note").exit_code == 0
    last = ticket_doc(store, "1001")["messages"][-1]
    assert (last["kind"], last["body"]) == ("note", "Seen by dana")


def test_a_customer_may_not_use_a_template_with_actions(store):
    write_template("known-issue", KNOWN_ISSUE)
    before = store_digest(store)
    refused = run("--user", "bob", "tickets", "reply", "1001", "--template", "known-issue",
                  "--var", "fix_date=x")  # fmt: skip
    assert refused.exit_code == 4
    assert "only agents may use it" in refused.stderr
    assert store_digest(store) == before
    write_template("thanks", "Thanks, {{ me.name }}")
    assert run("--user", "bob", "tickets", "reply", "1001", "--template", "thanks").exit_code == 0


def test_a_bulk_reply_that_cannot_render_one_ticket_writes_nothing_and_names_it(store, backend):
    many = [
        ticket(str(2000 + n), "bob", "acme", subject=f"Case {n}", assignee=None if n == 150 else "dana")
        for n in range(1, 201)
    ]  # fmt: skip
    assert run("store", "import", "-", input=jsonl(many)).exit_code == 0
    write_template("owned", "Your case is with {{ assignee.name }}.")
    before = store_digest(store)
    ids = "".join(f"{2000 + n}\n" for n in range(1, 201))
    result = run("--user", "dana", "tickets", "reply", "-", "--template", "owned", input=ids)
    assert result.exit_code == 2
    assert "ticket 2150: no value for {{ assignee.name }}; nothing written" in result.stderr
    assert store_digest(store) == before


def test_ids_from_stdin_with_a_template(store):
    write_template("thanks", "Thanks for ticket {{ ticket.id }}")
    done = run(
        "--user", "dana", "tickets", "reply", "-", "--template", "thanks", input="1001\n1003\n"
    )
    assert done.exit_code == 0, done.stderr
    assert ticket_doc(store, "1003")["messages"][-1]["body"] == "Thanks for ticket 1003"


def test_create_from_a_template(store):
    write_template(
        "access",
        '+++\nsubject = "Access for {{ me.username }}"\n+++\nPlease give {{ who }} access.',
    )
    made = run("--user", "bob", "tickets", "create", "--template", "access", "--var", "who=carol")
    assert made.exit_code == 0, made.stderr
    doc = ticket_doc(store, made.stdout.strip())
    assert (doc["subject"], doc["messages"][0]["body"]) == (
        "Access for bob",
        "Please give carol access.",
    )
    write_template("nosubject", "Body only")
    assert run("--user", "bob", "tickets", "create", "--template", "nosubject").exit_code == 2
    own = run("--user", "bob", "tickets", "create", "--template", "nosubject", "--subject", "Mine")
    assert ticket_doc(store, own.stdout.strip())["subject"] == "Mine"
    needs_ticket = run(
        "--user", "bob", "tickets", "create", "--subject", "x", "--template", "known"
    )
    assert needs_ticket.exit_code == 3


# -- preview ----------------------------------------------------------------------------------
def test_preview_shows_the_message_and_writes_nothing(store):
    write_template("known-issue", KNOWN_ISSUE)
    before = store_digest(store)
    shown = run("--user", "dana", "tickets", "reply", "1001", "--template", "known-issue",
                "--var", "fix_date=Friday", "--preview", "--attach", __file__)  # fmt: skip
    assert shown.exit_code in (0, 2)  # a .py attachment is refused before anything is shown
    log = Path(os.environ["HOME"]) / "log.txt"
    log.write_text("x" * 10)
    shown = run("--user", "dana", "tickets", "reply", "1001", "--template", "known-issue",
                "--var", "fix_date=Friday", "--preview", "--attach", str(log))  # fmt: skip
    assert shown.exit_code == 0, shown.stderr
    out = shown.stdout
    assert "From: Dana\nTo: Bob <bob@example.com>\nCc: Carol <carol@example.com>\n" in out
    assert "Subject: Re: Export fails with a timeout [#1001]" in out
    assert "a fix ships Friday." in out
    assert "Attachments: log.txt (10 bytes)" in out
    assert "Then: status pending, priority high, add_tags export-timeout" in out
    assert "nothing sent" in shown.stderr
    assert store_digest(store) == before


def test_an_internal_note_previews_as_such(store):
    shown = run(
        "--user", "dana", "tickets", "reply", "1001", "-m", "legacy plan", "--internal", "--preview"
    )
    assert shown.exit_code == 0
    assert "Internal note by Dana — not sent to the customer" in shown.stdout
    assert "To:" not in shown.stdout


# -- banned words -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("This is BAD", [("bad", 1)]),
        ("line one\nThis is ＢＡＤ", [("bad", 2)]),  # full-width letters
        ("a badge and a badminton racket", []),  # inside a longer word: no match
        ("bAd, really", [("bad", 1)]),
        ("a Stupid\tBug here", [("stupid bug", 1)]),  # a phrase, any spacing
        ("ｓｔｕｐｉｄ ｂｕｇ", [("stupid bug", 1)]),
    ],
)
def test_banned_words_are_whole_words_case_and_width_insensitive(body, found):
    hits = templates.find_banned(body, ["bad", "stupid bug"])
    assert [(b.word, b.line) for b in hits] == found


def test_a_banned_word_stops_every_customer_visible_body(store):
    set_config(
        '[reply]\nbanned_words = ["bad"]\n[profiles.default]\nbanned_words = ["stupid bug"]\n'
    )
    before = store_digest(store)
    reply = run("--user", "dana", "tickets", "reply", "1001", "-m", "fine\nthis is ＢＡＤ")
    assert reply.exit_code == 2
    assert "'bad' (line 2)" in reply.stderr and "nothing written" in reply.stderr
    create = run("--user", "bob", "tickets", "create", "--subject", "s", "-m", "a Stupid Bug")
    assert create.exit_code == 2 and "'stupid bug' (line 1)" in create.stderr
    close = run("--user", "dana", "tickets", "close", "1001", "--comment", "bad luck")
    assert close.exit_code == 2
    assert store_digest(store) == before
    shown = run("--user", "dana", "tickets", "reply", "1001", "-m", "so bad", "--preview")
    assert (
        shown.exit_code == 0
        and "so [!bad!]" in shown.stdout
        and "Banned words: 'bad'" in shown.stdout
    )
    note = run("--user", "dana", "tickets", "reply", "1001", "-m", "bad customer", "--internal")
    assert note.exit_code == 0  # internal notes are not checked
    sent = run("--user", "dana", "tickets", "reply", "1001", "-m", "not bad", "--allow-banned")
    assert sent.exit_code == 0
    assert ticket_doc(store, "1001")["messages"][-1]["body"] == "not bad"


def test_banned_words_in_config_are_validated(store):
    set_config("[reply]\nbanned_words = [1]\n")
    result = run("--user", "dana", "tickets", "reply", "1001", "-m", "hi")
    assert result.exit_code == 2 and "banned_words" in result.stderr


def test_actions_refused_after_the_reply(store, backend):
    """Local stores check the actions before the one atomic change; over http the reply is
    sent, then the PATCH, whose failure is reported with its exit code (the reply stands)."""
    write_template("to-bob", '+++\nassignee = "bob"\n+++\nHanded over')
    result = run("--user", "dana", "tickets", "reply", "1001", "--template", "to-bob")
    assert result.exit_code == 2
    assert "bob is not an agent" in result.stderr
    bodies = [m["body"] for m in ticket_doc(store, "1001")["messages"]]
    if backend != "http":  # local stores: one atomic change, checked first
        assert "Handed over" not in bodies
    else:
        assert bodies[-1] == "Handed over"
        assert "replied to ticket 1001, but its actions failed" in result.stderr


def test_review_findings_on_replies(store):
    # a phrase wrapped onto two lines is still found, on the line it starts
    assert [(b.word, b.line) for b in templates.find_banned("a bad\nidea", ["bad idea"])] == [
        ("bad idea", 1)
    ]
    # banned_words as one comma-separated string in the file, as `config set` takes it
    set_config('[reply]\nbanned_words = "darn, heck"\n')
    refused = run("--user", "dana", "tickets", "reply", "1001", "-m", "oh heck")
    assert refused.exit_code == 2 and "'heck' (line 1)" in refused.stderr
    # IDs and the body cannot both come from standard input
    both = run("--user", "dana", "tickets", "reply", "-", "--body-file", "-", input="1001\n")
    assert both.exit_code == 2 and "reads the ticket IDs from standard input" in both.stderr
    # a customer's internal note is refused before the preview, as before sending
    note = run("--user", "bob", "tickets", "reply", "1001", "-m", "x", "--internal", "--preview")
    assert note.exit_code == 4
    # a preview of a reply to a closed ticket says it would not be sent
    closed = run("--user", "dana", "tickets", "reply", "1006", "-m", "hello", "--preview")
    assert closed.exit_code == 0 and "Not sent: ticket 1006 is closed" in closed.stdout
    # a CRLF template sends no carriage returns; unusable file names are not listed
    write_template("crlf", "Hello\r\nbye\r\n")
    write_template(".draft", "x")
    names = [t["name"] for t in run("templates", "list", "-o", "json").json()]
    assert ".draft" not in names and "crlf" in names
    assert run("--user", "dana", "tickets", "reply", "1001", "--template", "crlf").exit_code == 0
    assert ticket_doc(store, "1001")["messages"][-1]["body"] == "Hello\nbye"
