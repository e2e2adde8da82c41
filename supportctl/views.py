"""Triage views (SPEC §16; seed 001's ticket menus): named sets of `tickets list` flags.

Built-in views are the menus an operator lives in (unassigned, my group's, mine by state,
the spam box); saved views are the ``[views.NAME]`` tables of the config file, holding any
`tickets list` flag as a TOML key.  A view is applied by the command tree: ``combine`` merges
its flags with those given on the command line, and the list then runs as without a view,
so every backend serves views (the REST API only ever sees plain filters).

How a flag given with a view combines with the view's value for the same key:

- filters narrow: a repeatable any-of filter (``status``, ``type``, ``category``,
  ``priority``, ``resolution``, ``group``) keeps the values in both; ``tag`` (all of) takes
  both; ``since``/``until``/``idle`` keep the narrower bound; a single-valued filter
  (``org``, ``assignee``, ``requester``, ``search``, ``sla``) must agree.  A combination
  that could only select nothing is a usage error (exit 2) naming the flag and the view's
  value, rather than an empty list;
- ``scope`` and the presentation flags (``sort``, ``asc``, ``limit``, ``columns``,
  ``output``) replace the view's value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supportctl.api import MY_GROUPS, SCOPES, SORT_KEYS, config_strings
from supportctl.errors import UsageError
from supportctl.models import CATEGORIES, PRIORITIES, RESOLUTIONS, STATUSES, TICKET_TYPES, User
from supportctl.render import LIST_FORMATS, TICKET_COLUMNS
from supportctl.sla import SLA_FILTERS

#: A view's TOML key → (the `tickets list` parameter it sets, its kind, allowed values).
#: Kinds: ``many`` (a string or a list), ``text``, ``choice``, ``when``, ``duration``,
#: ``bool``, ``count`` (a whole number ≥ 0), ``columns``.
KEYS: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "scope": ("scope", "choice", SCOPES),
    "org": ("org", "text", None),
    "status": ("status", "many", STATUSES),
    "type": ("type", "many", TICKET_TYPES),
    "category": ("category", "many", CATEGORIES),
    "priority": ("priority", "many", PRIORITIES),
    "resolution": ("resolution", "many", RESOLUTIONS),
    "group": ("group", "many", None),
    "assignee": ("assignee", "text", None),
    "requester": ("requester", "text", None),
    "tag": ("tags", "many", None),
    "since": ("since", "when", None),
    "until": ("until", "when", None),
    "idle": ("idle", "duration", None),
    "search": ("search", "text", None),
    "sla": ("sla", "choice", SLA_FILTERS),
    "sort": ("sort", "choice", SORT_KEYS),
    "asc": ("asc", "bool", None),
    "limit": ("limit", "count", None),
    "columns": ("columns", "columns", None),
    "output": ("fmt", "choice", LIST_FORMATS),
}
#: Keys of a saved view that are not flags.
INFO_KEYS = ("description",)
#: The flag each parameter is given with on the command line (for messages).
FLAG_NAMES = {
    param: "-o" if key == "output" else f"--{key}" for key, (param, _k, _v) in KEYS.items()
}
_KEY_OF = {param: key for key, (param, _k, _v) in KEYS.items()}
#: Given with a view, these replace the view's value; every other flag narrows the view.
REPLACING = frozenset({"scope", "sort", "asc", "limit", "columns", "fmt"})

NOT_CLOSED = tuple(s for s in STATUSES if s != "closed")


@dataclass(frozen=True)
class View:
    """A named set of `tickets list` flags (parameter name → value; tuples for many)."""

    name: str
    kind: str  # "built-in" or "saved"
    flags: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """`views list -o json`: the flags under their TOML keys (lists for repeatables)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "flags": {
                _KEY_OF[p]: list(v) if isinstance(v, tuple) else v for p, v in self.flags.items()
            },
        }

    def selects(self) -> str:
        """What the view selects, as its flags: ``status new, open; assignee none``."""
        parts = []
        for param, value in self.flags.items():
            shown = ", ".join(value) if isinstance(value, tuple) else value
            if isinstance(value, bool):
                shown = "true" if value else "false"
            parts.append(f"{_KEY_OF[param]} {shown}")
        return "; ".join(parts) or "every ticket you may see"


