"""The console script: `supportctl --version` answers before click is even imported."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from supportctl import __version__

        sys.stdout.write(f"supportctl {__version__}\n")
        return
    from supportctl.cli import main as cli_main

    cli_main()
