"""The click command tree: parse → call the service → render → exit code. Nothing else.

Every error becomes one line ``supportctl: error: …`` on stderr (plus a hint line where
one helps) and the exit code of SPEC §8, decided in ``supportctl.errors``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from typing import Any

import click

from supportctl import __version__
from supportctl.cli.context import AppContext
from supportctl.errors import ExitStatus, SupportctlError

_verbose = False


def _fail(message: str, hint: str | None, code: int) -> int:
    from supportctl.render import error_text

    click.echo(error_text(message, hint), err=True)
    return code


class _PipeClosed(Exception):
    """stdout's reader went away; raised past click, which would exit 1."""


def _quiet_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


#: The command groups, imported when first used: a command pays only for its own module.
LAZY_COMMANDS = {
    "tickets": ("supportctl.cli.tickets", "tickets"),
    "escalations": ("supportctl.cli.escalations", "escalations"),
    "proxy-access": ("supportctl.cli.proxy", "proxy_access"),
    "org": ("supportctl.cli.org", "org"),
    "me": ("supportctl.cli.me", "me"),
    "report": ("supportctl.cli.report", "report"),
    "triggers": ("supportctl.cli.triggers", "triggers"),
    "views": ("supportctl.cli.views", "views"),
    "store": ("supportctl.cli.store", "store"),
    "config": ("supportctl.cli.config", "config"),
    "templates": ("supportctl.cli.templates", "templates_group"),
    "serve": ("supportctl.cli.serve", "serve"),
    "completion": ("supportctl.cli.completion", "completion"),
}


