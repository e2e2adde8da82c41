"""What commands read from the user: bodies, attachment files, IDs from stdin (SPEC §4)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from supportctl.errors import UsageError


def read_body(message: str | None, body_file: str | None, *, required: bool = True) -> str:
    """`-m`, else `--body-file FILE|-`, else stdin when it is not a TTY, else $EDITOR."""
    if message is not None and body_file is not None:
        raise UsageError("give the body with -m or --body-file, not both")
    if message is not None:
        return message
    if body_file is not None:
        if body_file == "-":
            return _decode(sys.stdin.buffer.read(), "standard input")
        try:
            return _decode(Path(body_file).read_bytes(), body_file)
        except OSError as exc:
            raise UsageError(f"cannot read {body_file}: {exc.strerror}") from None
    if not sys.stdin.isatty():
        return _decode(sys.stdin.buffer.read(), "standard input")
    if not required:
        return ""
    text = click.edit("\n# Write the message above. Lines starting with # are dropped.\n")
    if text is None:
        return ""
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip("\n")


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"the body from {source} is not valid UTF-8; nothing written") from None


def read_attachments(paths: tuple[str, ...]) -> list[tuple[str, bytes]]:
    """Check every file (SPEC §3) before reading any; one error names every bad file."""
    from supportctl.api import check_attachments

    candidates: list[tuple[str, int | None]] = []
    for path in paths:
        try:
            info = os.stat(path)
            size = info.st_size if Path(path).is_file() else None
        except OSError:
            size = None
        candidates.append((path if size is None else os.path.basename(path), size))
    check_attachments(candidates)
    files = []
    for path in paths:
        try:
            files.append((os.path.basename(path), Path(path).read_bytes()))
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}; nothing written") from None
    return files


def read_ids(ids: tuple[str, ...]) -> list[str]:
    """`ID…` or `-`: one ID per stdin line, its first field (whitespace- or, for CSV,
    comma-separated); blank lines, `#` lines and a header line (`id`/`ID`) are skipped."""
    if not ids:
        raise UsageError("give one or more ticket IDs, or - to read them from standard input")
    if "-" not in ids:
        return list(dict.fromkeys(ids))
    if ids != ("-",):
        raise UsageError("- (IDs from standard input) cannot be mixed with IDs")
    out: list[str] = []
    first = True
    for line in sys.stdin:
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        field = fields[0].split(",")[0]
        if first and field in ("id", "ID"):  # the header of `-o tsv` / `-o csv`
            first = False
            continue
        first = False
        out.append(field)
    return list(dict.fromkeys(out))
