"""Reply templates and banned words (SPEC §13, seed 001): data, never code.

A template is ``NAME.md`` in the templates directory: optional TOML front matter between
``+++`` lines (``description``, ``subject``, ``internal`` and the actions ``status``,
``priority``, ``assignee``, ``group``, ``add_tags``, ``remove_tags``), then the Markdown body.
``{{ name }}`` is replaced by a value from a fixed list (``ticket.id``, ``requester.email``…)
or a ``--var``; nothing else is looked up or evaluated, so ``{{ ticket.__class__ }}`` is an
unknown placeholder like any other (exit 2).

Banned words are checked in every customer-visible body, NFKC-normalised and case-folded,
as whole words (a word inside a longer word is not a match).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportctl.api import TicketChanges, validate_changes
from supportctl.errors import NotFound, UsageError

#: The placeholders of SPEC §13, besides ``--var`` names.
PLACEHOLDERS = (
    "ticket.id",
    "ticket.subject",
    "ticket.priority",
    "ticket.status",
    "requester.name",
    "requester.username",
    "requester.email",
    "org.name",
    "me.name",
    "me.username",
    "me.email",
    "assignee.name",
)
#: Placeholders whose value needs the ticket (the others are known before it is read).
NEEDS_TICKET = frozenset(p for p in PLACEHOLDERS if not p.startswith("me."))
FRONT_MATTER_KEYS = (
    "description",
    "subject",
    "internal",
    "status",
    "priority",
    "assignee",
    "group",
    "add_tags",
    "remove_tags",
)
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_FENCE = "+++"


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    body: str
    description: str = ""
    subject: str | None = None
    internal: bool = False
    actions: TicketChanges = field(default_factory=TicketChanges)

    @property
    def placeholders(self) -> list[str]:
        """Every placeholder in the subject and body, in order, once each."""
        return list(dict.fromkeys(names(self.subject or "") + names(self.body)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "subject": self.subject,
            "internal": self.internal,
            "actions": describe_actions(self.actions),
            "placeholders": self.placeholders,
            "path": str(self.path),
        }


def describe_actions(changes: TicketChanges) -> dict[str, Any]:
    """The actions as the front matter spells them (unset ones left out)."""
    out: dict[str, Any] = {}
    for key in ("status", "priority", "assignee", "group"):
        value = getattr(changes, key)
        if value is not None:
            out[key] = value
    if changes.add_tags:
        out["add_tags"] = list(changes.add_tags)
    if changes.remove_tags:
        out["remove_tags"] = list(changes.remove_tags)
    return out


def actions_text(changes: TicketChanges) -> str:
    """The actions in one line, e.g. ``status pending, add_tags a, b``."""
    return ", ".join(
        f"{key} {', '.join(value) if isinstance(value, list) else value}"
        for key, value in describe_actions(changes).items()
    )


# -- files ------------------------------------------------------------------------------------
def load_all(directory: Path) -> list[Template]:
    """Every template of the directory, by name; a damaged one is an error naming it."""
    if not directory.is_dir():
        return []
    return [
        parse(path)
        for path in sorted(directory.glob("*.md"))
        if path.is_file() and _TEMPLATE_NAME.fullmatch(path.stem)
    ]


def load(directory: Path, name: str) -> Template:
    if not _TEMPLATE_NAME.fullmatch(name):
        raise UsageError(f"invalid template name {name!r}: letters, digits, '_', '-' or '.'")
    path = directory / f"{name}.md"
    if not path.is_file():
        have = (
            [
                p.stem
                for p in sorted(directory.glob("*.md"))
                if p.is_file() and _TEMPLATE_NAME.fullmatch(p.stem)
            ]
            if directory.is_dir()
            else []
        )
        listing = f"templates there: {', '.join(have)}" if have else "there are none"
        raise NotFound(
            f"no template {name!r} in {directory}; {listing}",
            hint="`supportctl templates list` shows them; `templates path` says where they go",
        )
    return parse(path)


def parse(path: Path) -> Template:
    where = f"template {path}"
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{where} is not valid UTF-8") from None
    meta: dict[str, Any] = {}
    body = text.removeprefix("\ufeff").replace("\r\n", "\n")
    lines = body.splitlines(keepends=True)
    if lines and lines[0].strip() == _FENCE:
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == _FENCE), None)
        if end is None:
            raise UsageError(f"{where}: front matter opened with +++ is never closed")
        try:
            meta = tomllib.loads("".join(lines[1:end]))
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{where}: front matter is not valid TOML: {exc}") from None
        body = "".join(lines[end + 1 :])
    unknown = sorted(set(meta) - set(FRONT_MATTER_KEYS))
    if unknown:
        raise UsageError(
            f"{where}: unknown front matter key(s) {', '.join(unknown)}; "
            f"valid: {', '.join(FRONT_MATTER_KEYS)}"
        )
    for key in ("description", "subject", "status", "priority", "assignee", "group"):
        if key in meta and not isinstance(meta[key], str):
            raise UsageError(f"{where}: {key!r} must be a string")
    for key in ("add_tags", "remove_tags"):
        value = meta.get(key, [])
        if isinstance(value, str):
            meta[key] = [value]
        elif not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
            raise UsageError(f"{where}: {key!r} must be a list of tags")
    if not isinstance(meta.get("internal", False), bool):
        raise UsageError(f"{where}: 'internal' must be true or false")
    actions = TicketChanges(
        status=meta.get("status"),
        priority=meta.get("priority"),
        assignee=meta.get("assignee"),
        group=meta.get("group"),
        add_tags=tuple(meta.get("add_tags", ())),
        remove_tags=tuple(meta.get("remove_tags", ())),
    )
    if not actions.empty:
        try:
            validate_changes(actions)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from None
    template = Template(
        name=path.stem,
        path=path,
        body=body.strip("\n"),
        description=meta.get("description", ""),
        subject=meta.get("subject"),
        internal=meta.get("internal", False),
        actions=actions,
    )
    for name in template.placeholders:
        if not (name in PLACEHOLDERS or _VAR_NAME.fullmatch(name)):
            raise UsageError(
                f"{where}: unknown placeholder {{{{ {name} }}}}; known: "
                f"{', '.join(PLACEHOLDERS)}, or a --var NAME",
            )
    return template


def write_examples(directory: Path, examples: Mapping[str, str]) -> list[Path]:
    """Write ``examples`` as NAME.md into ``directory`` when it holds no template yet (a
    team's own templates are never touched); the paths written."""
    from supportctl.fsutil import atomic_write

    if directory.is_dir() and any(directory.glob("*.md")):
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in examples.items():
        path = directory / f"{name}.md"
        atomic_write(path, text.encode("utf-8"))
        written.append(path)
    return written


# -- placeholders -----------------------------------------------------------------------------
def names(text: str) -> list[str]:
    return [m.group(1).strip() for m in _PLACEHOLDER.finditer(text)]


def parse_vars(pairs: Iterable[str]) -> dict[str, str]:
    """``--var KEY=VALUE`` pairs; a key is a plain name (it never shadows ``ticket.id``)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _VAR_NAME.fullmatch(key):
            raise UsageError(f"invalid --var {pair!r}: use NAME=VALUE (NAME: letters, digits, _)")
        out[key] = value
    return out


def check_known(template: Template, variables: Mapping[str, str]) -> None:
    """Every placeholder is a known one or a given --var (before any ticket is read)."""
    missing = [n for n in template.placeholders if n not in PLACEHOLDERS and n not in variables]
    if missing:
        raise UsageError(
            f"template {template.name}: no value for {', '.join('{{ ' + n + ' }}' for n in missing)}",
            hint="give it with --var NAME=VALUE",
        )


def needs_ticket(template: Template) -> bool:
    return any(n in NEEDS_TICKET for n in template.placeholders)


def render(text: str, values: Mapping[str, str | None], what: str) -> str:
    """``text`` with every placeholder replaced; one without a value is an error naming it
    and ``what`` it was rendered for (e.g. "ticket 1150")."""
    empty = [n for n in dict.fromkeys(names(text)) if values.get(n) in (None, "")]
    if empty:
        raise UsageError(
            f"{what}: no value for {', '.join('{{ ' + n + ' }}' for n in empty)}; nothing written"
        )
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1).strip()]), text)


# -- banned words -----------------------------------------------------------------------------
def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class Banned:
    word: str
    line: int


def _patterns(words: Iterable[str]) -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for word in dict.fromkeys(w for w in words if w.strip()):
        parts = [re.escape(p) for p in _fold(word).split()]
        out.append((word, re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)")))
    return out


def find_banned(body: str, words: Iterable[str]) -> list[Banned]:
    """Each banned word or phrase found in ``body``, with its line (1-based): NFKC and
    case-insensitive (``ＢＡＤ`` is ``bad``), whole words only (``badge`` is not ``bad``)."""
    folded = _fold(body)  # newlines survive folding: line numbers count them in the folded text
    found = []
    for word, pattern in _patterns(words):
        for match in pattern.finditer(folded):
            found.append(Banned(word, folded.count("\n", 0, match.start()) + 1))
    return sorted(set(found), key=lambda b: (b.line, b.word))


def mark_banned(body: str, words: Iterable[str]) -> str:
    """The body with each banned word shown as ``[!word!]`` (for --preview)."""
    patterns = _patterns(words)
    out = []
    for line in body.split("\n"):
        folded = _fold(line)
        spans = sorted({m.span() for _, p in patterns for m in p.finditer(folded)}, reverse=True)
        if spans and len(folded) == len(line):  # one character each way: mark in place
            for start, end in spans:
                line = f"{line[:start]}[!{line[start:end]}!]{line[end:]}"
        elif spans:  # folding changed the length: say which, after the line
            hits = [word for word, p in patterns if p.search(folded)]
            line += f"  [!{', '.join(hits)}!]"
        out.append(line)
    return "\n".join(out)


def banned_error(found: list[Banned], what: str) -> UsageError:
    listing = ", ".join(f"{b.word!r} (line {b.line})" for b in found)
    return UsageError(
        f"{what} contains banned words: {listing}; nothing written",
        hint="reword it, check with --preview, or send it anyway with --allow-banned",
    )
