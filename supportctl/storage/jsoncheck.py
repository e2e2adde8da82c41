"""`store check [--repair]` for the json store: verify every file, rebuild what is derivable.

Derivable (repaired): the listing index, the id counters, an interrupted write's journal,
orphaned temp files.  Not derivable (reported, never touched): a ticket, escalation, user or
org file that does not parse or does not validate.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from supportctl.errors import StoreDamaged
from supportctl.models import Escalation, Org, Ticket, User
from supportctl.storage.base import CheckReport

if TYPE_CHECKING:
    from supportctl.storage.jsonstore import JsonStore


def _load(path: os.PathLike[str], report: CheckReport) -> Any:
    try:
        return json.loads(open(path, "rb").read())  # noqa: SIM115
    except FileNotFoundError:
        report.problems.append(f"{path}: missing")
    except (ValueError, UnicodeDecodeError):
        report.problems.append(f"{path}: damaged (not valid JSON); restore it from a backup")
    except OSError as exc:
        report.problems.append(f"{path}: unreadable ({exc.strerror})")
    return None


def _check_directory(path: Any, cls: type, key: str, report: CheckReport) -> set[str]:
    docs = _load(path, report)
    if docs is None:
        return set()
    if not isinstance(docs, list):
        report.problems.append(f"{path}: damaged (expected a list)")
        return set()
    ids = set()
    for position, doc in enumerate(docs, 1):
        try:
            ids.add(getattr(cls.from_dict(doc), key))
        except (ValueError, TypeError) as exc:
            report.problems.append(f"{path}: entry {position}: {exc}")
    return ids


def check_store(store: JsonStore, *, repair: bool) -> CheckReport:
    report = CheckReport()
    if store.journal_path.exists():
        if repair:
            report.repaired.extend(store._recover())
        else:
            report.problems.append(
                f"{store.journal_path}: an interrupted write is pending (repairable)"
            )
    temps = [
        entry.path
        for folder in (store.root, store.tickets_dir, store.escalations_dir)
        if folder.is_dir()
        for entry in os.scandir(folder)
        if entry.name.startswith(".tmp-")
    ]
    if temps:
        if repair:
            for path in temps:
                os.unlink(path)
            report.repaired.append(f"removed {len(temps)} orphaned temp file(s)")
        else:
            report.problems.append(f"{len(temps)} orphaned temp file(s) (repairable)")

    usernames = _check_directory(store.users_path, User, "username", report)
    org_ids = _check_directory(store.orgs_path, Org, "id", report)

    summaries: dict[str, dict[str, Any]] = {}
    max_number = 0
    for folder, missing in ((store.tickets_dir, "tickets"), (store.escalations_dir, "escalations")):
        if not folder.is_dir():
            report.problems.append(f"{folder}: missing ({missing} directory)")
    escalation_ids = set()
    max_escalation = 0
    for path in sorted(store.escalations_dir.glob("*.json")):
        doc = _load(path, report)
        if doc is None:
            continue
        try:
            esc = Escalation.from_dict(doc)
        except (ValueError, TypeError) as exc:
            report.problems.append(f"{path}: invalid escalation: {exc}")
            continue
        if path.stem != esc.id:
            report.problems.append(f"{path}: holds escalation {esc.id}")
        escalation_ids.add(esc.id)
        number = esc.id.removeprefix("CP-")
        if number.isdigit():
            max_escalation = max(max_escalation, int(number))
    damaged: set[str] = set()  # ids whose file exists but cannot be read as a ticket
    for path in store.tickets_dir.glob("*.json"):
        doc = _load(path, report)
        if doc is None:
            damaged.add(path.stem)
            continue
        try:
            ticket = Ticket.from_dict(doc)
        except (ValueError, TypeError) as exc:
            report.problems.append(f"{path}: invalid ticket: {exc}")
            damaged.add(path.stem)
            continue
        if path.stem != ticket.id:
            report.problems.append(f"{path}: holds ticket {ticket.id}")
            continue
        if usernames and ticket.requester not in usernames:
            report.problems.append(f"{path}: requester {ticket.requester!r} is not a user")
        if org_ids and ticket.org not in org_ids:
            report.problems.append(f"{path}: org {ticket.org!r} is not an org")
        if ticket.escalation_id and ticket.escalation_id not in escalation_ids:
            report.problems.append(f"{path}: escalation {ticket.escalation_id} does not exist")
        summaries[ticket.id] = json.loads(json.dumps(store.index_row(ticket)))
        if ticket.id.isdigit():
            max_number = max(max_number, int(ticket.id))

    _check_index(store, summaries, damaged, report, repair)

    if store.meta_damage is not None:
        _check_meta(store, max_number, max_escalation, report, repair)
    else:
        _check_counters(store, max_number, max_escalation, report, repair)
    report.info.append(
        f"{len(summaries)} tickets, {len(escalation_ids)} escalations, "
        f"{len(usernames)} users, {len(org_ids)} orgs"
    )
    return report


def _check_counters(
    store: JsonStore, max_number: int, max_escalation: int, report: CheckReport, repair: bool
) -> None:
    """The id counters of store.json must be past every stored id (repairable)."""
    meta = dict(store._meta)
    fixes = []
    if meta["next_ticket"] <= max_number:
        fixes.append(("next_ticket", max_number + 1))
    if meta["next_escalation"] <= max_escalation:
        fixes.append(("next_escalation", max_escalation + 1))
    for key, value in fixes:
        if repair:
            meta[key] = value
            report.repaired.append(f"set {key} to {value} in {store.meta_path}")
        else:
            report.problems.append(
                f"{store.meta_path}: {key} is behind the stored ids (repairable)"
            )
    if fixes and repair:
        store._write_meta(meta)


def _check_meta(
    store: JsonStore, max_number: int, max_escalation: int, report: CheckReport, repair: bool
) -> None:
    """A damaged store.json: its id counters are derivable from the files (the schema is
    this version's: the files were just checked against it)."""
    from supportctl.storage.jsonstore import FIRST_ESCALATION_NUMBER, FIRST_TICKET_ID, SCHEMA

    if not repair:
        report.problems.append(
            f"{store.meta_path} {store.meta_damage} (repairable: its id counters are derived "
            "from the files by store check --repair)"
        )
        return
    meta = {
        "schema": SCHEMA,
        "next_ticket": max(FIRST_TICKET_ID, max_number + 1),
        "next_escalation": max(FIRST_ESCALATION_NUMBER, max_escalation + 1),
        "index_base": 0,
    }
    store._write_meta(meta)
    store._rewrite_index(list(store._read_index().values()))
    report.repaired.append(
        f"rebuilt {store.meta_path}, which {store.meta_damage}: schema {SCHEMA}, next ticket "
        f"{meta['next_ticket']}, next escalation CP-{meta['next_escalation']}"
    )
    store.meta_damage = None


def _check_index(
    store: JsonStore,
    summaries: dict[str, dict[str, Any]],
    damaged: set[str],
    report: CheckReport,
    repair: bool,
) -> None:
    """Compare the index with the ticket files; a rebuild keeps the last known summary of a
    damaged ticket, so it stays listed while its file is being restored."""
    why = None
    try:
        indexed = store._read_index()
    except StoreDamaged as exc:
        indexed, why = {}, exc.why.split(";")[0]
    if why is None:
        missing = summaries.keys() - indexed.keys()
        extra = indexed.keys() - summaries.keys() - damaged
        stale = [i for i in summaries.keys() & indexed.keys() if indexed[i] != summaries[i]]
        parts = []
        if missing:
            parts.append(f"{len(missing)} ticket(s) missing")
        if extra:
            parts.append(f"{len(extra)} entr(ies) for no valid ticket")
        if stale:
            parts.append(f"{len(stale)} stale entr(ies)")
        why = ", ".join(parts) if parts else store.clean_prefix_problem()
    if why is None:
        return
    if repair:
        kept = [indexed[i] for i in damaged if i in indexed]
        store._rewrite_index([*summaries.values(), *kept])
        report.repaired.append(
            f"rebuilt {store.index_path} from {len(summaries)} ticket files (it {why})"
        )
    else:
        report.problems.append(f"{store.index_path}: {why} (repairable: store check --repair)")
