"""The console script: `supportctl --version` answers before click is even imported, and a
finished command leaves without tearing the interpreter down."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from supportctl import __version__

        sys.stdout.write(f"supportctl {__version__}\n")
        return
    from supportctl.cli import main as cli_main

    try:
        cli_main()
    except SystemExit as exc:
        leave(exc.code)
        raise


def leave(code: object) -> None:
    """End the process now, as ``sys.exit(code)`` would, minus the interpreter's teardown.

    Freeing every module and object at exit costs a command tens of milliseconds (~70 ms
    once requests and the rt backend are loaded) and does nothing a finished command needs.
    Everything that does matter runs first: the ``atexit`` handlers, then both standard
    streams are flushed. When another non-daemon thread is still running, the normal exit
    (which waits for it) is left to happen: this returns and the caller re-raises."""
    import atexit
    import contextlib
    import os
    import threading

    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        return
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # what Python's own exit does when stdout cannot be flushed
        status = status or 120
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status & 0xFF)
