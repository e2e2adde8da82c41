"""What every command gets: resolved settings, the service (or the store), TTY and colour."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from supportctl.api import TicketService
    from supportctl.config import Settings
    from supportctl.storage.base import Storage


@dataclass
class AppContext:
    profile: str | None = None
    backend_name: str | None = None
    store: str | None = None
    url: str | None = None
    user: str | None = None
    no_color: bool = False
    verbose: bool = False
    #: A progress bar is drawn on stderr: a note first clears its line.
    progress_shown: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _service: TicketService | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            from supportctl.config import Settings

            self._settings = Settings.resolve(
                profile=self.profile,
                backend=self.backend_name,
                store=self.store,
                url=self.url,
                user=self.user,
            )
            self._settings.config.warn_if_exposed()
            self.debug(f"profile {self._settings.profile}, backend {self._settings.backend}")
        return self._settings

    def service(self, command: str | None = None) -> TicketService:
        """The configured backend's service; a command it cannot serve exits 2 first
        (``command`` is the command path, e.g. ``"tickets close"``)."""
        from supportctl import backends

        settings = self.settings()
        if command is not None:
            backends.get_backend(settings.backend).check(command)
        if self._service is None:
            from supportctl.sla import SlaPolicy

            settings.verbose = self.verbose
            policy = SlaPolicy.from_config(
                settings.config.data, f"config file {settings.config.path}"
            )
            self._service = backends.open_service(
                settings, sla_policy=policy, triggers=settings.config.triggers()
            )
            self._service.watch_identity(self.warn)
        return self._service

    def serves(self, command: str) -> bool:
        """Whether the configured backend serves ``command`` (e.g. "org view")."""
        from supportctl import backends

        return command in backends.get_backend(self.settings().backend).commands

    def storage_class(self, command: str) -> type[Storage]:
        """The local backend's storage class for `store …` (exit 2 on other backends)."""
        from supportctl import backends

        return backends.storage_class(self.settings(), command)

    def storage(self, command: str) -> Storage:
        """The configured local store, which must exist (exit 2 on other backends)."""
        return self.storage_class(command).open(self.settings())

    # -- output -------------------------------------------------------------------------------
    @property
    def stdout_tty(self) -> bool:
        return sys.stdout.isatty()

    @property
    def stderr_tty(self) -> bool:
        return sys.stderr.isatty()

    def _clear_progress(self) -> None:
        if self.progress_shown:
            click.echo("\r\x1b[K", nl=False, err=True)

    @property
    def color(self) -> bool | None:
        """False forces plain text; None lets click decide (colour on a TTY only)."""
        return False if self.no_color else None

    def out(self, text: str) -> None:
        """Data on stdout (already newline-terminated), exactly as given: never stripped."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A message for people, on stderr; control characters from input or stored data
        are made visible, never sent to the terminal."""
        from supportctl.render import printable

        self._clear_progress()
        click.echo(printable(text, multiline=True), err=True, color=self.color)

    def warn(self, text: str) -> None:
        self.note(f"supportctl: warning: {text}")

    def error(self, message: str, hint: str | None = None) -> None:
        """An error that does not end the command (bulk, sweeps): SPEC §8's line on stderr."""
        from supportctl.render import error_text

        self._clear_progress()
        click.echo(error_text(message, hint), err=True, color=self.color)

    def debug(self, text: str) -> None:
        if self.verbose:
            click.echo(f"supportctl: {text}", err=True)

    @property
    def use_color(self) -> bool:
        """SPEC §1: no colour when stdout or stdin is not a TTY, or with --no-color/NO_COLOR."""
        return not self.no_color and self.stdout_tty and sys.stdin.isatty()

    def style(self, text: str, **styles: Any) -> str:
        return click.style(text, **styles) if self.use_color else text


pass_app = click.make_pass_decorator(AppContext)
