"""`supportctl config …`: get, set, unset, list, path, use, edit."""

from __future__ import annotations

import click

from supportctl.cli.context import AppContext, pass_app
from supportctl.config import PROFILE_KEYS, SECRET_KEYS, ConfigFile, check_value, mask
from supportctl.errors import NotFound, UsageError

profile_option = click.option(
    "--profile", "local_profile", metavar="NAME", help="Profile to act on (created by set)."
)


@click.group()
def config() -> None:
    """Read and change the TOML config (profiles of backend, store, user, url, token…)."""


def _profile(app: AppContext, config_file: ConfigFile, local: str | None) -> str:
    return config_file.active_profile_name(local or app.profile)


def _shown(key: str, value: object) -> str:
    if key in SECRET_KEYS:
        return mask(str(value))
    return str(value)


@config.command("path")
def path() -> None:
    """Print the config file's path ($SUPPORTCTL_CONFIG or the app dir)."""
    from supportctl.config import config_path

    click.echo(str(config_path()))


@config.command("get")
@click.argument("key")
@profile_option
@pass_app
def get(app: AppContext, key: str, local_profile: str | None) -> None:
    """Print KEY of the active profile (tokens masked); exit 3 when unset."""
    config_file = ConfigFile.load()
    config_file.warn_if_exposed()
    if key == "default_profile":
        value = config_file.data.get("default_profile")
    else:
        if key not in PROFILE_KEYS:
            raise UsageError(f"unknown key {key!r}; valid keys: {', '.join(PROFILE_KEYS)}")
        value = config_file.profile(_profile(app, config_file, local_profile)).get(key)
    if value is None:
        raise NotFound(f"{key} is not set")
    click.echo(_shown(key, value))


@config.command("set")
@click.argument("key")
@click.argument("value")
@profile_option
@pass_app
def set_(app: AppContext, key: str, value: str, local_profile: str | None) -> None:
    """Set KEY of the active profile (or --profile NAME, created if new).

    `config set token -` reads the token from standard input, so that it never stands in
    the shell's history or the process list.
    """
    if value == "-" and key in SECRET_KEYS:
        value = _secret_from_stdin(key)
    config_file = ConfigFile.load()
    name = _profile(app, config_file, local_profile)
    config_file.set(name, key, check_value(key, value))
    config_file.save()
    click.echo(f"set {key} = {_shown(key, value)} in profile {name!r}", err=True)


def _secret_from_stdin(key: str) -> str:
    """The first line of standard input (a prompt without echo on a terminal)."""
    import sys

    if sys.stdin.isatty():
        value = click.prompt(key, hide_input=True, err=True)
    else:
        value = sys.stdin.readline().strip()
    if not value:
        raise UsageError(f"no {key} on standard input; nothing written")
    return value


@config.command("unset")
@click.argument("key")
@profile_option
@pass_app
def unset(app: AppContext, key: str, local_profile: str | None) -> None:
    """Remove KEY from the active profile."""
    if key not in PROFILE_KEYS:
        raise UsageError(f"unknown key {key!r}; valid keys: {', '.join(PROFILE_KEYS)}")
    config_file = ConfigFile.load()
    name = _profile(app, config_file, local_profile)
    if not config_file.unset(name, key):
        raise NotFound(f"{key} is not set in profile {name!r}")
    config_file.save()
    click.echo(f"unset {key} in profile {name!r}", err=True)


@config.command("list")
@pass_app
def list_(app: AppContext) -> None:
    """Print every setting as `profiles.NAME.KEY = VALUE` (tokens masked)."""
    config_file = ConfigFile.load()
    config_file.warn_if_exposed()
    active = _profile(app, config_file, None)
    if "default_profile" in config_file.data:
        click.echo(f"default_profile = {config_file.data['default_profile']}")
    for name, values in sorted(config_file.data.get("profiles", {}).items()):
        for key, value in values.items():
            click.echo(f"profiles.{name}.{key} = {_shown(key, value)}")
    click.echo(f"(active profile: {active})", err=True)


@config.command("use")
@click.argument("name")
@pass_app
def use(app: AppContext, name: str) -> None:
    """Make NAME the default profile (it must exist; `default` always does)."""
    from supportctl.config import DEFAULT_PROFILE

    config_file = ConfigFile.load()
    if name != DEFAULT_PROFILE and name not in config_file.data.get("profiles", {}):
        raise NotFound(
            f"no profile {name!r} in {config_file.path}",
            hint=f"create it with `supportctl config set KEY VALUE --profile {name}`",
        )
    config_file.use(name)
    config_file.save()
    click.echo(f"default profile is now {name!r}", err=True)


def _parses(path: object, data: bytes) -> bool:
    """Whether ``data`` is a valid config (a broken previous version is not worth keeping)."""
    import tomllib

    try:
        ConfigFile(path, tomllib.loads(data.decode("utf-8"))).validate()  # type: ignore[arg-type]
    except (UsageError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False
    return True


@config.command("edit")
def edit() -> None:
    """Open the config file in $EDITOR, then check it.

    A file that no longer parses (or holds a bad value) is reported with its line and
    left as you wrote it, with the previous version kept beside it as config.toml.previous.
    Comments survive (unlike `config set`, which rewrites the file).
    """
    import os
    import sys

    from supportctl.config import config_path
    from supportctl.fsutil import atomic_write

    path = config_path()
    if not (os.environ.get("VISUAL") or os.environ.get("EDITOR")) and not sys.stdin.isatty():
        raise UsageError(
            "config edit needs $EDITOR (or a terminal for the default editor)",
            hint=f"set EDITOR, or edit {path} and check it with `supportctl config list`",
        )
    try:
        previous = path.read_bytes() if path.exists() else None
        if previous is None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(path, b"")
            os.chmod(path, 0o600)
    except OSError as exc:
        raise UsageError(f"cannot open config file {path}: {exc.strerror}") from None
    click.edit(filename=str(path))
    try:
        ConfigFile.load(path)
    except UsageError as exc:
        kept = ""
        if previous is not None and _parses(path, previous):
            backup = path.with_name(path.name + ".previous")
            atomic_write(backup, previous)
            os.chmod(backup, 0o600)
            kept = f"; the previous version is kept as {backup}"
        raise UsageError(
            f"{exc.message}{kept}", hint="fix it with `supportctl config edit`"
        ) from None
    click.echo(f"checked {path}: it is valid", err=True)