BUILTIN_VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        View(
            "unassigned",
            "built-in",
            {"status": NOT_CLOSED, "assignee": "none"},
            "Not closed and assigned to no one",
        ),
        View(
            "group",
            "built-in",
            {"status": NOT_CLOSED, "group": (MY_GROUPS,)},
            "Not closed and in one of your groups",
        ),
        View(
            "mine-open",
            "built-in",
            {"assignee": "@me", "status": ("new", "open", "escalated")},
            "Assigned to you and being worked on: new, open or escalated",
        ),
        View(
            "mine-pending",
            "built-in",
            {"assignee": "@me", "status": ("pending",)},
            "Assigned to you and on hold (pending)",
        ),
        View(
            "mine-resolved",
            "built-in",
            {"assignee": "@me", "status": ("resolved",)},
            "Assigned to you and resolved (answered, not yet closed)",
        ),
        View(
            "mine-closed",
            "built-in",
            {"assignee": "@me", "status": ("closed",)},
            "Assigned to you and closed",
        ),
        View(
            "spam",
            "built-in",
            {"status": ("closed",), "resolution": ("spam",)},
            "Closed as spam: the spam box (an agent restores one with --status open)",
        ),
    )
}


def view_from_table(name: str, table: Any, where: str) -> View:
    """A ``[views.NAME]`` table as a saved View; UsageError (exit 2) naming the view and the
    key for an unknown key or a bad value, or a name a built-in view has."""
    here = f"{where}: [views.{name}]"
    if name in BUILTIN_VIEWS:
        raise UsageError(
            f"{here}: {name!r} is a built-in view; give the saved view another name",
            hint=f"built-in views: {', '.join(BUILTIN_VIEWS)}",
        )
    if not isinstance(table, dict):
        raise UsageError(f"{here} must be a table of `tickets list` flags")
    valid = (*KEYS, *INFO_KEYS)
    unknown = [key for key in table if key not in valid]
    if unknown:
        raise UsageError(f"{here}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    description = table.get("description", "")
    if not isinstance(description, str):
        raise UsageError(f"{here}: 'description' must be a string")
    flags: dict[str, Any] = {}
    for key, raw in table.items():
        if key in INFO_KEYS:
            continue
        try:
            param, value = KEYS[key][0], _value(key, raw)
        except UsageError as exc:
            raise UsageError(f"{here}: {exc.message}") from None
        flags[param] = value
    if "since" in flags and "until" in flags:
        from supportctl.timeutil import parse_window

        try:
            parse_window(flags["since"], flags["until"])
        except UsageError as exc:
            raise UsageError(f"{here}: {exc.message}") from None
    return View(name, "saved", flags, description)


def _value(key: str, raw: Any) -> Any:
    """One TOML value of a view, checked as its flag would be."""
    _param, kind, allowed = KEYS[key]
    if kind == "many":
        return tuple(dict.fromkeys(config_strings(key, raw, allowed)))
    if kind == "bool":
        if not isinstance(raw, bool):
            raise UsageError(f"{key!r} must be true or false (got {raw!r})")
        return raw
    if kind == "count":
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise UsageError(f"{key!r} must be a whole number, 0 (all) or more (got {raw!r})")
        return raw
    if kind == "columns":
        names = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UsageError(f'{key!r} must be a string such as "id,priority,subject"')
        from supportctl.render import parse_columns

        try:
            parse_columns(",".join(names), TICKET_COLUMNS)
        except UsageError as exc:
            raise UsageError(f"{key!r}: {exc.message.removeprefix('--columns: ')}") from None
        return ",".join(n.strip() for n in names)
    if not isinstance(raw, str) or not raw.strip():
        raise UsageError(f"{key!r} must be a non-empty string (got {raw!r})")
    if kind == "choice" and raw not in (allowed or ()):
        raise UsageError(f"{key!r} value {raw!r} is not one of {', '.join(allowed or ())}")
    if kind == "when":
        from supportctl.timeutil import parse_when

        try:
            parse_when(raw)
        except UsageError as exc:
            raise UsageError(f"{key!r}: {exc.message}") from None
    if kind == "duration":
        from supportctl.timeutil import parse_duration

        try:
            parse_duration(raw)
        except UsageError as exc:
            raise UsageError(f"{key!r}: {exc.message}") from None
    return raw


def all_views(saved: dict[str, View]) -> dict[str, View]:
    """Built-in views first, then the saved ones in file order."""
    return {**BUILTIN_VIEWS, **saved}


def find_view(name: str, saved: dict[str, View]) -> View:
    """The view called ``name``; an unknown one exits 2 listing the valid ones."""
    views = all_views(saved)
    if name not in views:
        raise UsageError(
            f"unknown view {name!r}; valid views: {', '.join(views)}",
            hint="see `supportctl views list`; save your own as [views.NAME] in the config",
        )
    return views[name]


def combine(view: View, given: dict[str, Any], *, actor: Callable[[], User]) -> dict[str, Any]:
    """The view's flags with those given on the command line (parameter → value), as the
    module's docstring says.  Without a scope or an org from either, the scope is every
    ticket ``actor()`` may see: ``org`` for agents and brand admins, ``mine`` for users;
    ``actor()``'s groups stand for ``@mine`` where it must meet a named group."""
    merged = _merge(view, given, lambda: actor().groups, lambda: actor().username)
    if merged.get("scope") is None and merged.get("org") is None:
        merged["scope"] = "mine" if actor().role == "user" else "org"
    return merged


def _merge(
    view: View,
    given: dict[str, Any],
    my_groups: Callable[[], list[str]],
    my_name: Callable[[], str],
) -> dict[str, Any]:
    merged = dict(view.flags)
    for param, value in given.items():
        if param not in merged or param in REPLACING:
            merged[param] = value
            continue
        ours = merged[param]
        if param == "assignee" and "@me" in (ours, value):
            # `--assignee NAME` with a view of `@me` (or the other way round) agrees when
            # NAME is the acting user
            ours, value = (my_name() if v == "@me" else v for v in (ours, value))
        if param == "tags":
            merged[param] = tuple(dict.fromkeys((*ours, *value)))
        elif isinstance(ours, tuple):
            merged[param] = _both(view, param, ours, tuple(value), my_groups)
        elif param in ("since", "until", "idle"):
            merged[param] = _narrower(param, ours, value)
        elif value != ours:
            raise _contradiction(view, param, value, ours)
    return merged


def _both(
    view: View,
    param: str,
    ours: tuple[str, ...],
    theirs: tuple[str, ...],
    my_groups: Callable[[], list[str]],
) -> tuple[str, ...]:
    if set(ours) == set(theirs):
        return ours
    if param == "group" and MY_GROUPS in (*ours, *theirs):
        mine = list(my_groups())

        def expand(values: tuple[str, ...]) -> tuple[str, ...]:
            out = [g for v in values for g in (mine if v == MY_GROUPS else [v])]
            return tuple(dict.fromkeys(out))

        ours_set, kept = set(expand(ours)), expand(theirs)
    else:
        ours_set, kept = set(ours), theirs
    both = tuple(v for v in kept if v in ours_set)
    if not both:
        raise _contradiction(view, param, theirs, ours)
    return both


def _narrower(param: str, ours: str, theirs: str) -> str:
    """The later `since`, the earlier `until`, the longer `idle`."""
    from supportctl.timeutil import parse_duration, parse_when

    if param == "idle":
        return max(ours, theirs, key=parse_duration)
    at = {v: parse_when(v, end_of_day=param == "until") for v in (ours, theirs)}
    pick = max if param == "since" else min
    return pick((ours, theirs), key=at.__getitem__)


def _contradiction(view: View, param: str, value: Any, ours: Any) -> UsageError:
    shown = ", ".join(value) if isinstance(value, tuple) else str(value)
    theirs = ", ".join(ours) if isinstance(ours, tuple) else str(ours)
    return UsageError(
        f"{FLAG_NAMES[param]} {shown} selects nothing in view {view.name!r}, which has "
        f"{_KEY_OF[param]} {theirs}",
        hint="a flag given with a view narrows it; list without --view to choose freely",
    )
