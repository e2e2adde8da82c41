"""Users' `groups` (SPEC §2): the support teams an agent works in, `[]` when absent."""

from __future__ import annotations

import json

import pytest

from supportctl.models import User
from tests.conftest import jsonl, run, small_store_docs, user


def _users(export: str) -> dict[str, dict]:
    docs = [json.loads(line) for line in export.splitlines()]
    return {d["username"]: d for d in docs if d["kind"] == "user"}


def test_groups_are_imported_exported_and_default_to_empty(tmp_path):
    docs = small_store_docs()
    docs.append(user("fay", "support", "agent", groups=["billing", "technical", "billing"]))
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    exported = run("store", "export").stdout
    users = _users(exported)
    assert users["fay"]["groups"] == ["billing", "technical"]  # each once, in order
    assert users["dana"]["groups"] == []  # absent from the import line
    # export → import round-trips the groups
    copy = tmp_path / "copy"
    assert run("--store", str(copy), "store", "import", "-", input=exported).exit_code == 0
    assert _users(run("--store", str(copy), "store", "export").stdout) == users


@pytest.mark.parametrize(
    "groups",
    ["billing", [1], [""], ["  "], [None], {"billing": True}],
)
def test_bad_groups_are_a_bad_import_line(groups):
    docs = [*small_store_docs(), user("fay", "support", "agent", groups=groups)]
    result = run("store", "import", "-", input=jsonl(docs))
    assert result.exit_code == 2, result.stderr
    assert "'groups'" in result.stderr
    assert "nothing imported" in result.stderr


def test_a_store_written_without_groups_still_reads(store):
    users_file = store / "users.json"
    docs = json.loads(users_file.read_text())
    for doc in docs:
        doc.pop("groups", None)  # as the code before `groups` wrote it
    users_file.write_text(json.dumps(docs))
    assert run("--user", "dana", "tickets", "list", "--scope", "org").exit_code == 0
    assert _users(run("store", "export").stdout)["dana"]["groups"] == []


def test_user_documents_carry_groups(backend):
    docs = [*small_store_docs(), user("fay", "support", "agent", groups=["billing"])]
    assert run("store", "import", "-", input=jsonl(docs)).exit_code == 0
    result = run("--user", "fay", "org", "view", "-o", "json")
    assert result.exit_code == 0, result.stderr
    users = {u["username"]: u for u in result.json()["users"]}
    assert users["fay"]["groups"] == ["billing"]
    assert users["dana"]["groups"] == []


def test_the_demo_agents_have_groups():
    assert run("store", "init", "--demo").exit_code == 0
    users = _users(run("store", "export").stdout)
    assert users["sam"]["groups"] and users["priya"]["groups"]
    assert all(users[name]["groups"] == [] for name in users if users[name]["role"] != "agent")


def test_model_validation():
    assert User.from_dict({"username": "a", "org": "o"}).groups == []
    assert User.from_dict({"username": "a", "org": "o", "groups": ["x"]}).groups == ["x"]
    stored = {"username": "a", "name": "A", "email": "", "org": "o", "role": "user"}
    assert User.from_dict(stored, validate=False).groups == []
