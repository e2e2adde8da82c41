"""Property-based tests of the service layer (SPEC §3, §9; issue 8 item 1).

Random sequences of actions — create, reply, internal note, close with or without a reason,
feedback, triage updates, spam restore, proxy toggles, escalate and advance — by random actors
of every role (users of two orgs, an admin of each, agents, FedRAMP accounts) run against a
real ``JsonStore`` in a temp directory.  Actions may fail with a ``SupportctlError``; after
every step the invariants below must hold, checked against the ticket files on disk (never
against what the service says about itself):

* a user or admin never sees — through ``list_tickets`` in both scopes (with and without the
  thread), ``--search``, ``show_ticket``, ``get_visible_ticket``, proxy access, escalations or
  the JSON a command prints — a ticket of another org unless requester or cc, nor any message
  of kind ``note``, nor a ``noted`` event; FedRAMP accounts are refused every read;
* a failed action changes no file; a successful one changes only the ticket it names (and its
  escalation), only as far as its actor may;
* a closed ticket's file never changes, except a spam restore (status open, by an agent);
* every ticket's events and messages only grow (the old ones stay, in order);
* every reply, note, close comment and first message that returned is in its ticket once;
* ``JsonStore.check()`` stays healthy.

A last test forks writers that reply, triage, close and restore the same few tickets at once,
and checks that every acknowledged reply is there exactly once afterwards.
"""

from __future__ import annotations

import atexit
import json
import multiprocessing
import os
import random
import re
import shutil
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from supportctl.api import TicketChanges, TicketQuery
from supportctl.errors import Conflict, NotFound, PermissionDenied, SupportctlError
from supportctl.models import PRIORITIES, RESOLUTIONS, STAGES, STATUSES
from supportctl.service import LocalService
from supportctl.storage import admin
from supportctl.storage.jsonstore import JsonStore
from tests.conftest import jsonl, message, org, ticket, user

# -- the cast and the seed store ---------------------------------------------------------------

USERS: dict[str, dict[str, Any]] = {
    "ann": {"org": "acme", "role": "user"},
    "bob": {"org": "acme", "role": "user", "support_access": True},
    "alice": {"org": "acme", "role": "admin"},
    "fed": {"org": "acme", "role": "user", "fedramp": True},
    "gus": {"org": "globex", "role": "user"},
    "gadmin": {"org": "globex", "role": "admin"},
    "fedadmin": {"org": "globex", "role": "admin", "fedramp": True},
    "dana": {"org": "support", "role": "agent"},
    "eve": {"org": "support", "role": "agent"},
}
ACTORS = sorted(USERS)
AGENTS = {name for name, u in USERS.items() if u["role"] == "agent"}
#: Every note body carries this marker, and nothing else does: a reader that is not an agent
#: must never meet it anywhere in what it is given.
NOTE_MARK = "NOTE-SECRET"
MISSING_ID = "9999"
SEED_AT = "2026-10-01T09:00:00Z"
BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)


def _event(actor: str, action: str, **detail: Any) -> dict[str, Any]:
    return {"at": SEED_AT, "actor": actor, "action": action, "detail": detail}


def seed_docs() -> list[dict]:
    """Two customer orgs and the vendor; tickets in every state that matters to §3, among
    them a globex ticket with an acme user on cc and tickets that already carry notes."""
    docs: list[dict] = [org("acme", "Acme"), org("globex", "Globex"), org("support", "Vendor")]
    for name, spec in USERS.items():
        extra = {k: v for k, v in spec.items() if k not in ("org", "role")}
        docs.append(user(name, spec["org"], spec["role"], **extra))
    note = message("m2", "dana", f"{NOTE_MARK} seed note", kind="note")
    docs += [
        ticket(
            "1001",
            "ann",
            "acme",
            cc=["bob"],
            messages=[message("m1", "ann", "seed first message"), note],
            events=[_event("ann", "created"), _event("dana", "noted", message="m2")],
        ),
        ticket(
            "1002",
            "gus",
            "globex",
            cc=["ann"],
            status="resolved",
            messages=[message("m1", "gus", "seed globex message")],
        ),
        ticket(
            "1003",
            "alice",
            "acme",
            status="closed",
            resolution="spam",
            closed_at=SEED_AT,
            messages=[message("m1", "alice", "seed spam")],
        ),
        ticket("1004", "bob", "acme", status="closed", resolution="solved", closed_at=SEED_AT),
        ticket(
            "1005",
            "fed",
            "acme",
            status="pending",
            messages=[message("m1", "fed", "seed fed message"), note],
        ),
        ticket("1006", "gadmin", "globex", status="new", assignee="eve"),
    ]
    return docs


