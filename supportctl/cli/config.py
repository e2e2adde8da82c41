"""`supportctl config …`: get, set, unset, list, path, use (SPEC §6, §9)."""

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
    """Set KEY of the active profile (or --profile NAME, created if new)."""
    config_file = ConfigFile.load()
    name = _profile(app, config_file, local_profile)
    config_file.set(name, key, check_value(key, value))
    config_file.save()
    click.echo(f"set {key} = {_shown(key, value)} in profile {name!r}", err=True)


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
    """Make NAME the default profile."""
    config_file = ConfigFile.load()
    config_file.use(name)
    config_file.save()
    if name not in config_file.data.get("profiles", {}):
        click.echo(f"note: profile {name!r} has no settings yet", err=True)
    click.echo(f"default profile is now {name!r}", err=True)
