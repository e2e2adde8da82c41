"""What commands read from the user: bodies, attachment files, IDs from stdin (SPEC §4)."""

from __future__ import annotations

import csv
import io
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
    """`ID…` or `-`: one ID per stdin line, its first field (whitespace- or comma-separated); blank
    lines and `#` lines are skipped. Output of `-o csv` / `-o tsv` (a first line that is a
    header with an `id` column, such as `id,subject`) is read as CSV / TSV whole, quoted
    fields and embedded newlines included, and its `id` column taken."""
    if not ids:
        raise UsageError("give one or more ticket IDs, or - to read them from standard input")
    if "-" not in ids:
        return list(dict.fromkeys(ids))
    if ids != ("-",):
        raise UsageError("- (IDs from standard input) cannot be mixed with IDs")
    lines = sys.stdin.read().removeprefix("\ufeff").splitlines(keepends=True)
    content = [
        i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")
    ]
    if not content:
        return []
    first = lines[content[0]]
    delimiter = "\t" if "\t" in first else "," if "," in first else None
    if delimiter and "id" in (f.strip().strip('"').lower() for f in first.split(delimiter)):
        return _table_ids("".join(lines[content[0] :]), delimiter)
    out = [lines[i].split()[0].split(",")[0] for i in content]
    if out and out[0] in ("id", "ID"):  # a one-column header
        out = out[1:]
    return list(dict.fromkeys(out))


def _table_ids(text: str, delimiter: str) -> list[str]:
    """The `id` column of CSV (quoted fields, embedded newlines) or TSV (no quoting)."""
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting))
    except csv.Error as exc:
        raise UsageError(f"standard input is not valid CSV: {exc}") from None
    column = [name.strip().lower() for name in rows[0]].index("id")
    out = [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]
    return list(dict.fromkeys(i for i in out if not i.startswith("#")))