#: The rules are what is tested here, not durability (tests/test_store_safety.py does that):
#: a memory file system, when there is one, spares the fsyncs of every step.
FAST_DIR = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
STATS: Counter[str] = Counter()


def make_store(root: Path) -> JsonStore:
    store = JsonStore.create(root)
    admin.import_lines(store, jsonl(seed_docs()).encode().split(b"\n"))
    return JsonStore(root)


_SEED: dict[str, Path] = {}


def seeded_copy(root: Path) -> JsonStore:
    """A copy of the seed store (an import syncs the whole file system: once is enough)."""
    if "path" not in _SEED:
        seed_dir = tempfile.mkdtemp(prefix="supportctl-seed-", dir=FAST_DIR)
        atexit.register(shutil.rmtree, seed_dir, True)
        _SEED["path"] = Path(seed_dir) / "store"
        make_store(_SEED["path"])
    shutil.copytree(_SEED["path"], root)
    return JsonStore(root)


class Clock:
    """A clock that ticks one second per reading: every change gets a later time."""

    def __init__(self) -> None:
        self.t = BASE_TIME

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


# -- ground truth: the files on disk -------------------------------------------------------------


@dataclass
class State:
    files: dict[str, bytes] = field(default_factory=dict)  # tickets/… and escalations/…
    tickets: dict[str, dict] = field(default_factory=dict)
    escalations: dict[str, dict] = field(default_factory=dict)


def read_state(root: Path) -> State:
    state = State()
    for sub, into in (("tickets", state.tickets), ("escalations", state.escalations)):
        for path in sorted((root / sub).glob("*.json")):
            data = path.read_bytes()
            state.files[f"{sub}/{path.name}"] = data
            into[path.stem] = json.loads(data)  # a torn file fails the test here
    return state


def may_see(username: str, doc: dict) -> bool:
    """SPEC §3, independently of the service: requester, cc, the org's admins, agents."""
    spec = USERS[username]
    if spec["role"] == "agent":
        return True
    if doc["requester"] == username or username in doc["cc"]:
        return True
    return spec["role"] == "admin" and doc["org"] == spec["org"]


def without_notes(doc: dict) -> tuple[list[dict], list[dict]]:
    messages = [m for m in doc["messages"] if m["kind"] != "note"]
    events = [e for e in doc["events"] if e["action"] != "noted"]
    return messages, events


def _dump(value: Any) -> str:
    return json.dumps(value, default=lambda o: getattr(o, "__dict__", str(o)))


