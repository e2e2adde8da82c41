"""`docs/cli.md`, generated from the command tree's `--help` (a test keeps it current).

Regenerate with ``python -m supportctl.cli.docs > docs/cli.md``.
"""

from __future__ import annotations

import click

WIDTH = 100


def _help(
    command: click.Command, path: list[str], parent: click.Context | None
) -> tuple[str, click.Context]:
    settings = dict(command.context_settings)
    settings.setdefault("help_option_names", ["-h", "--help"])
    settings.update(terminal_width=WIDTH, max_content_width=WIDTH)
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    return command.get_help(ctx), ctx


def render_markdown() -> str:
    from supportctl.cli import cli

    out = [
        "# supportctl command reference",
        "",
        "Generated from `--help` by `python -m supportctl.cli.docs > docs/cli.md`; "
        "`tests/test_contract.py` fails when it is stale.",
        "",
    ]

    def visit(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        text, ctx = _help(command, path, parent)
        out.extend([f"## `{' '.join(path)}`", "", "```text", text.rstrip(), "```", ""])
        if isinstance(command, click.Group):
            for name in sorted(command.commands):
                sub = command.commands[name]
                if name != sub.name:  # an alias (tickets ls): named once, under its own name
                    out.extend(
                        [
                            f"`{' '.join([*path, name])}` is an alias of `{' '.join([*path, sub.name or ''])}`.",
                            "",
                        ]
                    )
                    continue
                visit(sub, [*path, name], ctx)

    visit(cli, ["supportctl"], None)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(render_markdown(), nl=False)
