"""`supportctl completion bash|zsh|fish` and the dynamic completions it offers.

Completions never fail loudly: a missing store or config just offers nothing.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem

from supportctl.models import id_sort_key

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_SUPPORTCTL_COMPLETE"


def _service(ctx: click.Context) -> Any:
    """The configured user's service on a local backend (no network on a TAB), else None."""
    from supportctl import backends
    from supportctl.config import Settings

    root = ctx.find_root().params
    settings = Settings.resolve(
        profile=root.get("profile"),
        backend=root.get("backend"),
        store=root.get("store"),
        url=root.get("url"),
        user=root.get("user"),
    )
    if not backends.get_backend(settings.backend).local:
        return None
    return backends.open_service(settings)


def complete_ticket_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The ids of the tickets the configured user may see, newest first."""
    try:
        service = _service(ctx)
        if service is None:
            return []
        ids = sorted(
            (i for i in service.visible_ticket_ids() if i.startswith(incomplete)),
            key=id_sort_key,
            reverse=True,
        )
        return [CompletionItem(i) for i in ids[:200]]
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


def complete_escalation_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """The escalations of the tickets the configured user may see."""
    try:
        service = _service(ctx)
        if service is None or service.actor.fedramp:
            return []
        found = service.list_escalations(scope="mine" if service.actor.role == "user" else "org")
        ids = sorted((e.id for e in found if e.id.startswith(incomplete)), key=id_sort_key)
        return [CompletionItem(i) for i in ids]
    except Exception:  # noqa: BLE001
        return []


def complete_profiles(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    try:
        from supportctl.config import ConfigFile

        names = ConfigFile.load().data.get("profiles", {})
        return [CompletionItem(n) for n in sorted(names) if n.startswith(incomplete)]
    except Exception:  # noqa: BLE001
        return []


def complete_columns(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """`--columns id,sub<TAB>`: complete the last comma-separated name."""
    from supportctl.render import TICKET_COLUMNS

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    taken = set(done.split(","))
    return [
        CompletionItem(prefix + c) for c in TICKET_COLUMNS if c.startswith(last) and c not in taken
    ]


def complete_views(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """`tickets list --view <TAB>`: the built-in views, then the config's saved ones."""
    try:
        from supportctl.config import ConfigFile
        from supportctl.views import all_views

        found = all_views(ConfigFile.load().views())
        return [
            CompletionItem(name, help=view.description or None)
            for name, view in found.items()
            if name.startswith(incomplete)
        ]
    except Exception:  # noqa: BLE001
        return []


def completion_source(cli: click.Command, shell: str) -> str:
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - SHELLS are click's own
        raise click.BadParameter(shell)
    return cls(cli, {}, "supportctl", COMPLETE_VAR).source()


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    It completes commands, options, statuses, ticket and escalation IDs from your store,
    profiles, view names and column names.

    \b
    Examples:
      supportctl completion bash > ~/.local/share/bash-completion/completions/supportctl
      supportctl completion zsh > "${fpath[1]}/_supportctl"
      supportctl completion fish > ~/.config/fish/completions/supportctl.fish
    """
    click.echo(completion_source(ctx.find_root().command, shell))
