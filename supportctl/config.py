"""TOML profiles and precedence (SPEC §6, §9): flag > environment > profile > default.

The config file is read with tomllib and written with tomli-w, always with mode 0600.  A
file that does not parse is reported with its path and never overwritten.
"""

from __future__ import annotations

import math
import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportctl.errors import NotFound, UsageError

PROFILE_KEYS = (
    "backend",
    "store",
    "user",
    "url",
    "token",
    "token_env",
    "timeout",
    "ca_bundle",
    "templates_dir",
    "banned_words",
)
SECRET_KEYS = ("token",)
DEFAULT_PROFILE = "default"
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def config_path() -> Path:
    """``$SUPPORTCTL_CONFIG``, else ``click.get_app_dir("supportctl")/config.toml``."""
    env = os.environ.get("SUPPORTCTL_CONFIG")
    if env:
        return Path(env).expanduser()
    import click

    return Path(click.get_app_dir("supportctl")) / "config.toml"


def default_store_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return Path(base) / "supportctl"


def mask(secret: str) -> str:
    """A token as it may be shown: never more than its last four characters."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


@dataclass
class ConfigFile:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    existed: bool = False
    text: str = ""  # as read: comments are in it, not in ``data``

    @classmethod
    def load(cls, path: Path | None = None, *, validate: bool = True) -> ConfigFile:
        path = path or config_path()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError:
            raise UsageError(f"config file {path} is not valid UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            why = str(exc).replace(
                "(at end of document)", f"(at the end, line {max(len(text.splitlines()), 1)})"
            )
            raise UsageError(f"config file {path} is not valid TOML: {why}") from None
        config = cls(path, data, existed=True, text=text)
        if validate:
            config.validate()
        return config

    def validate(self) -> None:
        where = f"config file {self.path}"
        default = self.data.get("default_profile")
        if default is not None and not isinstance(default, str):
            raise UsageError(f"{where}: 'default_profile' must be a string")
        profiles = self.data.get("profiles", {})
        if not isinstance(profiles, dict):
            raise UsageError(f"{where}: 'profiles' must be a table")
        if "sweep" in self.data:
            self.sweep_rules(build=False)  # the tables' form; what a rule may do: when sweeping
        reply = self.data.get("reply", {})
        if not isinstance(reply, dict):
            raise UsageError(f"{where}: [reply] must be a table")
        unknown = sorted(set(reply) - {"banned_words"})
        if unknown:
            raise UsageError(
                f"{where}: unknown key(s) {', '.join(unknown)} in [reply]; valid: banned_words"
            )
        if "banned_words" in reply:
            try:
                check_value("banned_words", reply["banned_words"])
            except UsageError as exc:
                raise UsageError(f"{where}: [reply] {exc.message}") from None
        if "triggers" in self.data:
            self.triggers()  # a bad trigger is a configuration error, whatever the command
        if "views" in self.data:
            self.views()  # so is a bad saved view
        for name, profile in profiles.items():
            if not isinstance(profile, dict):
                raise UsageError(f"{where}: [profiles.{name}] must be a table")
            for key, value in profile.items():
                if key not in PROFILE_KEYS:
                    raise UsageError(
                        f"{where}: unknown key {key!r} in [profiles.{name}]; "
                        f"valid keys: {', '.join(PROFILE_KEYS)}"
                    )
                try:
                    check_value(key, value)
                except UsageError as exc:
                    raise UsageError(f"{where}: [profiles.{name}] {exc.message}") from None

    def templates_dir(self, profile: str) -> Path:
        """SPEC §13: the profile's `templates_dir`, else `templates/` next to this file."""
        value = self.profile(profile).get("templates_dir")
        return Path(value).expanduser() if value else self.path.parent / "templates"

    def banned_words(self, profile: str) -> tuple[str, ...]:
        """The profile's `banned_words` and those of the top-level [reply] table."""
        words: list[str] = []
        for value in (
            self.profile(profile).get("banned_words"),
            self.data.get("reply", {}).get("banned_words"),
        ):
            if value is not None:  # a list, or "word, a phrase" as `config set` takes it
                words += check_value("banned_words", value)
        return tuple(dict.fromkeys(words))

    def sweep_rules(self, *, build: bool = True) -> dict[str, Any]:
        """`[sweep.rules.NAME]` tables as SweepRules. Without ``build`` only their form is
        checked: a rule a sweep may not run (naming `escalated`, `remind` for other than
        `pending`) fails the sweep, not every command."""
        from supportctl.api import SweepRule
        from supportctl.timeutil import parse_duration

        where = f"config file {self.path}"
        sweep = self.data.get("sweep", {})
        rules_table = sweep.get("rules", {}) if isinstance(sweep, dict) else None
        if not isinstance(rules_table, dict):
            raise UsageError(f"{where}: [sweep.rules] must be a table of rules")
        rules = {}
        for name, table in rules_table.items():
            here = f"{where}: [sweep.rules.{name}]"
            if not isinstance(table, dict):
                raise UsageError(f"{here} must be a table")
            unknown = sorted(
                set(table) - {"status", "idle", "action", "priority", "type", "org", "group"}
            )
            if unknown:
                raise UsageError(
                    f"{here}: unknown key(s) {', '.join(unknown)}; "
                    "valid: status, idle, action, priority, type, org, group"
                )
            fields = {
                "action": _choice(
                    table.get("action"), "action", ("close", "remind", "expire"), here
                ),
                "idle": _duration(table.get("idle"), here, parse_duration),
                "statuses": _strings(table.get("status"), "status", here, STATUS_VALUES),
                "priorities": _strings(table.get("priority"), "priority", here, PRIORITY_VALUES),
                "types": _strings(table.get("type"), "type", here, TYPE_VALUES),
                "orgs": _strings(table.get("org"), "org", here, None),
                "groups": _strings(table.get("group"), "group", here, None),
            }
            if not build:
                continue
            try:
                rules[name] = SweepRule(name=name, **fields)
            except UsageError as exc:
                raise UsageError(f"{where}: {exc.message}", hint=exc.hint) from None
        return rules

    def triggers(self) -> list[Any]:
        """`[triggers.NAME]` tables as Triggers, in file order (SPEC §13); an unknown key or
        value is a UsageError (exit 2) naming the trigger."""
        from supportctl.api import trigger_from_table

        where = f"config file {self.path}"
        table = self.data.get("triggers", {})
        if not isinstance(table, dict):
            raise UsageError(f"{where}: [triggers] must be a table of triggers ([triggers.NAME])")
        return [trigger_from_table(name, body, where) for name, body in table.items()]

    def views(self) -> dict[str, Any]:
        """`[views.NAME]` tables as saved Views, in file order (SPEC §16); an unknown key or
        a bad value is a UsageError (exit 2) naming the view and the key."""
        from supportctl.views import view_from_table

        where = f"config file {self.path}"
        table = self.data.get("views", {})
        if not isinstance(table, dict):
            raise UsageError(f"{where}: [views] must be a table of views ([views.NAME])")
        return {name: view_from_table(name, body, where) for name, body in table.items()}

    def holds_token(self) -> bool:
        return any("token" in p for p in self.data.get("profiles", {}).values())

    def warn_if_exposed(self) -> None:
        """SPEC §6: a config file holding a token must be mode 0600."""
        if not self.existed or not self.holds_token():
            return
        with_mode = stat.S_IMODE(os.stat(self.path).st_mode)
        if with_mode & 0o077:
            sys.stderr.write(
                f"supportctl: warning: {self.path} holds a token but its mode is "
                f"{with_mode:04o}; run `chmod 600 {self.path}`\n"
            )

    def active_profile_name(self, requested: str | None = None) -> str:
        return requested or self.data.get("default_profile") or DEFAULT_PROFILE

    def profile(self, name: str) -> dict[str, Any]:
        return dict(self.data.get("profiles", {}).get(name, {}))

    def set(self, profile: str, key: str, value: Any) -> None:
        _check_profile_name(profile)
        self.data.setdefault("profiles", {}).setdefault(profile, {})[key] = value

    def unset(self, profile: str, key: str) -> bool:
        values = self.data.get("profiles", {}).get(profile, {})
        return values.pop(key, None) is not None

    def use(self, profile: str) -> None:
        _check_profile_name(profile)
        self.data["default_profile"] = profile

    def has_comments(self) -> bool:
        """Whether the file as read holds a comment (a `#` outside a string)."""
        for line in self.text.splitlines():
            quote = None
            for ch in line:
                if quote:
                    quote = None if ch == quote else quote
                elif ch in "\"'":
                    quote = ch
                elif ch == "#":
                    return True
        return False

    def save(self) -> None:
        """Write atomically with mode 0600 (the parent directory is made 0700). Comments are
        not kept (tomli-w writes data): a file that has some draws a warning first."""
        if self.has_comments():
            sys.stderr.write(
                f"supportctl: warning: {self.path} has comments; rewriting it drops them "
                "(use `supportctl config edit` to keep them)\n"
            )
        import tomli_w

        from supportctl.fsutil import atomic_write

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, tomli_w.dumps(self.data).encode("utf-8"))
            os.chmod(self.path, 0o600)
        except OSError as exc:
            raise UsageError(
                f"cannot write config file {self.path}: {exc.strerror}; it was left as it was"
            ) from None