def visibility_problems(
    services: dict[str, LocalService], state: State, one_by_one: set[str]
) -> list[str]:
    """Everything a user or admin may read, compared with SPEC §3 on the files.

    Listings are checked over every ticket; ``show``/``get``/proxy access over the tickets
    in ``one_by_one`` (those the last step touched) and one that does not exist."""
    problems: list[str] = []
    tickets = state.tickets

    def bad(what: str) -> None:
        problems.append(what)

    for name, spec in USERS.items():
        if spec["role"] == "agent":
            continue
        service = services[name]
        if spec.get("fedramp"):
            for scope in ("mine", "org"):
                try:
                    service.list_tickets(TicketQuery(scope=scope, limit=0))
                    bad(f"FedRAMP {name} listed tickets ({scope})")
                except PermissionDenied:
                    pass
            for ticket_id in sorted(one_by_one | {MISSING_ID}):
                for read in (service.get_visible_ticket, service.show_ticket):
                    try:
                        read(ticket_id)
                        bad(f"FedRAMP {name} read ticket {ticket_id}")
                    except PermissionDenied:
                        pass
            try:
                service.list_escalations()
                bad(f"FedRAMP {name} listed escalations")
            except PermissionDenied:
                pass
            continue

        expected = {
            "mine": {i for i, d in tickets.items() if d["requester"] == name or name in d["cc"]},
            "org": {i for i, d in tickets.items() if d["org"] == spec["org"]},
        }
        for scope in ("mine", "org"):
            query = TicketQuery(scope=scope, limit=0)
            if scope == "org" and spec["role"] == "user":
                try:
                    service.list_tickets(query)
                    bad(f"user {name} listed --scope org")
                except PermissionDenied:
                    pass
                continue
            rows = service.list_tickets(query).tickets
            if {r["id"] for r in rows} != expected[scope]:
                bad(
                    f"{name} --scope {scope} lists {sorted(r['id'] for r in rows)}, "
                    f"expected {sorted(expected[scope])}"
                )
            full = service.list_tickets(query, with_thread=True).tickets
            for doc in full:
                stored = tickets.get(doc["id"])
                if stored is None or not may_see(name, stored):
                    bad(f"{name} --scope {scope} with the thread shows ticket {doc['id']}")
                    continue
                if (doc["messages"], doc["events"]) != without_notes(stored):
                    bad(f"{name} sees the thread of {doc['id']} other than its files minus notes")
            if NOTE_MARK in _dump(rows) + _dump(full):
                bad(f"a note reaches {name} in the --scope {scope} listing")
            found = service.list_tickets(TicketQuery(scope=scope, limit=0, search=NOTE_MARK))
            if found.tickets:
                bad(f"{name} finds {[r['id'] for r in found.tickets]} by searching note text")
        visible = expected["mine"] | (expected["org"] if spec["role"] == "admin" else set())
        escalations = service.list_escalations(scope="org" if spec["role"] == "admin" else "mine")
        for esc in escalations:
            if esc.ticket_id not in visible:
                bad(f"{name} lists escalation {esc.id} of ticket {esc.ticket_id}")

        for ticket_id in sorted(one_by_one | {MISSING_ID}):
            stored = tickets.get(ticket_id)
            allowed = stored is not None and may_see(name, stored)
            for what, read in (
                ("get", lambda i, s=service: s.get_visible_ticket(i)),
                ("show", lambda i, s=service: s.show_ticket(i).ticket),
                ("json", lambda i, s=service: s.ticket_json(s.get_visible_ticket(i))),
                ("proxy", lambda i, s=service: s.proxy_access(i)),
            ):
                try:
                    got = read(ticket_id)
                except NotFound as exc:
                    if allowed:
                        bad(f"{name} may see {ticket_id} but {what} says: {exc.message}")
                    elif exc.message != f"ticket {ticket_id} not found":
                        bad(f"{what} of {ticket_id} for {name} leaks: {exc.message!r}")
                    continue
                if not allowed:
                    bad(f"{name} reads ticket {ticket_id} ({what}) of org {stored['org']}")
                    continue
                if NOTE_MARK in _dump(got):
                    bad(f"a note of {ticket_id} reaches {name} ({what})")
                if what in ("get", "show"):
                    doc = got.to_dict()
                    if (doc["messages"], doc["events"]) != without_notes(stored):
                        bad(f"{name} sees the thread of {ticket_id} ({what}) other than stored")
    return problems


def event_log_problems(state: State) -> list[str]:
    """A closed ticket only changes by a spam restore (or its one feedback): in the event
    log, a `closed` event is followed by nothing but one `feedback` until a `restored`
    (by an agent, of a ticket closed as spam)."""
    problems = []
    for ticket_id, doc in state.tickets.items():
        closing = None  # the `closed` event while the ticket is closed
        feedback = 0
        for ev in doc["events"]:
            if closing is None:
                if ev["action"] == "closed":
                    closing, feedback = ev, 0
                continue
            if ev["action"] == "feedback" and feedback == 0:
                feedback += 1
            elif ev["action"] == "restored":
                if closing["detail"].get("resolution") != "spam" or ev["actor"] not in AGENTS:
                    problems.append(
                        f"ticket {ticket_id}: restored by {ev['actor']} after {closing}"
                    )
                closing = None
            else:
                problems.append(f"ticket {ticket_id}: {ev['action']} after it was closed")
        ids = [m["id"] for m in doc["messages"]]
        if len(ids) != len(set(ids)):
            problems.append(f"ticket {ticket_id}: duplicate message ids {ids}")
        if doc["status"] == "closed" and (doc["resolution"] is None or doc["closed_at"] is None):
            problems.append(f"ticket {ticket_id}: closed without a resolution or closed_at")
    return problems


# -- the state machine ---------------------------------------------------------------------------