class RootGroup(click.Group):
    """Runs the tree and maps every failure to a message and an exit code.

    Its commands are loaded on demand (``get_command``); reading ``.commands`` (help
    generators, tests that walk the tree) loads them all."""

    @property
    def commands(self) -> dict[str, click.Command]:  # type: ignore[override]
        for name in LAZY_COMMANDS:
            self._load(name)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def _load(self, name: str) -> click.Command | None:
        if name not in self._commands and name in LAZY_COMMANDS:
            from importlib import import_module

            module, attribute = LAZY_COMMANDS[name]
            command = getattr(import_module(module), attribute)
            _wire_completions(command)
            _document_exit_codes(command)
            self._commands[name] = command
        return self._commands.get(name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._commands, *LAZY_COMMANDS})

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _PipeClosed() from exc

    def main(self, args: Any = None, prog_name: Any = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
            args = hoist_global_options(self, sys.argv[1:] if args is None else list(args))
            rv = super().main(
                args=args, prog_name=prog_name or "supportctl", standalone_mode=False, **extra
            )
            code = rv if isinstance(rv, int) else 0
            sys.stdout.flush()
        except (_PipeClosed, BrokenPipeError):
            # The reader went away (`| head`): stop quietly with 0, as the README says.
            _quiet_stdout()
            code = 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            code = ExitStatus.USAGE
        except click.ClickException as exc:
            hint = None
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                hint = f"see `{ctx.command_path} --help`"
            code = _fail(exc.format_message(), hint, ExitStatus.USAGE)
        except click.exceptions.Abort:
            code = _fail("aborted", None, 130)
        except SupportctlError as exc:
            code = _fail(exc.message, exc.hint, exc.exit_status)
        except KeyboardInterrupt:
            code = _fail("interrupted", None, 130)
        except Exception as exc:  # a bug: say so
            if _verbose:
                import traceback

                traceback.print_exc()
            code = _fail(
                f"unexpected failure (this is a bug): {type(exc).__name__}: {exc}",
                None if _verbose else "run again with -v to see the traceback",
                ExitStatus.UNEXPECTED,
            )
        sys.exit(int(code))


#: The root's options that may also follow the subcommand (SPEC §15), as `gh` and
#: `kubectl` take their persistent flags: with a value, and flags.
GLOBAL_VALUE_OPTIONS = frozenset({"--profile", "--backend", "--store", "--url", "--user"})


def hoist_global_options(root: click.Group, args: list[str]) -> list[str]:
    """Move global options given after the subcommand (or between a group and its command)
    in front of it, after those given before it, so the later one wins. A command's own
    option of the same name (`serve --store`, `config set --profile`) stays its own; a
    value-taking global option at the very end is a usage error; nothing after `--`
    moves."""
    start = _root_options_end(args)
    command: click.Command = root
    own: dict[str, bool] = {}  # the current command's options: name -> takes a value
    kept, moved = args[:start], []
    i = start
    while i < len(args):
        token = args[i]
        name = token.split("=", 1)[0]
        takes_value = "=" not in token
        if token == "--":
            kept += args[i:]
            break
        if name in own:
            step = 1 + (own[name] and takes_value)
            kept += args[i : i + step]
        elif name in GLOBAL_VALUE_OPTIONS:
            step = 1 + takes_value
            if i + step > len(args):
                raise click.UsageError(f"Option '{name}' requires an argument.")
            moved += args[i : i + step]
        elif _GLOBAL_FLAG(token):
            step = 1
            moved.append(token)
        else:
            step = 1
            kept.append(token)
            sub = None
            if isinstance(command, click.Group) and not token.startswith("-"):
                sub = command.get_command(None, token)  # type: ignore[arg-type]
            if sub is not None:
                command = sub
                own = {
                    opt: not (p.is_flag or p.count)
                    for p in sub.params
                    if isinstance(p, click.Option)
                    for opt in p.opts
                }
        i += step
    return kept[:start] + moved + kept[start:]


_GLOBAL_FLAG = re.compile(r"--no-color|--verbose|-v+").fullmatch


def _root_options_end(args: list[str]) -> int:
    """Where the root's own options end (the index of the subcommand's name)."""
    i = 0
    while i < len(args):
        token = args[i]
        if token.split("=", 1)[0] in GLOBAL_VALUE_OPTIONS and "=" not in token:
            i += 2
        elif token.startswith("-") and token != "-" and token != "--":
            i += 1
        else:
            return i
    return i


@click.group("supportctl", cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="SUPPORTCTL_PROFILE", help="Config profile to use.")
@click.option(
    "--backend",
    envvar="SUPPORTCTL_BACKEND",
    help="Backend by name (json: the local store; postgres: a store in PostgreSQL).",
)
@click.option(
    "--store",
    envvar="SUPPORTCTL_STORE",
    metavar="DIR|URL",
    help="The local store: a json store directory (default: $XDG_DATA_HOME/supportctl) "
    "or a postgresql:// URL.",
)
@click.option("--url", envvar="SUPPORTCTL_URL", help="Base URL of the REST API.")
@click.option(
    "--user", envvar="SUPPORTCTL_USER", metavar="NAME", help="Act as this user (json backend)."
)
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR).")
@click.option("-v", "--verbose", is_flag=True, help="Diagnostics on stderr; tracebacks on bugs.")
@click.version_option(
    __version__, "--version", prog_name="supportctl", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(
    ctx: click.Context,
    profile: str | None,
    backend: str | None,
    store: str | None,
    url: str | None,
    user: str | None,
    no_color: bool,
    verbose: bool,
) -> None:
    """Support tickets from the shell: list, show, triage and sweep.

    Works on a local JSON store (the default) or a remote REST API. Every command
    prints data on stdout and messages on stderr, never prompts without a terminal,
    and exits 0 ok, 2 usage, 3 not found, 4 permission, 5 conflict, 6 unavailable.
    The options below may also follow the subcommand (the later one wins).
    """
    global _verbose
    _verbose = verbose
    time.tzset()  # table times are local: honour TZ as the environment has it now
    ctx.obj = AppContext(
        profile=profile,
        backend_name=backend,
        store=store,
        url=url,
        user=user,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        verbose=verbose,
    )


EXIT_CODES = (
    "Exit codes: 0 ok (also nothing to do) · 1 bug · 2 usage or invalid input · 3 not found · "
    "4 permission · 5 conflict · 6 backend unavailable."
)


def _walk(group: click.Command) -> Any:
    for command in getattr(group, "commands", {}).values():
        yield command
        if isinstance(command, click.Group):
            yield from _walk(command)


def _document_exit_codes(top: click.Command) -> None:
    """Every command's help ends with the exit codes of SPEC §8."""
    for command in [top, *_walk(top)]:
        if not isinstance(command, click.Group) or command.invoke_without_command:
            command.epilog = EXIT_CODES  # a group that runs by itself (`me`) too


#: Dynamic completion by parameter name: ticket and escalation IDs, profiles, columns
#: (functions of `supportctl.cli.completion`, imported only when a shell asks).
COMPLETERS = {
    "ticket_id": "complete_ticket_ids",
    "ids": "complete_ticket_ids",
    "into": "complete_ticket_ids",  # tickets merge --into
    "escalation_id": "complete_escalation_ids",
    "profile": "complete_profiles",
    "local_profile": "complete_profiles",
    "columns": "complete_columns",
    "view_name": "complete_views",
}


def _completer(function: str) -> Any:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
        from supportctl.cli import completion

        return getattr(completion, function)(ctx, param, incomplete)

    return complete


def _wire_completions(top: click.Command, *, deep: bool = True) -> None:
    for command in [top, *_walk(top)] if deep else [top]:
        for param in command.params:
            if param.name in COMPLETERS:
                param._custom_shell_complete = _completer(COMPLETERS[param.name])


cli.epilog = EXIT_CODES
_wire_completions(cli, deep=False)  # the root's own options; each group when it is loaded


def main() -> None:
    cli.main(prog_name="supportctl")