STATUS_VALUES = ("new", "open", "pending", "escalated", "resolved")
PRIORITY_VALUES = ("low", "normal", "high", "urgent")
TYPE_VALUES = ("email", "chat", "phone", "call", "web")


def _choice(value: Any, key: str, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise UsageError(f"{where}: {key!r} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def _duration(value: Any, where: str, parse: Any) -> Any:
    if not isinstance(value, str):
        raise UsageError(f'{where}: \'idle\' must be a duration such as "14d" or "24h"')
    try:
        return parse(value)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc.message}") from None


def _strings(value: Any, key: str, where: str, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    """A string or a list of strings (SPEC §9), each one of ``allowed`` when given."""
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise UsageError(f"{where}: {key!r} must be a string or a list of strings")
    for v in values:
        if allowed is not None and v not in allowed:
            raise UsageError(f"{where}: {key!r} value {v!r} is not one of {', '.join(allowed)}")
    return tuple(values)


def _check_profile_name(name: str) -> None:
    if not _PROFILE_NAME.match(name):
        raise UsageError(f"invalid profile name {name!r}: use letters, digits, '_', '-' or '.'")


def check_value(key: str, value: Any) -> Any:
    """Validate a profile value from the file or from `config set`; return it typed."""
    if key not in PROFILE_KEYS:
        raise UsageError(f"unknown key {key!r}; valid keys: {', '.join(PROFILE_KEYS)}")
    if key == "timeout":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise UsageError(f"'timeout' must be a number of seconds (got {value!r})") from None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise UsageError(f"'timeout' must be a positive number of seconds (got {value!r})")
        return int(value) if float(value).is_integer() else float(value)
    if key == "banned_words":
        if isinstance(value, str):  # `config set banned_words "word, a phrase"`
            value = [w.strip() for w in value.split(",")]
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            raise UsageError("'banned_words' must be a list of words or phrases")
        return value
    if not isinstance(value, str):
        raise UsageError(f"{key!r} must be a string (got {value!r})")
    if key == "backend":
        from supportctl.backends import backend_names

        if value not in backend_names():
            raise UsageError(
                f"unknown backend {value!r}. Valid backends: {', '.join(backend_names())}"
            )
    if key == "url":
        from supportctl.api import check_url

        check_url(value, "https://support.example.com/api/v1")
    return value


@dataclass
class Settings:
    """Everything a command needs to reach its backend, after precedence is applied."""

    profile: str
    backend: str
    store_path: Path
    user: str | None
    url: str | None
    token: str | None
    timeout: float
    ca_bundle: str | None
    lock_timeout: float
    config: ConfigFile
    verbose: bool = False
    #: A PostgreSQL store (``postgresql://…``, SPEC §12) instead of a directory.
    store_url: str | None = None

    @classmethod
    def resolve(
        cls,
        *,
        profile: str | None = None,
        backend: str | None = None,
        store: str | None = None,
        url: str | None = None,
        user: str | None = None,
        config: ConfigFile | None = None,
    ) -> Settings:
        """Flags and environment arrive merged by click; the profile fills the rest."""
        config = config or ConfigFile.load()
        name = config.active_profile_name(profile)
        values = config.profile(name)
        if (
            profile
            and profile != DEFAULT_PROFILE
            and profile not in config.data.get("profiles", {})
        ):
            raise NotFound(
                f"no profile {name!r} in {config.path}",
                hint="create it with `supportctl config set KEY VALUE --profile NAME`",
            )
        token = os.environ.get("SUPPORTCTL_TOKEN") or values.get("token")
        if not token and values.get("token_env"):
            token = os.environ.get(values["token_env"])
        chosen_backend = backend or values.get("backend") or "json"
        store_value = store or values.get("store")
        from supportctl.storage.pgurl import is_postgres_url

        store_url = store_value if is_postgres_url(store_value) else None
        if store_url is not None and chosen_backend == "json":
            chosen_backend = "postgres"  # SPEC §12: a database URL is the postgres backend
        lock_timeout = os.environ.get("SUPPORTCTL_LOCK_TIMEOUT", "10")
        try:
            lock_seconds = float(lock_timeout)
        except ValueError:
            raise UsageError(
                f"SUPPORTCTL_LOCK_TIMEOUT must be seconds (got {lock_timeout!r})"
            ) from None
        return cls(
            profile=name,
            backend=chosen_backend,
            store_path=(
                Path(store_value).expanduser()
                if store_value and store_url is None
                else default_store_path()
            ),
            user=user or values.get("user"),
            url=url or values.get("url"),
            token=token,
            timeout=float(values.get("timeout", 30)),
            ca_bundle=values.get("ca_bundle"),
            lock_timeout=lock_seconds,
            config=config,
            store_url=store_url,
        )
