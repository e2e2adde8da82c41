"""Deterministic generator of realistic store data, in the `store import` format (JSON Lines).

Usage (from a checkout, no installation needed)::

    python bench/gen.py 100000 > tickets-100k.jsonl
    python bench/gen.py 1000 --seed 7 > small.jsonl
    python bench/gen.py 1000 --long-thread 500 > long.jsonl   # + ticket 2001, 500 messages
    python -m supportctl --store /tmp/big store import tickets-100k.jsonl

or as a library (``bench/`` on ``sys.path``)::

    from gen import generate
    for line in generate(1000, seed=0):  # one JSON document per string, no newline
        ...
    extra = long_ticket("2001", messages=500, seed=0)  # one more ticket, a long thread

What it makes, always the same for the same ``n`` and ``seed``:

* eight orgs: seven customer brands of uneven size plus ``support``, the vendor's own;
* about 300 users: brand admins, plain users (a few FedRAMP), and the agents of ``support``
  (:data:`AGENTS`; the first one is the agent the benchmarks act as);
* ``n`` tickets ``1001``, ``1002``, … created in id order over the two years before
  :data:`END`, of every type, category and priority, with skewed statuses (~20 % open, 10 % new,
  10 % pending, 5 % escalated, 15 % resolved, 40 % closed), each with a consistent thread of
  1–8 messages (email, chat, internal notes, a few hundred characters each, now and then with
  attachment metadata), an audit trail of events, and the usual extras (cc users, tags,
  resources, proxy-access overrides, call details, feedback on closed tickets);
* one escalation ``CP-…`` for every escalated ticket (and for a few that were escalated and
  have moved on since).

Every requester is a user of the ticket's org; every assignee is an agent.  ``main`` checks a
sample of the lines against ``supportctl.models`` (``--check-every``, 0 = none) while writing.
100,000 tickets take a few seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from random import Random
from typing import Any

__all__ = ["AGENTS", "END", "generate", "long_ticket", "validate_line"]

# Activity never goes past this instant (fixed, so that the output is deterministic).
END = "2026-11-01T00:00:00Z"
_END = 1793491200  # END as a POSIX time
_SPAN = 730 * 86400  # tickets are created over the two years before END
_HOUR = 3600
_DAY = 86400

# -- orgs and users -----------------------------------------------------------------------------

# id, name, data centre, package, relative size (users and tickets)
_ORGS: tuple[tuple[str, str, str, str, int], ...] = (
    ("acme", "Acme Corp", "US-1 (Washington DC)", "CX Enterprise", 30),
    ("globex", "Globex Corporation", "EU-1 (Frankfurt)", "CX Professional", 18),
    ("initech", "Initech", "US-2 (Oregon)", "EX Professional", 14),
    ("umbrella", "Umbrella Health", "US-1 (Washington DC)", "CX Enterprise (FedRAMP)", 12),
    ("hooli", "Hooli", "US-2 (Oregon)", "CX Professional", 11),
    ("wayne", "Wayne Enterprises", "EU-2 (London)", "BX Enterprise", 9),
    ("tyrell", "Tyrell KK", "AP-1 (Tokyo)", "CX Enterprise", 6),
)
SUPPORT_ORG = "support"
AGENTS: tuple[str, ...] = (
    "sam.okafor",
    "priya.raman",
    "lucas.moreau",
    "mei.tanaka",
    "omar.haddad",
    "ines.silva",
    "jonas.berg",
    "grace.lee",
)
_FIRST_NAMES = (
    "alice ben chloe dmitri emma felix gina hiro isabel jack kenji laura mateo nina oscar paula "
    "quentin rosa stefan tara umar vera walter xenia yusuf zoe aaron bianca carlos daria elena "
    "farid hana ivan julia kofi lena marco noor olga pedro ravi sara tomas ulla victor wanda "
    "yara anton beatriz colin delia erik fatima"
)
_FIRST = tuple(_FIRST_NAMES.split())
_LAST_NAMES = (
    "nakamura carter martin volkov sato reyes oldham kim alvarez tanaka fischer rossi novak "
    "schmidt dubois garcia lopez muller smith jones brown wilson taylor andersen ito suzuki "
    "kowalski nowak horvat papadopoulos silva costa hansen larsen bauer weber meyer wagner "
    "becker hoffmann schulz koch richter klein wolf schroder neumann schwarz zimmermann "
    "braun kruger hartmann lange schmitt werner krause"
)
_LAST = tuple(_LAST_NAMES.split())
_USER_COUNT = 300

# -- ticket shape -------------------------------------------------------------------------------

_TYPES = ("email", "web", "chat", "phone", "call")
_TYPE_W = (40, 25, 20, 10, 5)
_CATEGORIES = ("technical", "billing", "general")
_CATEGORY_W = (60, 20, 20)
_PRIORITIES = ("low", "normal", "high", "urgent")
_PRIORITY_W = (20, 55, 20, 5)
_STATUSES = ("open", "new", "pending", "escalated", "resolved", "closed")
_STATUS_W = (20, 10, 10, 5, 15, 40)
_CLOSE_REASONS = (
    "solved",
    "spam",
    "duplicate",
    "test",
    "abuse",
    "chat",
    "phone",
    "expired",
    "other",
)
_CLOSE_W = (76, 5, 5, 1, 1, 3, 3, 4, 2)
_LANGUAGES = ("en", "ja", "de", "fr", "es")
_LANGUAGE_W = (80, 8, 5, 4, 3)
_MESSAGE_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8)
_MESSAGE_COUNT_W = (14, 22, 20, 15, 11, 8, 6, 4)
_GROUPS = {"technical": "tier-1", "billing": "billing", "general": "customer-care"}
# mean hours until an agent reacts, by priority
_AGENT_DELAY = {"low": 30.0, "normal": 12.0, "high": 4.0, "urgent": 1.0}
_TAG_NAMES = (
    "sso api export dashboard invoice renewal login mobile integration performance "
    "data-import permissions vip bug how-to feature-request distribution email-deliverability "
    "reporting translation"
)
_TAGS = tuple(_TAG_NAMES.split())
_KB = "https://support.example.com/articles/"
_RESOURCES = (
    ("Troubleshooting single sign-on", _KB + "sso-troubleshooting"),
    ("Exporting response data", _KB + "export-data"),
    ("Understanding your invoice", _KB + "invoice-explained"),
    ("API rate limits", _KB + "api-rate-limits"),
    ("Managing user permissions", _KB + "user-permissions"),
    ("Email deliverability checklist", _KB + "email-deliverability"),
    ("Dashboard filters explained", _KB + "dashboard-filters"),
)

_SUBJECT_PARTS = {
    "technical": (
        (
            "Cannot",
            "Unable to",
            "Error when trying to",
            "Intermittent failure to",
            "Timeout while trying to",
        ),
        (
            "export survey responses to CSV",
            "log in through SSO",
            "load the results dashboard",
            "import contacts from the mailing list",
            "send distribution emails",
            "connect the Salesforce integration",
            "create API tokens",
            "publish the new survey version",
            "open reports on mobile",
            "schedule the weekly report",
        ),
    ),
    "billing": (
        (
            "Question about",
            "Wrong amount on",
            "Need a copy of",
            "Please update",
            "Duplicate charge on",
        ),
        (
            "our latest invoice",
            "the renewal quote",
            "the purchase order number",
            "the billing contact",
            "the license count",
            "the VAT number on invoices",
            "the credit card on file",
        ),
    ),
    "general": (
        ("How do we", "Is it possible to", "Request to", "Advice needed to", "Best way to"),
        (
            "add more brand admins",
            "change our data center",
            "set up a new division",
            "translate surveys into Japanese",
            "archive old projects",
            "organise a training session",
            "rename our organisation",
        ),
    ),
}

_CUSTOMER_SENTENCES = {
    "technical": (
        "Since yesterday's release, the page keeps spinning and finally shows a generic error.",
        "Several colleagues in different offices see the same behaviour, so it is not only me.",
        "We already cleared the browser cache and tried Chrome, Firefox and Edge without luck.",
        "The export starts normally but stops at about 60 % and the file is never produced.",
        "Our identity provider logs show a successful assertion, yet we land on the login page.",
        "This blocks the quarterly report our leadership team expects on Friday morning.",
        "I attached the HAR file captured while reproducing the problem a few minutes ago.",
        "The API answers 429 even though we send fewer than ten requests per minute.",
        "Nothing changed on our side as far as I know; the same job worked last week.",
        "Could you check whether something changed in the distribution settings of our brand?",
    ),
    "billing": (
        "The invoice we received this month lists 250 licenses but our contract says 200.",
        "Our accounts payable team needs the purchase order number printed on every invoice.",
        "We were charged twice for the same period according to our bank statement.",
        "Please send the invoice to the new billing address of our finance department.",
        "Could you confirm the renewal date and whether the price stays the same next year?",
        "Our VAT number changed after the merger, the new one is in the attached letter.",
    ),
    "general": (
        "We are reorganising our teams and would like each division to manage its own users.",
        "Several of our new hires need access before the training session next Tuesday.",
        "Is there documentation you could point us to before we start the rollout?",
        "We would like to understand the options and any impact on existing projects.",
        "Our legal team asked whether the data can stay in the current data center.",
        "Thank you in advance for any guidance you can give us on this.",
    ),
}
_CUSTOMER_FOLLOWUPS = (
    "Thanks for the quick answer, I tried the steps you suggested this morning.",
    "Unfortunately the problem is still there after the change, see the new screenshot.",
    "That worked for most of our users, but two of them still see the old behaviour.",
    "Any update on this? Our team is waiting for it to continue the project.",
    "Here is the information you asked for; let me know if you need anything else.",
    "I can confirm it works now. Thank you very much for your help!",
    "We are available for a call tomorrow afternoon if that is easier for you.",
)
_AGENT_SENTENCES = (
    "Thank you for contacting support, and sorry for the trouble this is causing.",
    "I was able to reproduce the behaviour on a test brand with the same settings.",
    "Could you send us the exact time it happened and the ID of an affected survey?",
    "Our engineers rolled out a fix for this issue last night; please try again now.",
    "Please clear the cached session by logging out of every tab, then sign in again.",
    "I have updated the configuration of your brand; the change is effective immediately.",
    "This is expected behaviour with the current license, but there is a workaround.",
    "I have forwarded your request to our billing team, who will send a corrected invoice.",
    "Let me know if anything is still unclear; I will keep this ticket open until then.",
    "I will mark this ticket as resolved; a reply from you reopens it at any time.",
)
_NOTE_SENTENCES = (
    "Checked the logs: the requests fail at the load balancer with a 504.",
    "Customer is on the enterprise plan, priority handling applies.",
    "Same symptom as two other tickets this week, probably the same root cause.",
    "Asked engineering in the internal channel; waiting for their answer.",
    "Billing confirmed the duplicate charge, refund scheduled for the next run.",
    "Do not share the internal workaround link with the customer.",
)
_CALL_NOTES = (
    "Call summary: customer walked me through the problem and shared their screen.",
    "Phone call with the customer; agreed to follow up by email with the next steps.",
    "Customer called about this issue; details collected, investigating now.",
)
_GREETINGS = ("Hello,", "Hi,", "Hi team,", "Good morning,", "Dear support,")
_SIGN_OFFS = ("Best regards", "Thanks", "Kind regards", "Cheers", "Many thanks")
_AGENT_GREETINGS = ("Hello", "Hi", "Dear")
_ESCALATION_TEXT = (
    "Engineering investigation needed: the behaviour is reproducible and affects several users.",
    "Suspected regression in the latest release; logs and reproduction steps attached.",
    "Data inconsistency between the dashboard and the export for the customer's brand.",
)
_STAGES = ("submitted", "evaluating", "in_engineering", "confirm_resolution", "resolved")
_FEEDBACK_COMMENTS = (
    None,
    None,
    "Quick and helpful, thanks!",
    "It took a while, but the answer was good.",
    "The problem is solved, thank you.",
    "I had to explain the issue twice.",
)
_ATTACHMENTS = (
    ("screenshot.png", "image/png"),
    ("error.png", "image/png"),
    ("network.har", "application/json"),
    ("export.csv", "text/csv"),
    ("invoice.pdf", "application/pdf"),
    ("logs.txt", "text/plain"),
    ("users.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("recording.mp4", "video/mp4"),
)

_DUMPS_KW: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}


def _ts(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _cum(weights: Iterable[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


class _World:
    """Orgs and users, and the weighted choices tickets are drawn from."""

    def __init__(self, rng: Random) -> None:
        self.orgs: list[dict[str, Any]] = []
        self.users: list[dict[str, Any]] = []
        members: dict[str, list[str]] = {}
        taken: set[str] = set(AGENTS)

        def new_name() -> tuple[str, str]:
            while True:
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
                username = f"{first}.{last}"
                if username not in taken:
                    taken.add(username)
                    return username, f"{first.title()} {last.title()}"

        total_size = sum(size for *_, size in _ORGS)
        customers = _USER_COUNT - len(AGENTS)
        for org_id, name, dc, package, size in _ORGS:
            domain = f"{org_id}.example"
            count = max(4, customers * size // total_size)
            names = []
            for i in range(count):
                username, full = new_name()
                role = "admin" if i < 2 else "user"
                fedramp = rng.random() < (0.25 if "FedRAMP" in package else 0.01) and i >= 2
                self.users.append(
                    {
                        "username": username,
                        "name": full,
                        "email": f"{username}@{domain}",
                        "org": org_id,
                        "role": role,
                        "fedramp": bool(fedramp),
                        "support_access": rng.random() < 0.3,
                    }
                )
                names.append(username)
            members[org_id] = names
            admin_name = self.users[-count]["name"]
            self.orgs.append(
                {
                    "id": org_id,
                    "name": name,
                    "data_center": dc,
                    "package": package,
                    "account_team": {
                        "success_manager": f"{rng.choice(_FIRST).title()} {rng.choice(_LAST).title()}",
                        "account_executive": f"{rng.choice(_FIRST).title()} {rng.choice(_LAST).title()}",
                        "technical_account_manager": (
                            f"{rng.choice(_FIRST).title()} {rng.choice(_LAST).title()}"
                            if size >= 12
                            else None
                        ),
                    },
                    "billing": {
                        "primary_contact": {
                            "name": admin_name,
                            "email": self.users[-count]["email"],
                            "updated_at": _ts(_END - _SPAN + rng.randrange(_SPAN)),
                        },
                        "billing_contact": (
                            {
                                "name": "Accounts Payable",
                                "email": f"accounts.payable@{domain}",
                                "updated_at": _ts(_END - _SPAN + rng.randrange(_SPAN)),
                            }
                            if size >= 10
                            else None
                        ),
                    },
                }
            )
        self.orgs.append(
            {
                "id": SUPPORT_ORG,
                "name": "Customer Success Support",
                "data_center": "US-1 (Washington DC)",
                "package": "Internal",
                "account_team": {
                    "success_manager": None,
                    "account_executive": None,
                    "technical_account_manager": None,
                },
                "billing": {"primary_contact": None, "billing_contact": None},
            }
        )
        for username in AGENTS:
            first, last = username.split(".")
            self.users.append(
                {
                    "username": username,
                    "name": f"{first.title()} {last.title()}",
                    "email": f"{username}@support.example",
                    "org": SUPPORT_ORG,
                    "role": "agent",
                    "fedramp": False,
                    "support_access": False,
                }
            )
        self.org_ids = [org[0] for org in _ORGS]
        self.org_cum = _cum(org[4] for org in _ORGS)
        self.members = members
        # Within an org, a few users file most of the tickets (Zipf-like).
        self.member_cum = {
            org: _cum(1.0 / (i + 1) for i in range(len(m))) for org, m in members.items()
        }
        self.agent_cum = _cum((3, 3, 2, 2, 2, 1, 1, 1))


class _Ticket:
    """Plays one ticket's life: thread, trail, status, and the times they happened at."""

    def __init__(self, rng: Random, world: _World, ticket_id: str, created: int) -> None:
        self.rng = rng
        self.id = ticket_id
        self.created = self.clock = created
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        choices = rng.choices
        self.type = choices(_TYPES, _TYPE_W)[0]
        self.category = choices(_CATEGORIES, _CATEGORY_W)[0]
        self.priority = choices(_PRIORITIES, _PRIORITY_W)[0]
        org = choices(world.org_ids, cum_weights=world.org_cum)[0]
        self.org = org
        members = world.members[org]
        self.requester = choices(members, cum_weights=world.member_cum[org])[0]
        self.cc: list[str] = []
        roll = rng.random()
        if roll < 0.2:  # 15 % have one more user on the ticket, 5 % two
            k = 2 if roll < 0.05 else 1
            self.cc = [m for m in rng.sample(members, k + 1) if m != self.requester][:k]
        self.agent = choices(AGENTS, cum_weights=world.agent_cum)[0]
        self.status = "new"
        self.assignee: str | None = None
        self.group: str | None = None
        self.resolution: str | None = None
        self.closed_at: str | None = None
        self.tags = sorted(rng.sample(_TAGS, choices((0, 1, 2, 3), (35, 35, 20, 10))[0]))
        self.proxy: dict[str, bool] = {}
        self.feedback: dict[str, Any] | None = None
        self.escalation: dict[str, Any] | None = None

    # -- helpers -----------------------------------------------------------------------------
    def _tick(self, mean_hours: float) -> str:
        gap = int(self.rng.expovariate(1.0 / (mean_hours * _HOUR))) + 60
        self.clock = min(self.clock + gap, _END - 1)
        return _ts(self.clock)

    def _event(self, at: str, actor: str, action: str, detail: dict[str, Any]) -> None:
        self.events.append({"at": at, "actor": actor, "action": action, "detail": detail})

    def _set_status(self, at: str, actor: str, to: str) -> None:
        self._event(at, actor, "status_changed", {"from": self.status, "to": to})
        self.status = to

    def _body(self, author_kind: str, first: bool) -> str:
        rng = self.rng
        if author_kind == "customer":
            pool = _CUSTOMER_SENTENCES[self.category]
            if first:
                picked = rng.sample(pool, rng.randint(3, 5))
            else:
                picked = rng.sample(_CUSTOMER_FOLLOWUPS, rng.randint(1, 2))
                picked += rng.sample(pool, rng.randint(1, 2))
            return (
                f"{rng.choice(_GREETINGS)}\n\n{' '.join(picked)}\n\n{rng.choice(_SIGN_OFFS)},\n"
                f"{self.requester.split('.')[0].title()}"
            )
        if author_kind == "note":
            return " ".join(rng.sample(_NOTE_SENTENCES, rng.randint(1, 3)))
        if author_kind == "call":
            return rng.choice(_CALL_NOTES) + " " + " ".join(rng.sample(_NOTE_SENTENCES, 2))
        picked = rng.sample(_AGENT_SENTENCES, rng.randint(3, 5))
        name = self.requester.split(".")[0].title()
        return (
            f"{rng.choice(_AGENT_GREETINGS)} {name},\n\n{' '.join(picked)}\n\n"
            f"Best regards,\n{self.agent.split('.')[0].title()} (Customer Success Support)"
        )

    def _attachments(self) -> list[dict[str, Any]]:
        rng = self.rng
        if rng.random() >= 0.12:
            return []
        out = []
        for name, content_type in rng.sample(_ATTACHMENTS, rng.choice((1, 1, 1, 2, 3))):
            out.append(
                {
                    "name": name,
                    "size": rng.randint(2_000, 512_000),
                    "sha256": f"{rng.getrandbits(256):064x}",
                    "content_type": content_type,
                }
            )
        return out

    def _message(self, at: str, kind: str, author: str, body: str, files: bool) -> str:
        mid = f"m{len(self.messages) + 1}"
        self.messages.append(
            {
                "id": mid,
                "kind": kind,
                "author": author,
                "at": at,
                "body": body,
                "attachments": self._attachments() if files else [],
            }
        )
        return mid

    # -- the life of the ticket ---------------------------------------------------------------
    def play(self, target: str, message_count: int) -> dict[str, Any]:
        rng = self.rng
        at = _ts(self.clock)
        self._event(at, self.requester, "created", {})
        # The opening: what the customer wrote, or the agent's notes of the call.
        if self.type in ("phone", "call"):
            self._message(at, "note", self.agent, self._body("call", True), False)
        else:
            kind = "chat" if self.type == "chat" else "email"
            self._message(at, kind, self.requester, self._body("customer", True), True)
        if self.type in ("email", "web") and rng.random() < 0.5:
            self._message(
                at,
                "system",
                "system",
                "We received your request and a support rep will reply soon.",
                False,
            )
        reason = None
        if target == "closed":
            reason = rng.choices(_CLOSE_REASONS, _CLOSE_W)[0]
        junk = reason in ("spam", "test", "abuse", "duplicate", "expired")
        if target == "new" or junk:
            message_count = min(message_count, 2 if target == "new" else 1)
        else:
            self._assign()
        # The conversation: agent and customer take turns, with internal notes in between.
        agent_turn = True
        delay = _AGENT_DELAY[self.priority]
        while len(self.messages) < message_count:
            if self.assignee and rng.random() < 0.15:
                at = self._tick(delay / 2)
                mid = self._message(at, "note", self.assignee, self._body("note", False), False)
                self._event(at, self.assignee, "noted", {"message": mid})
                continue
            if agent_turn and self.assignee:
                at = self._tick(delay)
                kind = "chat" if self.type == "chat" and len(self.messages) < 4 else "email"
                mid = self._message(at, kind, self.assignee, self._body("agent", False), False)
                self._event(at, self.assignee, "replied", {"message": mid})
            else:
                at = self._tick(20)
                author = self.requester
                if self.cc and rng.random() < 0.3:
                    author = rng.choice(self.cc)
                kind = "chat" if self.type == "chat" and len(self.messages) < 4 else "email"
                mid = self._message(at, kind, author, self._body("customer", False), True)
                self._event(at, author, "replied", {"message": mid})
            agent_turn = not agent_turn
        self._extras()
        self._finish(target, reason)
        return self._document()

    def _assign(self) -> None:
        at = self._tick(_AGENT_DELAY[self.priority])
        self._event(at, self.agent, "assigned", {"from": None, "to": self.agent})
        self.assignee = self.agent
        group = _GROUPS[self.category]
        self._event(at, self.agent, "group_changed", {"from": None, "to": group})
        self.group = group
        self._set_status(at, self.agent, "open")

    def _extras(self) -> None:
        rng = self.rng
        if self.assignee and rng.random() < 0.08:
            at = self._tick(2)
            to = "high" if self.priority in ("low", "normal") else "urgent"
            self._event(at, self.assignee, "priority_changed", {"from": self.priority, "to": to})
            self.priority = to
        if self.assignee and rng.random() < 0.1:
            at = self._tick(2)
            tags = sorted({*self.tags, rng.choice(_TAGS)})
            self._event(at, self.assignee, "tags_changed", {"from": self.tags, "to": tags})
            self.tags = tags
        if rng.random() < 0.05:
            at = self._tick(6)
            before = self.proxy.get(self.requester, False)
            self._event(
                at,
                self.requester,
                "proxy_access_changed",
                {"user": self.requester, "from": before, "to": not before},
            )
            self.proxy[self.requester] = not before

    def _escalate(self, final_stage: str) -> None:
        rng = self.rng
        at = self._tick(_AGENT_DELAY[self.priority])
        self.escalation = {
            "id": "",  # numbered by generate(), in ticket order
            "ticket_id": self.id,
            "description": rng.choice(_ESCALATION_TEXT),
            "stage": "submitted",
            "timeline": [{"stage": "submitted", "at": at}],
            "expected_resolution": None,
            "created_at": at,
            "updated_at": at,
        }
        self._event(at, self.assignee or self.agent, "escalated", {"stage": "submitted"})
        self._set_status(at, self.assignee or self.agent, "escalated")
        for stage in _STAGES[1 : _STAGES.index(final_stage) + 1]:
            if stage != final_stage and rng.random() < 0.25:
                continue  # a skipped stage is not in the timeline
            at = self._tick(48)
            self._event(
                at,
                self.agent,
                "escalation_advanced",
                {"from": self.escalation["stage"], "to": stage},
            )
            self.escalation["stage"] = stage
            self.escalation["timeline"].append({"stage": stage, "at": at})
            self.escalation["updated_at"] = at
            if stage == "resolved":
                self._set_status(at, self.agent, "open")
        if final_stage != "resolved" and rng.random() < 0.6:
            days = rng.randint(3, 45)
            self.escalation["expected_resolution"] = _ts(self.clock + days * _DAY)[:10]

    def _finish(self, target: str, reason: str | None) -> None:
        rng = self.rng
        agent = self.assignee or self.agent
        if target in ("new", "open"):
            if target == "open" and self.category == "technical" and rng.random() < 0.05:
                self._escalate("resolved")
            return
        if target == "pending":
            self._set_status(self._tick(1), agent, "pending")
            return
        if target == "escalated":
            self._escalate(rng.choice(_STAGES[:-1]))
            return
        if target == "resolved" or reason == "solved":
            if self.category == "technical" and rng.random() < 0.04:
                self._escalate("resolved")
            self._set_status(self._tick(2), agent, "resolved")
        if target == "resolved":
            return
        # closed
        if reason == "solved":
            closer = self.requester if rng.random() < 0.3 else agent
            at = self._tick(14 * 24 if closer == agent else 24)
        else:
            closer, at = agent, self._tick(_AGENT_DELAY[self.priority])
        assert reason is not None
        self._event(
            at, closer, "closed", {"resolution": reason, "from": self.status, "to": "closed"}
        )
        self.status, self.resolution, self.closed_at = "closed", reason, at
        if reason == "solved" and rng.random() < 0.3:
            at = self._tick(24)
            rating = rng.choices((1, 2, 3, 4, 5), (4, 4, 10, 30, 52))[0]
            self.feedback = {"rating": rating, "comment": rng.choice(_FEEDBACK_COMMENTS), "at": at}
            self._event(at, self.requester, "feedback", {"rating": rating})

    def _subject(self) -> str:
        rng = self.rng
        if self.type in ("phone", "call") and rng.random() < 0.4:
            return ""  # displayed as "Phone call – …" / "Conference call – …"
        lead, tail = _SUBJECT_PARTS[self.category]
        return f"{rng.choice(lead)} {rng.choice(tail)}"

    def _call(self) -> dict[str, Any] | None:
        if self.type != "call":
            return None
        rng = self.rng
        when = (self.created // _HOUR + rng.randint(24, 120)) * _HOUR
        accepted = rng.random() < 0.7
        return {
            "scheduled_at": _ts(when),
            "status": "accepted" if accepted else "pending",
            "meeting_url": f"https://meet.example.com/j/{rng.randrange(10**10, 10**11)}"
            if accepted
            else None,
            "passcode": f"{rng.randrange(10**6):06d}" if accepted else None,
        }

    def _document(self) -> dict[str, Any]:
        rng = self.rng
        resources = []
        if self.assignee and rng.random() < 0.12:
            resources = [
                {"title": t, "url": u} for t, u in rng.sample(_RESOURCES, rng.randint(1, 2))
            ]
        return {
            "kind": "ticket",
            "id": self.id,
            "subject": self._subject(),
            "type": self.type,
            "category": self.category,
            "status": self.status,
            "resolution": self.resolution,
            "priority": self.priority,
            "requester": self.requester,
            "org": self.org,
            "cc": self.cc,
            "assignee": self.assignee,
            "group": self.group,
            "language": self.rng.choices(_LANGUAGES, _LANGUAGE_W)[0],
            "tags": self.tags,
            "created_at": _ts(self.created),
            "updated_at": _ts(self.clock),
            "closed_at": self.closed_at,
            "proxy_access": self.proxy,
            "call": self._call(),
            "escalation_id": None,  # filled in by generate()
            "resources": resources,
            "feedback": self.feedback,
            "messages": self.messages,
            "events": self.events,
        }


def generate(n: int, seed: int = 0) -> Iterator[str]:
    """The import lines (without newlines) of a store of ``n`` tickets: orgs, users,
    tickets ``1001``… in id order, then escalations.  Same ``n`` and ``seed``, same lines."""
    rng = Random(seed)
    world = _World(rng)
    dumps = json.JSONEncoder(**_DUMPS_KW).encode
    for org in world.orgs:
        yield dumps({"kind": "org", **org})
    for user in world.users:
        yield dumps({"kind": "user", **user})
    escalations: list[dict[str, Any]] = []
    start = _END - _SPAN
    step = (_SPAN - 3 * _DAY) / max(n, 1)  # the newest ticket is three days old
    statuses, status_cum = _STATUSES, _cum(_STATUS_W)
    counts, count_cum = _MESSAGE_COUNTS, _cum(_MESSAGE_COUNT_W)
    choices = rng.choices
    for i in range(n):
        created = int(start + (i + rng.random()) * step)
        ticket = _Ticket(rng, world, str(1001 + i), created)
        target = choices(statuses, cum_weights=status_cum)[0]
        doc = ticket.play(target, choices(counts, cum_weights=count_cum)[0])
        if ticket.escalation is not None:
            esc = ticket.escalation
            esc["id"] = f"CP-{1001 + len(escalations)}"
            doc["escalation_id"] = esc["id"]
            for event in doc["events"]:
                if event["action"] in ("escalated", "escalation_advanced"):
                    event["detail"] = {"escalation_id": esc["id"], **event["detail"]}
            escalations.append(esc)
        yield dumps(doc)
    for esc in escalations:
        yield dumps({"kind": "escalation", **esc})


def long_ticket(ticket_id: str, messages: int = 500, seed: int = 0) -> str:
    """The import line of one extra email ticket ``ticket_id`` with a thread of ``messages``
    messages (at least 2), e.g. for timing ``tickets show`` on a long thread.

    Its people come from the world of ``generate(n, seed)`` (same ``seed``), so it imports
    into any store built from that output, after it; pick an id the store does not hold
    (``str(1001 + n)``).  It is ``pending``, assigned and not escalated, and it draws from its
    own random stream: ``generate`` is unchanged by it.  Same arguments, same line."""
    world = _World(Random(seed))
    rng = Random(f"long-thread:{seed}:{ticket_id}:{messages}")
    ticket = _Ticket(rng, world, ticket_id, _END - _SPAN)
    ticket.type = "email"
    doc = ticket.play("pending", messages)
    return json.JSONEncoder(**_DUMPS_KW).encode(doc)


# -- checking -----------------------------------------------------------------------------------


def validate_line(line: str) -> None:
    """Parse one line as `store import` does; raise ValueError naming what is wrong."""
    from supportctl.models import KINDS

    doc = json.loads(line)
    kind = doc.pop("kind")
    KINDS[kind].from_dict(doc)  # validate=True: every field checked


def _ensure_importable() -> None:
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write N realistic tickets (with their orgs, users and escalations) "
        "as JSON Lines for `supportctl store import`."
    )
    parser.add_argument("n", type=int, help="number of tickets")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--check-every",
        type=int,
        default=200,
        metavar="K",
        help="validate every org, user and escalation and every K-th ticket against "
        "supportctl.models (default 200; 0 = no check)",
    )
    parser.add_argument(
        "--long-thread",
        type=int,
        default=0,
        metavar="M",
        help="after everything else, one more email ticket (id 1001+N) with a thread of M "
        "messages (see long_ticket(); default 0 = none)",
    )
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be 0 or more")
    if args.long_thread < 0 or args.long_thread == 1:
        parser.error("--long-thread must be 0 (none) or 2 or more")
    if args.check_every:
        _ensure_importable()
    out = sys.stdout
    ticket_number = 0
    checked = 0
    try:
        lines: Iterable[str] = generate(args.n, args.seed)
        if args.long_thread:
            extra = long_ticket(str(1001 + args.n), args.long_thread, args.seed)
            lines = itertools.chain(lines, (extra,))
        for line in lines:
            if args.check_every:
                is_ticket = line.startswith('{"kind":"ticket"')
                if is_ticket:
                    ticket_number += 1
                if not is_ticket or (ticket_number - 1) % args.check_every == 0:
                    try:
                        validate_line(line)
                    except (ValueError, KeyError, TypeError) as exc:
                        print(
                            f"gen.py: generated an invalid document: {exc}\n{line}", file=sys.stderr
                        )
                        return 1
                    checked += 1
            out.write(line)
            out.write("\n")
        out.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if args.check_every:
        print(f"gen.py: {args.n} tickets written, {checked} documents validated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