#: An index into the tickets of the moment; the largest one stands for a ticket that is missing.
ticket_pick = st.integers(min_value=0, max_value=10_000)
#: Hypothesis favours the first choices: agents first, and twice, so that triage happens.
actor_pick = st.sampled_from(("dana", "ann", "gus", "alice", "eve", "bob", "gadmin", "fed",
                              "fedadmin", "dana", "eve", "ann", "gus"))  # fmt: skip


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="supportctl-props-", dir=FAST_DIR))
        self.root = self.dir / "store"
        self.store = seeded_copy(self.root)
        self.clock = Clock()
        self.services = {name: LocalService(self.store, name, clock=self.clock) for name in USERS}
        # Messages whose action returned: (ticket id, message id, kind, body).
        self.acked: list[tuple[str, str, str, str]] = []
        self.serial = 0
        self.state = read_state(self.root)
        self.touched: set[str] = set(self.state.tickets)
        STATS["examples"] += 1

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers ----------------------------------------------------------------------------
    def pick(self, index: int, ids: list[str] | None = None) -> str:
        ids = sorted(self.state.tickets, key=int) if ids is None else ids
        if index == 10_000 or not ids:
            return MISSING_ID
        return ids[index % len(ids)]

    def text(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def act(self, kind: str, actor: str, ticket_id: str, call: Any) -> Any:
        before = self.state
        try:
            result = call(self.services[actor])
        except SupportctlError as exc:
            event(f"{kind}: {type(exc).__name__}")
            STATS[f"{kind}: {type(exc).__name__}"] += 1
            after = read_state(self.root)
            changed = sorted(k for k in after.files.keys() | before.files.keys()
                             if after.files.get(k) != before.files.get(k))  # fmt: skip
            assert not changed, (
                f"{kind} by {actor} on {ticket_id} failed ({exc.message}) yet changed {changed}"
            )
            return None
        event(f"{kind}: ok")
        STATS[f"{kind}: ok"] += 1
        after = read_state(self.root)
        self.check_transition(kind, actor, ticket_id, before, after)
        self.state = after
        return result

    def check_transition(
        self, kind: str, actor: str, ticket_id: str, before: State, after: State
    ) -> None:
        spec = USERS[actor]
        agent = spec["role"] == "agent"
        where = f"{kind} by {actor} on {ticket_id}"
        assert before.files.keys() <= after.files.keys(), f"{where}: a file disappeared"
        changed = {
            k for k in after.files if after.files.get(k) != before.files.get(k)
        }  # tickets/… or escalations/…
        changed_tickets = {k.split("/")[1][:-5] for k in changed if k.startswith("tickets/")}
        changed_escalations = {k for k in changed if k.startswith("escalations/")}
        self.touched |= changed_tickets
        if kind == "create":
            assert len(changed_tickets) == 1, f"{where}: changed {changed_tickets}"
            (new_id,) = changed_tickets
            assert new_id not in before.tickets, f"{where}: overwrote ticket {new_id}"
        else:
            assert changed_tickets <= {ticket_id}, f"{where}: changed {changed_tickets}"
        if kind not in ("escalate", "advance"):
            assert not changed_escalations, f"{where}: changed {changed_escalations}"

        for tid, old in before.tickets.items():
            new = after.tickets[tid]
            n_ev, n_msg = len(old["events"]), len(old["messages"])
            assert new["events"][:n_ev] == old["events"], f"{where}: events of {tid} rewritten"
            assert new["messages"][:n_msg] == old["messages"], f"{where}: thread {tid} rewritten"
            if tid not in changed_tickets:
                continue
            assert new["updated_at"] > old["updated_at"], f"{where}: updated_at did not move"
            added = new["events"][n_ev:]
            assert added, f"{where}: {tid} changed without an event"
            assert all(e["actor"] == actor for e in added), f"{where}: events {added}"
            if old["status"] == "closed":
                restored = (
                    kind == "update"
                    and agent
                    and old["resolution"] == "spam"
                    and new["status"] == "open"
                    and added[0]["action"] == "restored"
                )
                # The requester's one feedback is the other change a closed ticket takes
                # (SPEC §3: feedback is for closed tickets), and it changes nothing else.
                feedback = (
                    kind == "feedback"
                    and [e["action"] for e in added] == ["feedback"]
                    and {k for k in new if new[k] != old[k]} == {"feedback", "updated_at", "events"}
                )
                assert restored or feedback, f"{where}: closed ticket {tid} changed: {added}"
            assert may_see(actor, old), f"{where}: changed a ticket the actor may not see"
            if kind in ("reply", "note"):
                assert old["status"] != "closed", f"{where}: replied to a closed ticket"
                assert kind == "reply" or agent, f"{where}: a note by a {spec['role']}"
            elif kind == "close":
                assert agent or old["requester"] == actor, f"{where}: closed by a stranger"
                assert new["status"] == "closed" and new["closed_at"], f"{where}: not closed"
            elif kind == "feedback":
                assert old["requester"] == actor and old["status"] == "closed", where
                assert old["feedback"] is None, f"{where}: feedback given twice"
            elif kind == "proxy":  # SPEC §5: a customer who may see it; agents have none
                assert not agent, f"{where}: an agent set proxy access"
            elif kind in ("update", "escalate", "advance"):
                assert agent, f"{where}: {kind} by a {spec['role']}"
        if kind == "create":
            doc = after.tickets[new_id]
            assert doc["requester"] == actor and doc["org"] == spec["org"], where
            assert doc["status"] == "new", where
            if not agent:
                others = [u for u in doc["cc"] if USERS[u]["org"] != spec["org"]]
                assert not others, f"{where}: cc of another org {others}"

    def remember(self, ticket_id: str, ticket: Any, kind: str, body: str) -> None:
        found = [m for m in ticket.messages if m.body == body]
        assert len(found) == 1 and found[0].kind == kind, f"{body!r} not returned in {ticket_id}"
        self.acked.append((ticket_id, found[0].id, kind, body))

    # -- rules ------------------------------------------------------------------------------
    @rule(
        actor=actor_pick,
        cc=st.lists(st.sampled_from(ACTORS), max_size=2, unique=True),
        type_=st.sampled_from(("web", "email", "chat", "phone")),
        priority=st.sampled_from(PRIORITIES),
    )
    def create(self, actor: str, cc: list[str], type_: str, priority: str) -> None:
        body = self.text("first")
        made = self.act(
            "create",
            actor,
            "-",
            lambda s: s.create_ticket(
                subject=self.text("subject"), body=body, type_=type_, priority=priority, cc=cc
            ),
        )
        if made is not None:
            self.remember(made.id, made, "chat" if type_ == "chat" else "email", body)

    @rule(actor=actor_pick, index=ticket_pick, internal=st.booleans())
    def reply(self, actor: str, index: int, internal: bool) -> None:
        self._reply(actor, self.pick(index), internal)

    @rule(index=ticket_pick, who=st.integers(min_value=0, max_value=99), internal=st.booleans())
    def reply_by_someone_on_the_ticket(self, index: int, who: int, internal: bool) -> None:
        """Most replies come from people who may reply: the requester, cc, admins, agents."""
        ticket_id = self.pick(index)
        doc = self.state.tickets.get(ticket_id)
        people = [u for u in ACTORS if doc is not None and may_see(u, doc)] or ACTORS
        actor = people[who % len(people)]
        self._reply(actor, ticket_id, internal and actor in AGENTS)

    @rule(index=ticket_pick, what=st.sampled_from(("close", "feedback", "proxy")))
    def the_requester_acts(self, index: int, what: str) -> None:
        ticket_id = self.pick(index)
        doc = self.state.tickets.get(ticket_id)
        actor = doc["requester"] if doc else "ann"
        if what == "close":
            self.close(actor, index, None, False)
        elif what == "feedback":
            self.act("feedback", actor, ticket_id, lambda s: s.feedback(ticket_id, 5, None))
        else:
            self.act("proxy", actor, ticket_id, lambda s: s.set_proxy_access(ticket_id, None))

    def _reply(self, actor: str, ticket_id: str, internal: bool) -> None:
        old = self.state.tickets.get(ticket_id)
        body = self.text(f"{NOTE_MARK} note" if internal else "reply")
        done = self.act(
            "note" if internal else "reply",
            actor,
            ticket_id,
            lambda s: s.reply(ticket_id, body, internal=internal),
        )
        if done is None:
            # Who may reply (SPEC §3) must not be refused.
            may = old is not None and may_see(actor, old) and old["status"] != "closed"
            assert not (may and (not internal or actor in AGENTS)), (
                f"{actor} was refused a reply to {ticket_id} ({old and old['status']})"
            )
            return
        self.remember(ticket_id, done, "note" if internal else "email", body)
        new = self.state.tickets[ticket_id]
        if old["status"] == "resolved":
            want = "resolved" if actor in AGENTS else "open"
            assert new["status"] == want, f"reply by {actor} to resolved: now {new['status']}"

    @rule(
        actor=actor_pick,
        index=ticket_pick,
        reason=st.none() | st.sampled_from(RESOLUTIONS) | st.just("spam"),
        comment=st.booleans(),
    )
    def close(self, actor: str, index: int, reason: str | None, comment: bool) -> None:
        ticket_id = self.pick(index)
        old = self.state.tickets.get(ticket_id)
        text = self.text("comment") if comment else None
        done = self.act(
            "close", actor, ticket_id, lambda s: s.close(ticket_id, reason=reason, comment=text)
        )
        if done is None:
            return
        ticket, changed = done
        assert reason is None or actor in AGENTS, f"{actor} closed with --reason"
        if old["status"] == "closed":
            assert not changed, "closing a closed ticket changed it"
            return
        new = self.state.tickets[ticket_id]
        assert new["resolution"] == (reason or "solved"), new["resolution"]
        if text:
            self.remember(ticket_id, ticket, "email", text)

    @rule(
        actor=actor_pick,
        index=ticket_pick,
        rating=st.sampled_from((5, 1, 4, 2, 3, 0, 6)),
        comment=st.none() | st.just("thanks"),
    )
    def feedback(self, actor: str, index: int, rating: int, comment: str | None) -> None:
        closed = sorted(
            (i for i, d in self.state.tickets.items() if d["status"] == "closed"), key=int
        )
        ticket_id = self.pick(index, closed or None)
        old = self.state.tickets.get(ticket_id)
        done = self.act(
            "feedback", actor, ticket_id, lambda s: s.feedback(ticket_id, rating, comment)
        )
        if done is not None:
            assert 1 <= rating <= 5, f"rating {rating} accepted"
            _, changed = done
            assert changed == (old["feedback"] is None)

    @rule(
        actor=actor_pick,
        index=ticket_pick,
        status=st.none() | st.sampled_from(STATUSES),
        priority=st.none() | st.sampled_from(PRIORITIES),
        assignee=st.none()
        | st.sampled_from(("@me", "dana", "none", "eve", "@me", "ann", "nobody")),
        add=st.lists(st.sampled_from(("sso", "api", "vip")), max_size=2),
        remove=st.lists(st.sampled_from(("sso", "api")), max_size=1),
    )
    def update(
        self,
        actor: str,
        index: int,
        status: str | None,
        priority: str | None,
        assignee: str | None,
        add: list[str],
        remove: list[str],
    ) -> None:
        ticket_id = self.pick(index)
        changes = TicketChanges(
            status=status,
            priority=priority,
            assignee=assignee,
            add_tags=tuple(add),
            remove_tags=tuple(remove),
        )
        self.act("update", actor, ticket_id, lambda s: s.update(ticket_id, changes))

    @rule(actor=actor_pick, index=st.integers(min_value=0, max_value=9_999))
    def spam_restore(self, actor: str, index: int) -> None:
        closed = sorted(
            (i for i, d in self.state.tickets.items() if d["status"] == "closed"), key=int
        )
        ticket_id = self.pick(index, closed or None)
        old = self.state.tickets[ticket_id]
        done = self.act(
            "update", actor, ticket_id, lambda s: s.update(ticket_id, TicketChanges(status="open"))
        )
        if old["status"] == "closed":
            restorable = actor in AGENTS and old["resolution"] == "spam"
            assert (done is not None) == restorable, (
                f"restore of {ticket_id} ({old['resolution']}) by {actor}: {done is not None}"
            )
            if done is not None:
                assert self.state.tickets[ticket_id]["status"] == "open"

    @rule(actor=actor_pick, index=ticket_pick, value=st.none() | st.booleans())
    def proxy(self, actor: str, index: int, value: bool | None) -> None:
        ticket_id = self.pick(index)
        self.act("proxy", actor, ticket_id, lambda s: s.set_proxy_access(ticket_id, value))

    @rule(
        actor=actor_pick,
        index=ticket_pick,
        expected=st.none() | st.just("2027-01-15") | st.just("soon"),
    )
    def escalate(self, actor: str, index: int, expected: str | None) -> None:
        ticket_id = self.pick(index)
        old = self.state.tickets.get(ticket_id)
        done = self.act(
            "escalate",
            actor,
            ticket_id,
            lambda s: s.create_escalation(ticket_id, self.text("why"), expected),
        )
        if done is not None:
            ticket, esc = done
            assert old["status"] != "closed" and ticket.status == "escalated"
            assert self.state.escalations[esc.id]["ticket_id"] == ticket_id

    @rule(
        actor=actor_pick,
        index=st.integers(min_value=0, max_value=9_999),
        to=st.sampled_from(STAGES),
    )
    def advance(self, actor: str, index: int, to: str) -> None:
        ids = sorted(self.state.escalations)
        if not ids:
            return
        esc_id = ids[index % len(ids)]
        esc = self.state.escalations[esc_id]
        ticket_id = esc["ticket_id"]
        done = self.act("advance", actor, ticket_id, lambda s: s.advance_escalation(esc_id, to))
        if done is not None:
            assert STAGES.index(to) > STAGES.index(esc["stage"]), f"{esc['stage']} → {to}"
            assert self.state.escalations[esc_id]["stage"] == to
            if to == "resolved" and esc_id == self.state.tickets[ticket_id]["escalation_id"]:
                assert self.state.tickets[ticket_id]["status"] != "escalated"

    @rule(index=ticket_pick, to=st.sampled_from(STAGES), agent=st.sampled_from(("dana", "eve")))
    def an_agent_escalates_or_advances(self, index: int, to: str, agent: str) -> None:
        ticket_id = self.pick(index)
        doc = self.state.tickets.get(ticket_id)
        esc_ids = sorted(self.state.escalations)
        if doc and doc["escalation_id"] in esc_ids:
            self.advance(agent, esc_ids.index(doc["escalation_id"]), to)
        else:
            self.escalate(agent, index, None)

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def nobody_sees_what_they_may_not(self) -> None:
        problems = visibility_problems(self.services, self.state, self.touched)
        self.touched = set()
        assert not problems, "\n".join(problems)

    @invariant()
    def every_acknowledged_message_is_there_once(self) -> None:
        for ticket_id, message_id, kind, body in self.acked:
            messages = self.state.tickets[ticket_id]["messages"]
            same = [m for m in messages if m["body"] == body]
            assert len(same) == 1, f"{body!r} is in ticket {ticket_id} {len(same)} times"
            assert (same[0]["id"], same[0]["kind"]) == (message_id, kind), same[0]

    @invariant()
    def closed_tickets_only_change_by_spam_restore(self) -> None:
        problems = event_log_problems(self.state)
        assert not problems, "\n".join(problems)

    @invariant()
    def store_check_stays_healthy(self) -> None:
        report = JsonStore(self.root).check()
        assert report.healthy, report.problems
        assert read_state(self.root).files == self.state.files, "check changed files"


FAST = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
SLOW = settings(FAST, max_examples=100, stateful_step_count=50)


def test_random_actions_by_every_role_keep_the_invariants() -> None:
    STATS.clear()
    run_state_machine_as_test(StoreMachine, settings=FAST)
    print(f"state machine: {sum(v for k, v in STATS.items() if ':' in k)} steps, {dict(STATS)}")


@pytest.mark.slow
def test_random_actions_by_every_role_keep_the_invariants_long_run() -> None:
    STATS.clear()
    run_state_machine_as_test(StoreMachine, settings=SLOW)
    print(f"state machine: {sum(v for k, v in STATS.items() if ':' in k)} steps, {dict(STATS)}")


# -- interleaving: several processes on the same few tickets --------------------------------------

WORKERS = 4
OPS_PER_WORKER = 80
SHARED = ("1001", "1002", "1006")  # acme (ann, cc bob), globex (gus, cc ann), globex (gadmin)


def _worker(root: str, worker: int, seed: int, barrier: Any, out: str) -> None:
    try:
        _work(root, worker, seed, barrier, out)
    except BaseException:
        Path(out).write_text(json.dumps({"error": traceback.format_exc()}))
        raise


def _work(root: str, worker: int, seed: int, barrier: Any, out: str) -> None:
    """Reply, note, triage, close as spam and restore, at random, on the shared tickets."""
    rng = random.Random(seed)
    store = JsonStore(root, lock_timeout=60)
    services = {name: LocalService(store, name) for name in USERS}
    acked = []
    outcomes: Counter[str] = Counter()
    barrier.wait(timeout=60)
    for n in range(OPS_PER_WORKER):
        ticket_id = rng.choice(SHARED)
        roll = rng.random()
        try:
            if roll < 0.6:
                doc = json.loads((Path(root) / "tickets" / f"{ticket_id}.json").read_bytes())
                actor = rng.choice([u for u in ACTORS if may_see(u, doc)])
                internal = actor in AGENTS and rng.random() < 0.3
                body = f"{NOTE_MARK} W{worker}-{n}" if internal else f"W{worker}-{n}"
                done = services[actor].reply(ticket_id, body, internal=internal)
                mine = [m.id for m in done.messages if m.body == body]
                acked.append([ticket_id, body, mine])
                outcomes["reply"] += 1
            elif roll < 0.8:
                changes = TicketChanges(
                    priority=rng.choice(PRIORITIES),
                    status=rng.choice((None, "open", "pending", "resolved")),
                    add_tags=(rng.choice(("a", "b", "c")),),
                )
                services[rng.choice(sorted(AGENTS))].update(ticket_id, changes)
                outcomes["update"] += 1
            elif roll < 0.85:
                services[rng.choice(sorted(AGENTS))].close(ticket_id, reason="spam")
                outcomes["close"] += 1
            else:
                services[rng.choice(sorted(AGENTS))].update(ticket_id, TicketChanges(status="open"))
                outcomes["restore"] += 1
        except Conflict:
            outcomes["conflict"] += 1  # e.g. a reply that met the ticket closed as spam
    Path(out).write_text(json.dumps({"acked": acked, "outcomes": outcomes}))


@pytest.mark.slow
def test_interleaved_writers_keep_every_acknowledged_reply_once(tmp_path: Path) -> None:
    root = tmp_path / "store"
    make_store(root)
    before = read_state(root)
    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(WORKERS)
    outs = [tmp_path / f"worker-{w}.json" for w in range(WORKERS)]
    procs = [
        fork.Process(target=_worker, args=(str(root), w, 1000 + w, barrier, str(outs[w])))
        for w in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    try:
        for proc in procs:
            proc.join(120)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(10)
    errors = [o.read_text() for o in outs if o.exists() and '"error"' in o.read_text()]
    assert [p.exitcode for p in procs] == [0] * WORKERS, errors

    after = read_state(root)
    acked: list[tuple[str, str]] = []
    outcomes: Counter[str] = Counter()
    for out in outs:
        result = json.loads(out.read_text())
        acked += [(t, body) for t, body, ids in result["acked"]]
        assert all(len(ids) == 1 for _t, _b, ids in result["acked"]), "a reply came back twice"
        outcomes.update(result["outcomes"])
    assert outcomes["reply"] >= WORKERS * OPS_PER_WORKER // 3, outcomes

    problems = []
    for ticket_id, body in acked:
        count = sum(m["body"] == body for m in after.tickets[ticket_id]["messages"])
        if count != 1:
            problems.append(f"{body!r} is in ticket {ticket_id} {count} times")
    written = {
        (t, m["body"])
        for t in SHARED
        for m in after.tickets[t]["messages"]
        if re.search(r"W\d+-\d+$", m["body"])
    }
    if written != set(acked):
        problems.append(f"messages nobody was told of: {sorted(written - set(acked))[:5]}")
    for ticket_id in SHARED:
        old, new = before.tickets[ticket_id], after.tickets[ticket_id]
        if new["messages"][: len(old["messages"])] != old["messages"]:
            problems.append(f"ticket {ticket_id}: the seed thread was rewritten")
        if new["events"][: len(old["events"])] != old["events"]:
            problems.append(f"ticket {ticket_id}: the seed events were rewritten")
        by_message = Counter(
            e["detail"].get("message") for e in new["events"] if e["action"] in ("replied", "noted")
        )
        for m in new["messages"][len(old["messages"]) :]:
            if by_message[m["id"]] != 1:
                problems.append(
                    f"ticket {ticket_id}: message {m['id']} has {by_message[m['id']]} events"
                )
    for ticket_id in set(before.tickets) - set(SHARED):
        if after.files[f"tickets/{ticket_id}.json"] != before.files[f"tickets/{ticket_id}.json"]:
            problems.append(f"ticket {ticket_id} changed, though nobody wrote to it")
    problems += event_log_problems(after)
    services = {name: LocalService(JsonStore(root), name) for name in USERS}
    problems += visibility_problems(services, after, set(after.tickets))
    report = JsonStore(root).check()
    problems += report.problems
    print(f"interleaving: {len(acked)} acknowledged replies checked, {dict(outcomes)}")
    assert not problems, f"{len(acked)} acknowledged replies, {outcomes}:\n" + "\n".join(problems)
