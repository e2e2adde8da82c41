"""`config …` and precedence (SPEC §6, §9)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.conftest import run


def config_file(home):
    return home / "config" / "supportctl" / "config.toml"


def test_path_honours_supportctl_config(isolated_home):
    assert run("config", "path").stdout.strip() == str(config_file(isolated_home))


def test_set_get_unset_round_trip_and_mode_0600(isolated_home):
    assert run("config", "set", "user", "bob").exit_code == 0
    assert run("config", "get", "user").stdout == "bob\n"
    path = config_file(isolated_home)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert '[profiles.default]\nuser = "bob"' in path.read_text()
    assert run("config", "unset", "user").exit_code == 0
    result = run("config", "get", "user")
    assert result.exit_code == 3
    assert "user is not set" in result.stderr


def test_get_of_unset_key_exits_3(isolated_home):
    assert run("config", "get", "url").exit_code == 3


def test_unknown_key_is_usage_error_listing_keys(isolated_home):
    result = run("config", "set", "colour", "blue")
    assert result.exit_code == 2
    assert (
        "valid keys: backend, store, user, url, token, token_env, timeout, ca_bundle"
        in result.stderr
    )


def test_bad_values_are_refused(isolated_home):
    assert run("config", "set", "timeout", "soon").exit_code == 2
    assert run("config", "set", "timeout", "-3").exit_code == 2
    result = run("config", "set", "backend", "carrier-pigeon")
    assert result.exit_code == 2
    assert "Valid backends: http, json" in result.stderr


def test_profiles_and_use(isolated_home, tmp_path):
    run("config", "set", "user", "bob")
    run("config", "set", "user", "dana", "--profile", "agent")
    run("--profile", "agent", "config", "set", "store", str(tmp_path / "agentstore"))
    assert run("config", "get", "user").stdout == "bob\n"
    assert run("--profile", "agent", "config", "get", "user").stdout == "dana\n"
    assert run("config", "use", "agent").exit_code == 0
    assert run("config", "get", "user").stdout == "dana\n"
    assert run("config", "get", "default_profile").stdout == "agent\n"
    listing = run("config", "list").stdout
    assert "default_profile = agent" in listing
    assert "profiles.default.user = bob" in listing
    assert "profiles.agent.user = dana" in listing


def test_profile_selects_the_store(store, tmp_path):
    run("config", "set", "store", str(tmp_path / "elsewhere"), "--profile", "empty")
    run("config", "set", "user", "bob", "--profile", "empty")
    result = run("--profile", "empty", "tickets", "list")
    assert result.exit_code == 6  # no store there
    assert str(tmp_path / "elsewhere") in result.stderr
    env = run("tickets", "list", "-o", "ids", env={"SUPPORTCTL_PROFILE": "empty"})
    assert env.exit_code == 6


def test_unknown_profile_is_not_found(store):
    result = run("--profile", "nope", "--user", "bob", "tickets", "list")
    assert result.exit_code == 3
    assert "no profile 'nope'" in result.stderr


def test_store_from_environment_beats_profile(store, tmp_path):
    run("config", "set", "store", str(tmp_path / "nowhere"))
    result = run(
        "--user", "bob", "tickets", "list", "-o", "ids", env={"SUPPORTCTL_STORE": str(store)}
    )
    assert result.exit_code == 0
    assert result.stdout.split() == ["1003", "1001"]


def test_token_is_masked_everywhere(isolated_home):
    secret = "sk-abcdefghijklmnop1234"
    result = run("config", "set", "token", secret)
    assert secret not in result.stderr + result.stdout
    assert run("config", "get", "token").stdout == "****1234\n"
    assert secret not in run("config", "list").stdout
    assert "****1234" in run("config", "list").stdout


def test_warning_for_token_in_a_readable_file(store, isolated_home):
    run("config", "set", "token", "sk-abcdefghijklmnop1234")
    path = config_file(isolated_home)
    assert run("--user", "bob", "tickets", "list").stderr.count("warning") == 0
    os.chmod(path, 0o644)
    result = run("--user", "bob", "tickets", "list")
    assert result.exit_code == 0
    assert f"supportctl: warning: {path} holds a token but its mode is 0644" in result.stderr
    assert "sk-abcdefghijklmnop1234" not in result.stderr


def test_damaged_config_is_reported_and_never_overwritten(isolated_home):
    path = config_file(isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text("this is [not toml\n")
    before = path.read_bytes()
    for args in (["config", "set", "user", "bob"], ["config", "get", "user"], ["tickets", "list"]):
        result = run(*args)
        assert result.exit_code == 2
        assert f"config file {path} is not valid TOML" in result.stderr
    assert path.read_bytes() == before


def test_config_with_wrong_types_is_a_usage_error(isolated_home):
    path = config_file(isolated_home)
    path.parent.mkdir(parents=True)
    path.write_text('[profiles.default]\ntimeout = "fast"\n')
    result = run("--user", "bob", "tickets", "list")
    assert result.exit_code == 2
    assert "'timeout' must be a number" in result.stderr


# -- round two: use, token from stdin, edit, comments ---------------------------------------------
def test_config_use_of_an_unknown_profile_exits_3(isolated_home):
    result = run("config", "use", "nowhere")
    assert result.exit_code == 3
    assert "no profile 'nowhere'" in result.stderr
    assert run("config", "get", "default_profile").exit_code == 3  # nothing was written
    assert run("config", "set", "user", "sam", "--profile", "agent").exit_code == 0
    assert run("config", "use", "agent").exit_code == 0
    assert run("config", "use", "default").exit_code == 0  # always there


def test_config_set_token_dash_reads_standard_input(isolated_home):
    result = run("config", "set", "token", "-", input="sct_from_stdin_123456\n")
    assert result.exit_code == 0, result.stderr
    assert "sct_from_stdin_123456" not in result.stderr + result.stdout
    path = run("config", "path").stdout.strip()
    assert 'token = "sct_from_stdin_123456"' in Path(path).read_text()
    assert run("config", "set", "token", "-", input="\n").exit_code == 2


def _editor(tmp_path, text: str) -> str:
    script = tmp_path / "editor.sh"
    script.write_text(f"#!/bin/sh\nprintf '%b' '{text}' >> \"$1\"\n")
    script.chmod(0o755)
    return str(script)


def test_config_edit_checks_the_result_and_keeps_the_previous_version(isolated_home, tmp_path):
    run("config", "set", "user", "sam")
    path = run("config", "path").stdout.strip()
    before = Path(path).read_text()
    good = run("config", "edit", env={"EDITOR": _editor(tmp_path, "# my note\\n")})
    assert good.exit_code == 0, good.stderr
    assert "# my note" in Path(path).read_text()  # comments survive an edit
    broken = run("config", "edit", env={"EDITOR": _editor(tmp_path, "broken = [\\n")})
    assert broken.exit_code == 2
    assert "is not valid TOML" in broken.stderr and "line" in broken.stderr
    assert f"{path}.previous" in broken.stderr
    assert Path(f"{path}.previous").read_text() == before + "# my note\n"
    assert "broken = [" in Path(path).read_text()  # what you wrote is not lost


def test_config_set_warns_when_rewriting_drops_comments(isolated_home, tmp_path):
    run("config", "set", "user", "sam")
    path = run("config", "path").stdout.strip()
    with open(path, "a") as handle:
        handle.write("# who uses this profile\n")
    result = run("config", "set", "timeout", "20")
    assert result.exit_code == 0
    assert "has comments; rewriting it drops them" in result.stderr
    quiet = run("config", "set", "timeout", "25")  # none left to drop
    assert "comments" not in quiet.stderr


def test_a_second_broken_edit_keeps_the_last_good_version(isolated_home, tmp_path):
    run("config", "set", "user", "sam")
    path = Path(run("config", "path").stdout.strip())
    good = path.read_text()
    for _ in range(2):
        assert (
            run("config", "edit", env={"EDITOR": _editor(tmp_path, "broken = [\\n")}).exit_code == 2
        )
    assert Path(f"{path}.previous").read_text() == good
