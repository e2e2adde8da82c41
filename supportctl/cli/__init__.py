"""The click command tree: parse → call the service → render → exit code. Nothing else.

Every error becomes one line ``supportctl: error: …`` on stderr (plus a hint line where
one helps) and the exit code of SPEC §8, decided in ``supportctl.errors``.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any

import click

from supportctl import __version__
from supportctl.cli.context import AppContext
from supportctl.errors import ExitStatus, SupportctlError

_verbose = False


def _fail(message: str, hint: str | None, code: int) -> int:
    from supportctl.render import printable

    click.echo(f"supportctl: error: {printable(message)}", err=True)
    if hint:
        click.echo(f"hint: {printable(hint)}", err=True)
    return code


class _PipeClosed(Exception):
    """stdout's reader went away; raised past click, which would exit 1."""


def _quiet_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class RootGroup(click.Group):
    """Runs the tree and maps every failure to a message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise _PipeClosed() from exc

    def main(self, args: Any = None, prog_name: Any = None, **extra: Any) -> Any:  # type: ignore[override]
        extra.pop("standalone_mode", None)
        try:
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
                traceback.print_exc()
            code = _fail(
                f"unexpected failure (this is a bug): {type(exc).__name__}: {exc}",
                None if _verbose else "run again with -v to see the traceback",
                ExitStatus.UNEXPECTED,
            )
        sys.exit(int(code))


@click.group("supportctl", cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="SUPPORTCTL_PROFILE", help="Config profile to use.")
@click.option(
    "--backend",
    envvar="SUPPORTCTL_BACKEND",
    help="Backend by name (json: the local store).",
)
@click.option(
    "--store",
    envvar="SUPPORTCTL_STORE",
    metavar="PATH",
    help="Directory of the json store (default: $XDG_DATA_HOME/supportctl).",
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


def _register() -> None:
    from supportctl.cli import completion, escalations, org, proxy, report, serve, store, tickets
    from supportctl.cli import config as config_cmd

    cli.add_command(tickets.tickets)
    cli.add_command(escalations.escalations)
    cli.add_command(proxy.proxy_access)
    cli.add_command(org.org)
    cli.add_command(report.report)
    cli.add_command(store.store)
    cli.add_command(config_cmd.config)
    cli.add_command(serve.serve)
    cli.add_command(completion.completion)
    _wire_completions(cli)
    _document_exit_codes(cli)


EXIT_CODES = (
    "Exit codes: 0 ok (also nothing to do) · 1 bug · 2 usage or invalid input · 3 not found · "
    "4 permission · 5 conflict · 6 backend unavailable."
)


def _walk(group: click.Group) -> Any:
    for command in group.commands.values():
        yield command
        if isinstance(command, click.Group):
            yield from _walk(command)


def _document_exit_codes(root: click.Group) -> None:
    """Every command's help ends with the exit codes of SPEC §8."""
    root.epilog = EXIT_CODES
    for command in _walk(root):
        if not isinstance(command, click.Group):
            command.epilog = EXIT_CODES


def _wire_completions(root: click.Group) -> None:
    """Dynamic completion by parameter name: ticket and escalation IDs, profiles, columns."""
    from supportctl.cli import completion

    by_name = {
        "ticket_id": completion.complete_ticket_ids,
        "ids": completion.complete_ticket_ids,
        "escalation_id": completion.complete_escalation_ids,
        "profile": completion.complete_profiles,
        "local_profile": completion.complete_profiles,
        "columns": completion.complete_columns,
    }
    for command in [root, *_walk(root)]:
        for param in command.params:
            if param.name in by_name:
                param._custom_shell_complete = by_name[param.name]


_register()


def main() -> None:
    cli.main(prog_name="supportctl")
