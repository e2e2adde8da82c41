"""The demo store of ``store init --demo`` (SPEC §4): a small, realistic, deterministic data set.

Three orgs: the customer brand ``acme`` (a brand admin, four users, a FedRAMP user), a second
customer ``globex`` (whose tickets an acme admin must not see) and ``support``, the vendor's own
org, home of the two agents.  Thirty tickets ``1001``–``1030`` cover every channel, status,
category, priority and the usual closing reasons; six escalations ``CP-1201``–``CP-1206`` cover
every stage.  About 150 generated tickets from ``1031`` on add four months of history (replies,
resolutions, SLA targets met and missed) for ``report`` to show; see :func:`_history`.

Tickets are written as a table of specs, each a list of steps (messages, triage actions, closing,
feedback...) separated by gaps in hours.  Replaying the steps gives every ticket a consistent
thread, audit trail (``events``), status and timestamps, all relative to the ``now`` passed in.
Attachment metadata is derived from deterministic bytes (:func:`attachment_bytes`), so a store
can also hold the files themselves (:func:`demo_attachment_blobs`).
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from supportctl.timeutil import format_ts

__all__ = [
    "DEMO_ADMIN",
    "DEMO_TRIGGERS",
    "attachment_bytes",
    "demo_attachment_blobs",
    "demo_documents",
]

DEMO_ADMIN = "alice"

# -- orgs and users -----------------------------------------------------------------------------

# username, name, org, role, fedramp, support_access
_USERS: tuple[tuple[str, str, str, str, bool, bool], ...] = (
    ("alice", "Alice Nakamura", "acme", "admin", False, False),
    ("ben", "Ben Carter", "acme", "user", False, True),
    ("chloe", "Chloe Martin", "acme", "user", False, False),
    ("dmitri", "Dmitri Volkov", "acme", "user", False, False),
    ("kenji", "Kenji Sato", "acme", "user", False, False),
    ("fiona", "Fiona Reyes", "acme", "user", True, False),
    ("gary", "Gary Oldham", "globex", "admin", False, False),
    ("sam", "Sam Okafor", "support", "agent", False, False),
    ("priya", "Priya Raman", "support", "agent", False, False),
)
# The support teams of the agents (users' `groups`): who `least-busy` triggers choose from.
_GROUPS = {"sam": ["Tier 1", "Engineering liaison"], "priya": ["Billing", "Tier 1"]}

#: Example triggers (SPEC §13) that `store init --demo` writes into a config that has none,
#: so that a new user can try `triggers test` on the demo's tickets (e.g. 1025, 1030).
DEMO_TRIGGERS: dict[str, dict[str, Any]] = {
    "billing": {
        "category": "billing",
        "group": "Billing",
        "assignee": "least-busy",
        "add_tags": ["billing"],
    },
    "tier1-technical": {
        "category": "technical",
        "type": ["web", "email", "chat"],
        "group": "Tier 1",
        "assignee": "least-busy",
    },
    "outage": {
        "subject_contains": ["outage", "is down", "not loading"],
        "set_priority": "urgent",
        "add_tags": ["outage"],
    },
}
_DOMAINS = {"acme": "acme.example", "globex": "globex.example", "support": "support.example"}


def _contact(name: str, email: str, updated: datetime) -> dict[str, str]:
    return {"name": name, "email": email, "updated_at": format_ts(updated)}


def _orgs(now: datetime) -> list[dict[str, Any]]:
    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    def team(*names: str | None) -> dict[str, dict[str, str] | None]:
        """The account team as contacts (SPEC §2): people of the support vendor."""
        keys = ("success_manager", "account_executive", "technical_account_manager")
        return {
            key: _contact(name, f"{name.lower().replace(' ', '.')}@support.example", ago(300))
            if name
            else None
            for key, name in zip(keys, names, strict=True)
        }

    def renews(days: int) -> str:
        return (now + timedelta(days=days)).date().isoformat()

    return [
        {
            "id": "acme",
            "name": "Acme Corp",
            "data_center": "US-1 (Washington DC)",
            "package": "CX Enterprise",
            # Within 150 days and never confirmed: admins see the renewal notice (SPEC §14).
            "renewal_date": renews(70),
            "account_team": team("Rachel Kim", "Tom Alvarez", "Hiro Tanaka"),
            "billing": {
                "primary_contact": _contact(
                    "Alice Nakamura", "alice.nakamura@acme.example", ago(95)
                ),
                "billing_contact": _contact("Greg Hall", "accounts.payable@acme.example", ago(410)),
                "confirmed_at": None,
            },
        },
        {
            "id": "globex",
            "name": "Globex Corporation",
            "data_center": "EU-1 (Frankfurt)",
            "package": "CX Professional",
            "renewal_date": renews(290),
            "account_team": team("Lena Fischer", "Marco Rossi", None),
            "billing": {
                "primary_contact": _contact("Gary Oldham", "gary.oldham@globex.example", ago(200)),
                "billing_contact": None,
                "confirmed_at": format_ts(ago(200)),
            },
        },
        {
            "id": "support",
            "name": "Customer Success Support",
            "data_center": "US-1 (Washington DC)",
            "package": "Internal",
            "account_team": team(None, None, None),
            "billing": {"primary_contact": None, "billing_contact": None},
        },
    ]


def _users() -> list[dict[str, Any]]:
    return [
        {
            "username": username,
            "name": name,
            "email": f"{name.lower().replace(' ', '.')}@{_DOMAINS[org]}",
            "org": org,
            "role": role,
            "fedramp": fedramp,
            "support_access": support_access,
            "groups": list(_GROUPS.get(username, [])),
        }
        for username, name, org, role, fedramp, support_access in _USERS
    ]


# -- attachments --------------------------------------------------------------------------------

_CONTENT_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "txt": "text/plain",
    "har": "application/json",
    "pdf": "application/pdf",
    "png": "image/png",
}


def _png(rng: random.Random, width: int, height: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _pdf(title: str) -> bytes:
    text = title.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def attachment_bytes(ticket_id: str, name: str) -> bytes:
    """The deterministic content of demo attachment ``name`` on ticket ``ticket_id``."""
    rng = random.Random(f"{ticket_id}/{name}")
    ext = name.rsplit(".", 1)[-1].lower()
    if ext in ("csv", "tsv"):
        sep = "," if ext == "csv" else "\t"
        lines = [sep.join(("row", "email", "first_name", "status", "updated"))]
        for row in range(1, rng.randint(40, 300)):
            first = rng.choice(("José", "Zoë", "Anna", "Liam", "Yuki", "Omar", "Mia", "Noah"))
            state = rng.choice(("delivered", "bounced", "opened", "failed", "skipped"))
            email = f"{first.lower()}.{rng.randrange(10**5):05d}@example.com"
            lines.append(
                sep.join((str(row), email, first, state, f"2025-0{row % 9 + 1}-1{row % 10}"))
            )
        return ("\n".join(lines) + "\n").encode()
    if ext == "txt":
        levels = ("INFO", "INFO", "INFO", "WARN", "ERROR")
        lines = [
            f"{i:05d} {rng.choice(levels):5} worker-{rng.randint(1, 4)} "
            f"{rng.choice(('fetch', 'parse', 'validate', 'commit'))} "
            f"took {rng.randint(3, 900)} ms"
            for i in range(rng.randint(30, 120))
        ]
        return ("\n".join(lines) + "\n").encode()
    if ext == "har":
        entries = [
            {
                "startedDateTime": f"2025-01-01T00:00:{i:02d}.000Z",
                "time": rng.randint(40, 60000),
                "request": {"method": "GET", "url": f"https://api.example.com/v3/export/{i}"},
                "response": {"status": rng.choice((200, 200, 502)), "statusText": ""},
            }
            for i in range(rng.randint(5, 20))
        ]
        log = {"log": {"version": "1.2", "creator": {"name": "Browser", "version": "1"}}}
        log["log"]["entries"] = entries
        return json.dumps(log, indent=2).encode()
    if ext == "pdf":
        return _pdf(name.rsplit(".", 1)[0].replace("_", " "))
    if ext == "png":
        return _png(rng, rng.randint(80, 160), rng.randint(40, 90))
    raise ValueError(f"no demo content for {name!r}")


def _attachment(ticket_id: str, name: str) -> dict[str, Any]:
    data = attachment_bytes(ticket_id, name)
    return {
        "name": name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": _CONTENT_TYPES[name.rsplit(".", 1)[-1].lower()],
    }


# -- ticket steps -------------------------------------------------------------------------------


class _Step(NamedTuple):
    op: str
    actor: str
    gap: float  # hours after the previous step
    text: str = ""
    value: Any = None
    files: tuple[str, ...] = ()


def say(author: str, text: str, *files: str, gap: float = 2.0) -> _Step:
    """An email message (also web-form descriptions and replies)."""
    return _Step("email", author, gap, text, files=files)


def chat(author: str, text: str, gap: float = 0.03) -> _Step:
    return _Step("chat", author, gap, text)


def note(agent: str, text: str, gap: float = 0.3) -> _Step:
    return _Step("note", agent, gap, text)


def system(text: str, gap: float = 0.0) -> _Step:
    return _Step("system", "system", gap, text)


def assign(agent: str, group: str, gap: float = 1.0) -> _Step:
    return _Step("assign", agent, gap, value=group)


def regroup(by: str, group: str, gap: float = 0.05) -> _Step:
    return _Step("group", by, gap, value=group)


def status(by: str, to: str, gap: float = 0.05) -> _Step:
    return _Step("status", by, gap, value=to)


def reprioritize(by: str, to: str, gap: float = 0.05) -> _Step:
    return _Step("priority", by, gap, value=to)


def tag(by: str, *tags: str, gap: float = 0.05) -> _Step:
    return _Step("tags", by, gap, value=tags)


def proxy(user: str, on: bool, gap: float = 0.2) -> _Step:
    return _Step("proxy", user, gap, value=on)


def escalate(
    by: str, esc_id: str, description: str, expected: int | None = None, gap: float = 0.2
) -> _Step:
    """Open escalation ``esc_id``; ``expected`` is a date given in days from now."""
    return _Step("escalate", by, gap, description, value=(esc_id, expected))


def advance(by: str, stage: str, expected: int | None = None, gap: float = 24.0) -> _Step:
    return _Step("advance", by, gap, value=(stage, expected))


def close(by: str, resolution: str = "solved", gap: float = 1.0) -> _Step:
    return _Step("close", by, gap, value=resolution)


def sweep(by: str, gap: float = 0.0) -> _Step:
    return _Step("sweep", by, gap)


def restore(by: str, gap: float = 1.0) -> _Step:
    return _Step("restore", by, gap)


def rate(by: str, rating: int, comment: str | None, gap: float = 0.5) -> _Step:
    return _Step("feedback", by, gap, comment or "", value=rating)


@dataclass(frozen=True)
class _Spec:
    id: str
    type: str
    category: str
    priority: str
    requester: str
    subject: str
    age: float  # days before now the ticket was created
    status: str  # the status the steps must lead to (checked unless empty: generated history)
    steps: tuple[_Step, ...]
    cc: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str = "en"
    resources: tuple[tuple[str, str], ...] = ()
    call: tuple[str, float] | None = None  # (call status, days from now of the call)


_KB = "https://support.example.com/articles/"
_MEETING = ("https://meet.example.com/j/84512367890", "482913")
_ACK = "We received your request and a support rep will reply soon. Reply to add details."
_DAY = 24.0  # hours, for gaps

# -- the tickets --------------------------------------------------------------------------------

# fmt: off
_TICKETS: tuple[_Spec, ...] = (
    _Spec(
        "1001", "email", "technical", "high", "chloe",
        "Survey invitations landing in recipients' spam folders", 62, "closed",
        tags=("distribution", "email-deliverability"),
        resources=(("Troubleshooting email deliverability", _KB + "email-deliverability"),),
        steps=(
            say("chloe", "Hi, since last Monday roughly a third of our customer survey invitations "
                "end up in recipients' spam folders. We send from surveys@acme.example through the "
                "distributions tool. The bounce report is attached. Did something change on your "
                "side?", "bounce_report.csv", gap=0),
            assign("sam", "Tier 1", gap=1.5),
            say("sam", "Hi Chloe, thanks for the report. Invitations leave our mail servers with "
                "your own domain in the From address, so receiving servers check acme.example's "
                "SPF record, and it doesn't include our servers. Could your IT team add "
                "include:_spf.support.example to it? I've linked the deliverability guide on "
                "this ticket.", gap=1),
            note("sam", "SPF for acme.example lacks our include; DKIM is fine. No platform-side "
                 "change last week."),
            say("chloe", "IT updated the SPF record this morning. A test batch of 200 all landed "
                "in the inbox. Thanks!", gap=20),
            say("sam", "Great news! I'll mark this as resolved; a reply here reopens it if the "
                "problem comes back.", gap=2),
            status("sam", "resolved"),
            close("chloe", gap=26),
            rate("chloe", 5, "Quick and clear answer, thank you."),
        ),
    ),
    _Spec(
        "1002", "chat", "technical", "normal", "ben",
        "How do I export responses with labels instead of codes?", 58, "closed",
        tags=("data-export",),
        steps=(
            assign("priya", "Tier 1", gap=0.02),
            chat("ben", "Hi! When I export responses to CSV I get numeric codes (1, 2, 3) instead "
                 "of the answer text. How do I get the labels?"),
            chat("priya", "Hi Ben, happy to help. In Data & Analysis choose Export & Import > "
                 "Export data, pick CSV and select \"Use choice text\" instead of \"Use numeric "
                 "values\"."),
            chat("ben", "Found it. Does that work for the scheduled exports too?"),
            chat("priya", "Yes: every scheduled export has the same option in its settings. "
                 "You'll need to edit the existing schedule once."),
            chat("ben", "Perfect, that's all. Thanks!"),
            chat("priya", "You're welcome! I'll close this chat; the transcript stays on the "
                 "ticket."),
            close("priya", "chat", gap=0.02),
            rate("ben", 4, "Fast answer, but I waited ten minutes in the queue.", gap=0.3),
        ),
    ),
    _Spec(
        "1003", "phone", "technical", "urgent", "dmitri", "", 54, "closed",
        tags=("sso", "outage"),
        steps=(
            system("Inbound call from +1 555 0142 (technical support line), 23 minutes."),
            assign("sam", "Tier 1", gap=0.02),
            note("sam", "Dmitri called: nobody at Acme could log in via SSO since 08:10 UTC. "
                 "Their IdP signing certificate was rotated overnight; walked him through "
                 "uploading the new certificate in the SSO settings. Logins work again.",
                 gap=0.4),
            close("sam", "phone", gap=0.05),
        ),
    ),
    _Spec(
        "1004", "email", "technical", "high", "dmitri",
        "API returns 502 on large response exports", 50, "closed",
        tags=("api", "data-export"),
        steps=(
            say("dmitri", "Hello, our nightly job calls the response export API for survey "
                "SV_3xK9 (about 180,000 responses). Since the 2nd it fails with HTTP 502 after "
                "about 60 seconds; smaller surveys export fine. A HAR file of a manual attempt "
                "is attached.", "export_502.har", gap=0),
            assign("sam", "Tier 1", gap=2),
            say("sam", "Thanks Dmitri, I can reproduce the 502 on that survey. While I "
                "investigate, you can export in date ranges (startDate/endDate parameters), "
                "e.g. one month at a time.", gap=1),
            status("sam", "pending"),
            say("dmitri", "The date-range workaround works but triples the job's runtime. Is a "
                "fix planned?", gap=18),
            escalate("sam", "CP-1201", "Response export API returns 502 for surveys over about "
                     "150k responses: the export worker exceeds the 60 s gateway timeout.",
                     gap=3),
            regroup("sam", "Engineering liaison"),
            note("sam", "Escalated as CP-1201. The export worker hits the gateway timeout on "
                 "large surveys; reproduced on a test brand."),
            advance("sam", "evaluating", gap=24),
            advance("sam", "in_engineering", expected=-26, gap=48),
            say("sam", "Engineering has confirmed the issue and is working on a fix for the "
                "export worker. The current estimate is about three weeks; that's an estimate, "
                "not a commitment. I'll keep you posted here.", gap=1),
            advance("sam", "confirm_resolution", gap=14 * _DAY),
            say("sam", "A fix was deployed today. Could you run the full export once and confirm "
                "it completes?", gap=0.5),
            say("dmitri", "Confirmed: the full export finished in 4 minutes.", gap=20),
            advance("sam", "resolved", gap=1),
            close("sam", "solved", gap=0.1),
            rate("dmitri", 2, "Fixed in the end, but it took three weeks and we had to run the "
                 "workaround meanwhile.", gap=30),
        ),
    ),
    _Spec(
        "1005", "email", "billing", "normal", "alice",
        "Seat count on latest invoice is wrong", 45, "closed",
        tags=("invoice",),
        steps=(
            say("alice", "Hi, invoice INV-2291 bills us for 250 seats but our contract is for "
                "200. The PDF is attached. Can you issue a corrected invoice?", "INV-2291.pdf",
                gap=0),
            assign("priya", "Billing", gap=3),
            say("priya", "Hi Alice, thanks for flagging this. The renewal order included a 50-seat "
                "add-on that was dropped before signature but never removed from billing. I've "
                "asked our billing team to reissue the invoice.", gap=1),
            status("priya", "pending"),
            note("priya", "Asked AR to void INV-2291 and reissue for 200 seats (AR-5521)."),
            say("priya", "The corrected invoice INV-2304 is attached; INV-2291 has been voided.",
                "INV-2304.pdf", gap=4 * _DAY),
            status("priya", "resolved"),
            close("alice", gap=_DAY),
            rate("alice", 3, "Sorted, but it took four days to get the corrected invoice.",
                 gap=0.2),
        ),
    ),
    _Spec(
        "1006", "web", "billing", "normal", "alice",
        "Invoice INV-2291 shows 250 seats instead of 200", 44.9, "closed",
        tags=("invoice",),
        steps=(
            say("alice", "Submitting this through the web form too in case my email didn't "
                "arrive: INV-2291 shows 250 seats, we have 200.", gap=0),
            assign("priya", "Billing", gap=2),
            note("priya", "Duplicate of 1005, same invoice.", gap=0.1),
            say("priya", "Hi Alice, your email arrived and is being handled in ticket 1005, so "
                "I'm closing this one as a duplicate.", gap=0.1),
            close("priya", "duplicate", gap=0.05),
        ),
    ),
    _Spec(
        "1007", "email", "general", "low", "chloe", "Automatic reply: Out of office", 40, "closed",
        steps=(
            say("chloe", "I am out of the office until Monday with limited access to email. For "
                "urgent matters please contact ben.carter@acme.example.", gap=0),
            system("Auto-reply detected (Auto-Submitted: auto-replied)."),
            close("sam", "spam", gap=1.5),
        ),
    ),
    _Spec(
        "1008", "web", "general", "low", "kenji", "研修セッションの日程について", 35, "closed",
        language="ja", tags=("training",),
        steps=(
            say("kenji", "新しいユーザー向けの研修セッションはいつ開催されますか?日本語のセッションは"
                "ありますか?", gap=0),
            close("sam", "expired", gap=25),
            system("No activity for 24 hours: closed as expired. Open a new ticket and reference "
                   "1008 if you still need help."),
        ),
    ),
    _Spec(
        "1009", "email", "technical", "normal", "chloe",
        "Conjoint analysis report won't load", 30, "resolved",
        tags=("conjoint", "reports"),
        resources=(("Conjoint analysis: project limits", _KB + "conjoint-limits"),),
        steps=(
            say("chloe", "The conjoint analysis report for our pricing study spins forever and "
                "never loads. Other reports are fine. Screenshot attached.",
                "conjoint_spinner.png", gap=0),
            assign("sam", "Tier 1", gap=4),
            say("sam", "Hi Chloe, the report times out because one attribute has 40 levels. "
                "Splitting that attribute, or reducing the levels shown in the simulator, lets "
                "the report load. I've linked the article on conjoint limits.", gap=2),
            say("chloe", "Splitting the attribute worked, the report loads now.", gap=20),
            status("sam", "resolved", gap=1),
        ),
    ),
    _Spec(
        "1010", "chat", "technical", "normal", "ben", "Response quota warning", 26, "resolved",
        tags=("quota", "licenses"),
        steps=(
            assign("priya", "Tier 1", gap=0.02),
            chat("ben", "Hi, we got an email saying our response quota is 90% used. The project "
                 "runs two more months; what happens at 100%?"),
            chat("priya", "Hi Ben! When the quota is reached the survey stops accepting new "
                 "responses and shows the end-of-survey message. Collected responses are kept."),
            chat("ben", "Can we raise it, or do we need to buy more?"),
            chat("priya", "Your CX Enterprise package has a pooled response allowance. Your brand "
                 "admin (Alice) can move allowance from the pool to this project in the admin "
                 "console under Licenses."),
            chat("ben", "OK, I'll ask Alice. Thanks."),
            status("priya", "resolved"),
            note("priya", "Pool has about 120k unused responses; the admin can reallocate."),
        ),
    ),
    _Spec(
        "1011", "web", "general", "low", "kenji", "ダッシュボードの日本語表示について", 24,
        "resolved", language="ja", tags=("dashboards", "localization"),
        resources=(("ダッシュボードの翻訳", _KB + "ja/dashboard-translation"),),
        steps=(
            say("kenji", "ダッシュボードのウィジェットのラベルが英語のまま表示されます。日本語で表示"
                "する方法を教えてください。", gap=0),
            assign("priya", "Tier 1", gap=6),
            say("priya", "佐藤様、お問い合わせありがとうございます。ダッシュボードの設定で言語を日本"
                "語に変更し、フィールドの翻訳をアップロードしてください。手順は共有したリソースを"
                "ご参照ください。", gap=1),
            say("kenji", "ありがとうございます。日本語で表示されるようになりました。", gap=7 * _DAY),
            status("priya", "resolved", gap=2),
        ),
    ),
    _Spec(
        "1012", "web", "technical", "high", "dmitri",
        "Nightly SFTP contact import fails", 21, "resolved",
        tags=("sftp", "automation", "xm-directory"),
        resources=(("Automating contact imports over SFTP", _KB + "sftp-contact-import"),),
        steps=(
            say("dmitri", "Our automated SFTP import into XM Directory has failed every night "
                "since the 14th with 'File format not recognized'. The same file uploads fine by "
                "hand. A sample file and the import log are attached.", "contacts_sample.csv",
                "import_log.txt", gap=0),
            assign("sam", "Tier 1", gap=3),
            say("sam", "Thanks Dmitri. To look at the automation's run history I need to log in "
                "to your account. Could you enable proxy login access on this ticket?", gap=1),
            proxy("dmitri", True, gap=2),
            say("dmitri", "Done, proxy access is on for this ticket.", gap=0.05),
            note("sam", "Since the 14th the file arrives with a UTF-8 byte-order mark; the "
                 "automation's parser rejects it, manual upload strips it. Parser regression.",
                 gap=2),
            escalate("sam", "CP-1202", "SFTP automated import rejects CSV files that start with "
                     "a UTF-8 byte-order mark."),
            advance("sam", "evaluating", gap=20),
            advance("sam", "confirm_resolution", expected=-3, gap=17 * _DAY),
            say("sam", "Engineering shipped a parser fix that accepts the byte-order mark. Could "
                "you confirm tonight's import runs through?", gap=0.5),
            say("dmitri", "Last night's import ran fine: 4,812 contacts updated.", gap=20),
            advance("sam", "resolved", gap=1),
            status("sam", "resolved", gap=0.1),
        ),
    ),
    _Spec(
        "1013", "web", "technical", "low", "fiona", "Export of user activity audit log", 14,
        "pending", tags=("fedramp", "audit"),
        steps=(
            say("fiona", "For our FedRAMP assessment we need an export of user login and activity "
                "events for the last 90 days. Is that available from the admin console?", gap=0),
            assign("sam", "Tier 1", gap=5),
            say("sam", "Hi Fiona, for FedRAMP environments the audit log export is produced by our "
                "security team on request. I've filed the request and will attach the file here "
                "when it's ready (usually within 10 business days).", gap=2),
            status("sam", "pending"),
            note("sam", "Filed SEC-311 with security for the 90-day audit export."),
            say("fiona", "Thanks. Any update on the export?", gap=4 * _DAY),
        ),
    ),
    _Spec(
        "1014", "email", "general", "low", "ben",
        "Re: Reminder: Please complete the Q3 partner survey", 12, "open",
        tags=("distribution", "anonymous-link"),
        steps=(
            say("ben", "Hi, a partner replied to our survey reminder saying the link shows "
                "'This survey is not currently active', but the survey is active on our side. "
                "Forwarded message below.\n\n> Hi Ben, the link in your reminder doesn't work.",
                gap=0),
            close("priya", "spam", gap=0.5),
            restore("priya", gap=20),
            note("priya", "Closed as spam by mistake (the subject looks like a survey reminder). "
                 "Restored.", gap=0.1),
            assign("priya", "Tier 1", gap=0.05),
            say("priya", "Hi Ben, sorry for the delay. The partner has an anonymous link from the "
                "previous version of the survey, which was closed when the survey was copied. "
                "The current link is under Distributions > Anonymous link.", gap=0.5),
            say("ben", "Thanks, we'll send the new link. Can the old link redirect to the new "
                "survey?", gap=8 * _DAY),
        ),
    ),
    _Spec(
        "1015", "email", "technical", "high", "dmitri",
        "Webhook event subscription stops firing", 11, "escalated",
        tags=("api", "webhooks"),
        steps=(
            say("dmitri", "Our webhook subscription for completed responses stopped delivering "
                "events on Tuesday, although it still shows as active. Delivery log attached.",
                "webhook_deliveries.tsv", gap=0),
            assign("sam", "Tier 1", gap=1),
            say("sam", "Hi Dmitri, I see the subscription but no delivery attempts since Tuesday "
                "03:12 UTC. I'm checking with our platform team.", gap=1),
            say("dmitri", "This feeds case creation in our CRM, so we're missing customer "
                "complaints. Please treat it as urgent.", gap=0.5),
            reprioritize("sam", "urgent", gap=0.2),
            tag("sam", "api", "webhooks", "customer-impact"),
            escalate("sam", "CP-1203", "Webhook subscriptions for completed responses stop "
                     "firing after an event-bus failover; no delivery attempts are logged.",
                     gap=2),
            regroup("sam", "Engineering liaison"),
            advance("sam", "evaluating", gap=20),
            advance("sam", "in_engineering", expected=10, gap=2 * _DAY),
            say("sam", "Engineering found the cause (subscriptions were not re-attached after an "
                "event-bus failover) and is working on a fix, estimated in about 10 days; an "
                "estimate, not a commitment. Meanwhile I re-created your subscription: please "
                "check that events arrive again.", gap=0.5),
            say("dmitri", "Events have been arriving since the re-creation. Thanks for the "
                "workaround.", gap=6),
        ),
    ),
    _Spec(
        "1016", "chat", "technical", "normal", "chloe",
        "XM Directory import drops contacts with accented names", 9, "escalated",
        tags=("xm-directory", "import"),
        resources=(("Importing contacts into XM Directory", _KB + "xm-directory-import"),),
        steps=(
            assign("priya", "Tier 1", gap=0.02),
            chat("chloe", "Hi, when I import contacts into XM Directory, people with accented "
                 "names (José, Zoë) are silently skipped."),
            chat("priya", "Hi Chloe, thanks. Which file encoding do you use?"),
            chat("chloe", "UTF-8, exported from Excel. I can send the file."),
            chat("priya", "Please do: reply to the confirmation email of this ticket with the "
                 "file attached."),
            say("chloe", "Here's the file from our chat.", "contacts_accents.csv", gap=0.5),
            escalate("priya", "CP-1204", "XM Directory contact import skips rows with non-ASCII "
                     "characters in name fields.", gap=3),
            regroup("priya", "Engineering liaison"),
            advance("priya", "evaluating", gap=_DAY),
            advance("priya", "in_engineering", expected=4, gap=2 * _DAY),
            advance("priya", "confirm_resolution", expected=2, gap=3 * _DAY),
            say("priya", "Hi Chloe, a fix for accented names has been deployed. Could you re-run "
                "the import with the same file and confirm that every contact arrives? The "
                "escalation stays open until you confirm.", gap=0.3),
        ),
    ),
    _Spec(
        "1017", "email", "billing", "normal", "alice",
        "Update billing contact to Maria Lopez", 7, "pending",
        tags=("billing-contact",),
        steps=(
            say("alice", "Hi, Greg Hall has left Acme. Please replace him as our billing contact "
                "with Maria Lopez (maria.lopez@acme.example, Accounts Payable). Invoices should "
                "go to her from now on.", gap=0),
            assign("priya", "Billing", gap=4),
            say("priya", "Hi Alice, thanks. Changes to the billing contact must be confirmed by "
                "the primary contact on file, which is you: could you confirm here, and give the "
                "PO number for the next invoice?", gap=0.5),
            status("priya", "pending"),
            say("alice", "Confirmed. The PO number is PO-88213.", gap=20),
            note("priya", "Change submitted to AR; waiting for AR to update the billing record.",
                 gap=_DAY),
        ),
    ),
    _Spec(
        "1018", "email", "billing", "normal", "alice",
        "Request for W-9 and vendor registration form", 6, "resolved",
        tags=("procurement",),
        steps=(
            say("alice", "Our procurement team needs your W-9 and a completed vendor registration "
                "form (attached) before the renewal PO can be issued.",
                "vendor_registration_form.pdf", gap=0),
            assign("priya", "Billing", gap=5),
            say("priya", "Hi Alice, attached are our W-9 and the completed vendor registration "
                "form.", "W-9.pdf", "vendor_registration_completed.pdf", gap=3 * _DAY),
            status("priya", "resolved"),
        ),
    ),
    _Spec(
        "1019", "phone", "general", "normal", "alice", "Renewal timeline questions", 5, "open",
        tags=("renewal",),
        steps=(
            assign("priya", "Billing", gap=0.02),
            note("priya", "Alice called about the renewal (contract ends in 10 weeks) and needs "
                 "the renewal quote before their budget meeting. Asked the account executive, "
                 "Tom Alvarez, to send it."),
            say("priya", "Hi Alice, as discussed on the phone, I've asked your account executive "
                "Tom Alvarez to send the renewal quote this week. I'll keep this ticket open "
                "until you have it.", gap=1),
        ),
    ),
    _Spec(
        "1020", "web", "technical", "high", "ben",
        "Embedded data fields missing from exported CSV", 4, "escalated",
        tags=("data-export", "embedded-data"),
        steps=(
            say("ben", "Since yesterday the embedded data fields (region, account_id) are missing "
                "from CSV exports of our onboarding survey, though they show in the Data & "
                "Analysis table. Example export attached.", "onboarding_export.csv", gap=0),
            assign("sam", "Tier 1", gap=2),
            proxy("ben", False, gap=0.5),
            say("ben", "Note: I've turned off proxy login access on this ticket, as this survey "
                "holds customer PII. Happy to share screenshots instead.", gap=0.02),
            say("sam", "Understood, Ben. I reproduced the missing columns on a test survey, so "
                "I'm escalating this to our engineering team.", gap=1),
            escalate("sam", "CP-1205", "CSV export omits embedded data fields declared after the "
                     "first block of the survey flow.", gap=0.1),
            advance("sam", "evaluating", gap=22),
        ),
    ),
    _Spec(
        "1021", "call", "technical", "high", "chloe", "Survey flow logic review with our TAM", 3,
        "pending", cc=("dmitri",), tags=("survey-flow", "tam"), call=("accepted", 1.0),
        steps=(
            say("chloe", "We'd like a call with our technical account manager to review the "
                "branch logic of the new NPS survey before launch. Thursday or Friday works.",
                gap=0),
            assign("sam", "Tier 1", gap=3),
            say("sam", f"Hi Chloe, the call is scheduled. Meeting link: {_MEETING[0]} (passcode "
                f"{_MEETING[1]}). Hiro Tanaka, your TAM, will join.", gap=1),
            status("sam", "pending"),
            system("Conference call accepted by chloe.", gap=2),
        ),
    ),
    _Spec(
        "1022", "web", "technical", "high", "fiona", "SSO login loop in FedRAMP environment", 2.8,
        "open", tags=("sso", "fedramp"),
        resources=(("Single sign-on for FedRAMP environments", _KB + "fedramp-sso"),),
        steps=(
            say("fiona", "Users in our FedRAMP environment are sent back to the login page after "
                "authenticating with our IdP. SAML trace attached.", "saml_trace.txt", gap=0),
            assign("sam", "Tier 1", gap=2),
            proxy("fiona", False),
            say("sam", "Hi Fiona, the SAML response carries the audience https://acme.example/sso "
                "but your FedRAMP environment expects its own entity ID. Please update the "
                "audience in your IdP; I've linked the FedRAMP SSO guide.", gap=1),
            say("fiona", "Updated the audience, but some users still loop. Their accounts were "
                "created before the migration.", gap=20),
            note("sam", "Pre-migration accounts use the old NameID format. Asking FedRAMP ops "
                 "whether we can bulk-update them.", gap=1),
        ),
    ),
    _Spec(
        "1023", "email", "general", "normal", "kenji", "アンケートの配信スケジュールについて",
        2.5, "open", language="ja", tags=("distribution",),
        steps=(
            say("kenji", "毎月第1月曜日の9時(日本時間)にアンケートを自動配信したいのですが、設定は"
                "可能でしょうか?", gap=0),
            assign("priya", "Tier 1", gap=4),
            say("priya", "佐藤様、繰り返し配信は「配信」の「スケジュール」から設定できますが、"
                "「第1月曜日」の指定はできません。毎月1日の配信、またはワークフローでの配信を"
                "ご提案します。", gap=1),
            say("kenji", "ワークフローでの設定方法を詳しく教えていただけますか?", gap=18),
        ),
    ),
    _Spec(
        "1024", "chat", "technical", "normal", "gary", "Can't add collaborators to a project", 2,
        "pending", tags=("collaboration",),
        steps=(
            assign("priya", "Tier 1", gap=0.03),
            chat("gary", "Hi, when I share a project with a colleague the collaborate dialog says "
                 "'User not found'."),
            chat("priya", "Hi Gary. Is your colleague's account in the same brand (globex)?"),
            chat("gary", "Yes, she was added yesterday."),
            chat("priya", "New accounts can take a while to become searchable. Could you try "
                 "again later and send a screenshot if it still fails? I'll set this ticket to "
                 "pending meanwhile."),
            chat("gary", "Sure, will do after lunch."),
            status("priya", "pending"),
        ),
    ),
    _Spec(
        "1025", "web", "technical", "normal", "ben",
        "Survey link says 'survey closed' for some respondents", 1.7, "new",
        tags=("distribution",),
        steps=(
            say("ben", "Some respondents see 'This survey is closed' although the survey is "
                "active and collecting responses. It seems to affect only people who use the "
                "link in the reminder email.", gap=0),
            system(_ACK, gap=0.01),
        ),
    ),
    _Spec(
        "1026", "email", "technical", "urgent", "alice",
        "Dashboard widgets show no data after data center migration", 1.5, "escalated",
        cc=("chloe",), tags=("dashboards", "migration"),
        steps=(
            say("alice", "All widgets on our executive CX dashboard show 'No data' since the move "
                "to the US-1 data center last weekend, while responses are still being "
                "collected. Board meeting on Friday: please help urgently.",
                "dashboard_no_data.png", gap=0),
            assign("sam", "Tier 1", gap=0.5),
            say("sam", "Hi Alice, the dashboard's data sources still point at the pre-migration "
                "data set, which can't be fixed from the admin side. I'm escalating this to "
                "engineering now.", gap=0.5),
            escalate("sam", "CP-1206", "After the data-center move, dashboards still point at "
                     "pre-migration data sources; all widgets show no data."),
            regroup("sam", "Engineering liaison"),
            note("sam", "Three dashboards in brand acme affected. Flagged to the migration team."),
            system("Escalation CP-1206 submitted. You can track it with the ticket."),
            say("chloe", "Adding: the same happens on our NPS dashboard.", gap=3),
        ),
    ),
    _Spec(
        "1027", "email", "technical", "normal", "chloe",
        "Quota logic counts incomplete responses", 1.2, "open",
        cc=("ben",), tags=("quota", "survey-flow"),
        steps=(
            say("chloe", "Our quota for 'Region = EMEA' fills up faster than expected. It seems to "
                "count respondents who drop out before the end. Is that expected?", gap=0),
            assign("sam", "Tier 1", gap=2),
            proxy("chloe", True, gap=0.1),
            say("sam", "Hi Chloe, a quota counts a respondent as soon as its condition is met, "
                "which can be before the end of the survey depending on where it's evaluated in "
                "the flow. Thanks for enabling proxy access: I'll look at the survey flow.", gap=1),
            proxy("ben", False, gap=3),
            note("sam", "Quota is evaluated in a branch before the last block; suggest moving it "
                 "to the end of the flow.", gap=0.5),
        ),
    ),
    _Spec(
        "1028", "call", "general", "normal", "alice", "", 0.8, "new",
        call=("pending", 2.0),
        steps=(
            say("alice", "I'd like a walkthrough of the admin console for our two new brand "
                "admins. Any afternoon this week.", gap=0),
            system("Conference call requested; waiting for a support rep to accept.", gap=0.01),
        ),
    ),
    _Spec(
        "1029", "phone", "technical", "high", "dmitri", "", 0.5, "new",
        steps=(system("Callback requested from the phone menu (option 2, technical).", gap=0.01),),
    ),
    _Spec(
        "1030", "web", "billing", "normal", "gary", "Request for additional user licenses", 0.3,
        "new", tags=("licenses",),
        steps=(
            say("gary", "We'd like to add 25 user licenses to our CX Professional package. Could "
                "you send a quote?", gap=0),
            system(_ACK, gap=0.01),
        ),
    ),
)
# fmt: on

# -- duplicates to merge ------------------------------------------------------------------------
# Three people of one org report the same single sign-on failure on the same morning: the
# README's "Merging duplicates" merges 1185 and 1186 into 1184 (`tickets merge`, SPEC §16).
# Their ids follow the generated history (1031–1183, fixed by its seed).

# fmt: off
_DUPLICATES: tuple[_Spec, ...] = (
    _Spec(
        "1184", "email", "technical", "high", "ben",
        "Single sign-on sends us back to the login page", 0.25, "open",
        tags=("sso",),
        steps=(
            say("ben", "Since this morning our SSO login loops: after signing in with our "
                "identity provider we land on the login page again. Nobody in our team can get "
                "in.", gap=0),
            assign("sam", "Tier 1", gap=0.3),
            say("sam", "Hi Ben, thanks for the report. We're looking into it now; could you tell "
                "us whether your identity provider's signing certificate changed recently?",
                gap=0.2),
        ),
    ),
    _Spec(
        "1185", "web", "technical", "normal", "chloe",
        "SSO login loop after the certificate change", 0.2, "new",
        steps=(
            say("chloe", "Our IT rotated the SAML certificate last night and now the single "
                "sign-on login keeps looping back to the start page.", gap=0),
            system(_ACK, gap=0.01),
        ),
    ),
    _Spec(
        "1186", "email", "technical", "normal", "dmitri",
        "Can't log in with SSO since this morning", 0.15, "new",
        cc=("kenji",),
        steps=(
            say("dmitri", "Kenji and I can't log in through SSO since this morning: the login "
                "page reloads after the identity provider step.", gap=0),
        ),
    ),
)
# fmt: on


# -- history ------------------------------------------------------------------------------------
# About 150 generated tickets 1031… over the last four months, so that ``report`` has weeks of
# created-vs-resolved counts and response times to show.  Each ticket's whole life is planned in
# hours after its creation (first agent reply, resolution, maybe a reopening, closing), with
# delays drawn to meet or miss the SLA defaults of SPEC §10; steps not yet due at ``now`` are
# cut off, so the most recent tickets are still new, open or pending.  Fixed seed: the same
# tickets every time, relative to ``now``.

_FIRST_RESPONSE_H = {"urgent": 1, "high": 4, "normal": 24, "low": 48}
_RESOLUTION_H = {"urgent": 24, "high": 72, "normal": 168, "low": 336}
_FR_MEET = {"urgent": 0.75, "high": 0.8, "normal": 0.8, "low": 0.7}  # designed odds of meeting
_RES_MEET = {"urgent": 0.7, "high": 0.7, "normal": 0.8, "low": 0.85}


class _Topic(NamedTuple):
    category: str
    priorities: str  # drawn from; repeats weigh
    tags: str
    subject: str
    question: str
    answer: str


# fmt: off
_OUTAGE = _Topic(
    "technical", "urgent urgent high", "outage distribution", "Survey links show an error page",
    "Respondents who click our survey links get an error page ('Something went wrong') since "
    "about an hour ago. This affects a live campaign.",
    "A faulty configuration change on our side broke survey links in several brands. It has been "
    "rolled back and links work again; responses submitted before the incident are safe.")
_TOPICS_EN = (
    _Topic("technical", "high normal", "distribution email-deliverability",
           "Survey invitations bouncing for one email domain",
           "Invitations to addresses at one of our partners' domains all bounce with '550 "
           "rejected'; other domains are fine. Can you check?",
           "The partner's mail server only accepts mail from an allow list that doesn't include "
           "our sending servers. Please ask their IT team to allow the ranges listed in the "
           "deliverability guide."),
    _Topic("technical", "normal normal low", "data-export", "Scheduled export arrives empty",
           "Our weekly scheduled export to the shared drive has been an empty file for two weeks, "
           "although the survey keeps collecting responses.",
           "The schedule still has the filter 'Finished = False' from a test run, which now "
           "matches nothing. Remove that filter and the next run will include every response."),
    _Topic("technical", "urgent urgent high", "sso", "Users cannot log in with SSO",
           "Since this morning several of our users get 'Invalid SAML response' when they sign "
           "in with SSO. Password login still works for admins.",
           "Your IdP signs its assertions with a new certificate that hasn't been uploaded to "
           "your brand. Upload it under Admin > SSO settings and sign-ins work again."),
    _Topic("technical", "urgent high high normal", "api", "API token returns 401 after password change",
           "Our integration gets 401 Unauthorized from the API since the service account's "
           "password was changed.",
           "Changing an account's password revokes its API tokens. Generate a new token under "
           "Account settings > API and update it in the integration."),
    _Topic("technical", "high normal normal", "survey-flow",
           "Display logic hides a question for everyone",
           "A question with display logic on the previous answer is now hidden for every "
           "respondent, even those who should see it.",
           "The logic refers to the choice by its position, and the choices were reordered last "
           "week. Re-select the choice in the logic editor so it points at the right one."),
    _Topic("technical", "normal low", "dashboards", "Dashboard filter resets every time",
           "The date filter on our CX dashboard goes back to 'All time' each time I open it. I'd "
           "like it to stay on 'Last 30 days'.",
           "Filters set while viewing are personal and temporary. To make 'Last 30 days' the "
           "default for everyone, set it in Edit mode under Dashboard filters and save."),
    _Topic("technical", "high normal", "xm-directory import", "Contact import stuck at 'Processing'",
           "A contact import of about 20,000 rows has shown 'Processing' for six hours now.",
           "The import was queued behind a very large job. I've restarted it on another worker; "
           "it finished a few minutes ago and every row was imported."),
    _Topic("technical", "normal low", "reports", "PDF report cuts off long answer labels",
           "When I export the results report to PDF, long answer labels are cut off after about "
           "40 characters.",
           "PDF exports shorten labels to fit the chart. Switch to a horizontal bar chart, or "
           "shorten the labels in the report's Labels settings, and they print in full."),
    _Topic("technical", "urgent high", "api webhooks", "Webhook deliveries failing with timeouts",
           "Our endpoint has received no webhook events since last night; the subscription log "
           "shows timeouts.",
           "Your endpoint takes longer than 10 seconds to answer, so deliveries time out. Answer "
           "with 200 at once and process events asynchronously; the backlog has been redelivered."),
    _Topic("technical", "high normal low", "mobile", "Matrix question broken on small phones",
           "On phones with small screens our matrix question runs off the right edge.",
           "Matrix tables don't fit narrow screens. Turn on 'Mobile friendly' in the question's "
           "options and phones show one statement per page."),
    _Topic("technical", "urgent high normal", "quota", "Quota filled up with test responses",
           "Our quota filled up with preview and test responses, so real respondents are now "
           "screened out.",
           "Quotas count every response, previews included. I've reset the count to the real "
           "responses; before a launch, delete test data under Data & Analysis > Tools."),
    _Topic("technical", "normal normal low", "data-export", "Garbled characters in CSV export",
           "When we open the CSV export in Excel, accented characters show as 'Ã©' instead of "
           "'é'.",
           "Excel assumes a legacy encoding for CSV files. Use the 'UTF-8 with BOM' export "
           "option, or import the file in Excel through Data > From Text and pick UTF-8."),
    _Topic("general", "low normal", "training", "Training for new survey creators",
           "We're onboarding ten new survey creators next month. Are there training materials "
           "or sessions we can use?",
           "The learning portal has a self-paced 'Survey basics' course, and live onboarding "
           "webinars run every Tuesday. I've sent your team the registration link."),
    _Topic("general", "low", "feature-request", "Feature request: bulk-edit question tags",
           "It would save us a lot of time if we could edit the tags of many questions at once.",
           "Thanks for the suggestion: I've logged it with our product team. There's no bulk edit "
           "today, but the survey library search can filter questions by tag."),
    _Topic("general", "normal normal low", "accounts", "Transfer surveys from a departing colleague",
           "A colleague leaves next week. How do we move her surveys and dashboards to me?",
           "Your brand admin can transfer all her projects at once under Admin > Users > Transfer "
           "projects. Do it before her account is deactivated."),
    _Topic("general", "normal low", "accounts", "Give admin rights to our new survey lead",
           "Please give brand admin rights to our new survey lead; she already has an account.",
           "Admin rights are granted by an existing brand admin, under Admin > Users > Edit user "
           "> User type. It takes a minute."),
    _Topic("billing", "normal low", "invoice", "Invoice sent to an old address",
           "Our latest invoice was sent to an old office address. Can you correct it and resend?",
           "I've updated the billing address on your account and reissued the invoice; the "
           "corrected PDF is on its way by email."),
    _Topic("billing", "high normal", "invoice", "Unexpected charge for additional responses",
           "Our last invoice has a line 'Additional responses' we didn't expect. What is it for?",
           "It covers responses above your package's annual allowance last quarter. I've emailed "
           "you the usage per project so you can see where they came from."),
    _Topic("billing", "urgent high normal", "payment", "Card payment failed",
           "We got an email saying our card payment failed. The card is valid; can you retry?",
           "Your bank's fraud check declined the charge. Once you'd confirmed it with the bank I "
           "retried the payment, and it went through."),
    _Topic("billing", "low normal", "renewal", "Renewal quote for the same package",
           "Our contract renews in three months. Can you send a quote for the same package and "
           "seat count?",
           "I've asked your account executive to prepare the renewal quote; you and your billing "
           "contact will have it within a week."),
    _Topic("billing", "normal low", "licenses", "Reduce user seats at renewal",
           "We'd like to go from 200 to 150 user seats at the next renewal.",
           "Seat changes take effect at renewal. I've noted 150 seats for your next term, and "
           "your account executive will confirm it in the renewal quote."),
)
_TOPICS_JA = (
    _Topic("technical", "normal low", "distribution", "リマインダーメールが送信されない",
           "予約したリマインダーメールが送信されていないようです。配信履歴にも表示されません。",
           "リマインダーは元の配信で未回答の方にのみ送信されます。今回は全員が回答済みのため、送信"
           "対象がありませんでした。"),
    _Topic("general", "low normal", "localization", "アンケートの翻訳を一括インポートしたい",
           "英語のアンケートに日本語の翻訳を一括でインポートする方法はありますか?",
           "翻訳画面の「翻訳をインポート」からCSVファイルで一括インポートできます。テンプレートは"
           "「翻訳をエクスポート」でダウンロードしてください。"),
    _Topic("technical", "normal", "reports", "レポートのグラフで日本語が文字化けする",
           "PDFでエクスポートしたレポートのグラフで、日本語のラベルが文字化けしています。",
           "レポートの「設定」でフォントを「Noto Sans JP」に変更すると、PDFでも正しく表示されます。"),
)
_PHRASES: dict[str, dict[str, Any]] = {
    "en": {
        "hello": "Hi {}, thanks for getting in touch. ",
        "ask": "Could you send the survey ID and a screenshot of what you see? I'll set this "
               "ticket to pending until then.",
        "details": "The survey ID is {}. Screenshot attached.",
        "rounds": (
            ("Thanks. I tried that, but it still happens on one of our surveys. Anything else I "
             "can check?", "That survey has an older block-level setting that overrides the "
             "survey-wide one; I've changed it for you. Please try again."),
            ("Thanks for the quick reply. Does this change affect responses we've already "
             "collected?", "No: data already collected stays as it is; only new responses are "
             "affected."),
            ("That helps, but a colleague still sees the old behaviour. Does she need to do "
             "anything?", "She needs to sign out and back in once to pick up the change."),
            ("Does this apply to our other brand as well, or only to this one?",
             "Only to this one: settings are per brand, so the other brand needs the same change."),
        ),
        "thanks": ("That worked, thank you!", "Confirmed: everything looks right now. Thanks for "
                   "your help.", "All good on our side now, thanks.", "Perfect, that solved it."),
        "done": "Glad to hear it! I'll mark this ticket as resolved; a reply here reopens it.",
        "silent": "I haven't heard back, so I'm marking this ticket as resolved. A reply here "
                  "reopens it if you still need help.",
        "reopen": ("Sorry to reopen this: the problem is back since this morning.",
                   "Thanks for telling us. A scheduled job had restored the old setting; I've "
                   "corrected it again and turned that job off for your brand."),
        "comments": {5: "Quick and clear answer, thank you.", 4: "Good help.",
                     3: "Solved, but it took a while.", 2: "Far too slow for something simple."},
    },
    "ja": {
        "hello": "佐藤様、お問い合わせありがとうございます。",
        "ask": "確認のため、アンケートIDと画面のスクリーンショット"
               "をお送りいただけますか?",
        "details": "アンケートIDは {} です。スクリーンショットを添付します。",
        "rounds": (("ありがとうございます。収集済みの回答にも影響しますか?",
                    "いいえ、収集済みの回答には影響しません。今後の回答にのみ適用されます。"),),
        "thanks": ("ありがとうございます。解決しました。", "確認できました。ご対応ありがとうございました。"),
        "done": "解決したとのことで安心しました。このチケットは解決済みにいたします。",
        "silent": "その後ご連絡がございませんので、このチケットは解決済みにいたします。返信いただければ"
                  "再開されます。",
        "reopen": ("申し訳ありませんが、同じ問題が再発しました。",
                   "ご連絡ありがとうございます。設定を再度修正しましたので、ご確認ください。"),
        "comments": {},
    },
}
_NOTES = (
    "Checked the account: configuration looks standard. Reproducing on a test brand.",
    "Same cause as an earlier ticket from this brand; the same fix should apply.",
    "Asked Tier 2 in the team channel; they confirm this is expected behaviour.",
    "Customer renews this quarter; keeping the account team in the loop.",
)
# fmt: on
# weights; fiona (FedRAMP) keeps her two hand-written tickets only
_REQUESTERS = {"ben": 22, "chloe": 24, "dmitri": 20, "alice": 18, "gary": 10, "kenji": 8}
_TYPES = {"email": 40, "web": 30, "chat": 18, "phone": 12}


class _Life:
    """One generated ticket's plan: steps at hours after creation, and who plays them."""

    def __init__(self, rng: random.Random, topic: _Topic, requester: str, lang: str) -> None:
        self.rng, self.topic, self.requester, self.lang = rng, topic, requester, lang
        self.words = _PHRASES[lang]
        self.priority = rng.choice(topic.priorities.split())
        self.name = requester.capitalize()
        self.plan: list[tuple[float, _Step]] = []

    def at(self, hours: float, *steps: _Step) -> None:
        self.plan.extend((max(hours, 0.0), step) for step in steps)

    def steps_until(self, cutoff: float) -> tuple[_Step, ...]:
        """The plan in time order, cut at the ticket's "now", each step's gap from the last."""
        self.plan.sort(key=lambda item: item[0])
        steps, clock = [], 0.0
        for hours, step in self.plan:
            if hours > cutoff:
                break
            steps.append(step._replace(gap=hours - clock))
            clock = hours
        return tuple(steps)


def _history_ticket(
    rng: random.Random, number: int, age_h: float, topic: _Topic, requester: str, waiting: bool
) -> _Spec:
    """One generated ticket, its life planned in hours after creation and cut off at ``now``.
    (Every random draw happens in a fixed order: the seed's history depends on it.)"""
    lang = "ja" if requester == "kenji" else "en"
    life = _Life(rng, topic, requester, lang)
    if lang == "ja":
        kind = rng.choice(("email", "web"))
    elif topic is _OUTAGE:
        kind = rng.choice(("email", "web", "phone"))
    else:
        kind = rng.choices(list(_TYPES), weights=list(_TYPES.values()))[0]
    if waiting and kind not in ("email", "web"):
        kind = "web"
    billing = topic.category == "billing"
    agent = "priya" if billing or lang == "ja" else rng.choice(("sam", "sam", "priya"))
    group = "Billing" if billing else "Tier 1"
    if kind == "chat":  # picked up from the queue within minutes, settled in the conversation
        fr, res, closed = _plan_chat(life, agent, group)
    else:
        fr, res = _plan_answered(life, kind, agent, group)
        closed = False
    cutoff = 0.011 if waiting else age_h - 0.05  # the ticket's "now", in hours after creation
    if not closed:  # closed by the requester, or by the sweep after two idle weeks
        _plan_ending(life, fr, res, cutoff)
    subject = "" if kind == "phone" and rng.random() < 0.5 else topic.subject
    return _Spec(
        str(number),
        kind,
        topic.category,
        life.priority,
        requester,
        subject,
        age_h / 24,
        "",
        life.steps_until(cutoff),
        tags=tuple(topic.tags.split()),
        language=lang,
    )


def _plan_chat(life: _Life, agent: str, group: str) -> tuple[float, float, bool]:
    """A chat: answered within minutes, resolved (or closed) in the conversation."""
    rng, requester = life.rng, life.requester
    fr = rng.uniform(0.02, 0.3)
    life.at(0, chat(requester, life.topic.question))
    life.at(fr - 0.01, assign(agent, group))
    life.at(fr, chat(agent, f"Hi {life.name}, thanks for waiting. {life.topic.answer}"))
    res = fr + rng.uniform(0.05, 0.3)
    life.at(res - 0.03, chat(requester, rng.choice(life.words["thanks"])))
    closed = rng.random() < 0.5
    life.at(res, close(agent, "chat") if closed else status(agent, "resolved"))
    return fr, res, closed


def _plan_answered(life: _Life, kind: str, agent: str, group: str) -> tuple[float, float]:
    """Email, web and phone: first response and resolution meeting or missing their
    targets at the designed odds, with back-and-forth between them."""
    rng, requester, priority = life.rng, life.requester, life.priority
    fr_due, res_due = _FIRST_RESPONSE_H[priority], _RESOLUTION_H[priority]
    met = rng.random() < _FR_MEET[priority]
    fr = fr_due * (rng.uniform(0.05, 0.9) if met else rng.uniform(1.15, 3.0))
    if rng.random() < _RES_MEET[priority]:
        res = fr + (res_due - fr) * rng.uniform(0.15, 0.92)
    else:
        res = res_due * rng.uniform(1.1, 2.5)
    if kind == "phone":
        fr = _plan_call(life, agent, group, fr)
        ask = False
    else:
        ask = _plan_first_response(life, kind, agent, group, fr)
    _plan_middle(life, agent, fr, res, ask)
    if rng.random() < 0.12 and life.topic.category == "technical":  # reopened, resolved again
        again, answer = life.words["reopen"]
        t = res + rng.uniform(6, 96)
        life.at(t, say(requester, again))
        life.at(t + rng.uniform(0.5, 8), say(agent, answer))
        life.at(t + rng.uniform(10, 48), status(agent, "resolved"))
    return fr, res


def _plan_call(life: _Life, agent: str, group: str, fr: float) -> float:
    """A phone ticket: the call, its summary as a note, then the written answer."""
    minutes = life.rng.randint(4, 35)
    life.at(0, system(f"Inbound call from the support line, {minutes} minutes."))
    life.at(0.01, assign(agent, group))
    life.at(minutes / 60, note(agent, f"Call summary: {life.topic.question}"))
    fr = max(fr, minutes / 60 + 0.05)
    life.at(
        fr,
        say(agent, f"Hi {life.name}, thanks for your call; here's a summary. {life.topic.answer}"),
    )
    return fr


def _plan_first_response(life: _Life, kind: str, agent: str, group: str, fr: float) -> bool:
    """The question, assignment, maybe a note, and the first answer; True when the answer
    asks the customer for details."""
    rng = life.rng
    files = ("screenshot.png",) if rng.random() < 0.1 else ()
    life.at(0, say(life.requester, life.topic.question, *files))
    if kind == "web":
        life.at(0.01, system(_ACK))
    assigned = fr * rng.uniform(0.2, 0.8)
    life.at(assigned, assign(agent, group))
    if rng.random() < 0.3:  # an internal note before the first reply: not a response
        life.at(assigned + (fr - assigned) * rng.uniform(0.2, 0.9), note(agent, rng.choice(_NOTES)))
    ask = rng.random() < 0.3
    hello = life.words["hello"].format(life.name)
    life.at(fr, say(agent, hello + (life.words["ask"] if ask else life.topic.answer)))
    if ask or rng.random() < 0.3:  # waiting for the customer's details or go-ahead
        life.at(fr + 0.01, status(agent, "pending"))
    return ask


def _plan_middle(life: _Life, agent: str, fr: float, res: float, ask: bool) -> None:
    """Between first response and resolution: details asked for, more rounds, thanks."""
    rng, requester, words = life.rng, life.requester, life.words
    middle: list[tuple[_Step, ...]] = []
    if ask:
        survey = f"SV_{rng.randrange(16**8):08x}"
        middle.append((say(requester, words["details"].format(survey), "screenshot.png"),))
        middle.append((status(agent, "open"), say(agent, life.topic.answer)))
    rounds = min(rng.choice((0, 0, 1, 1, 2)), len(words["rounds"]))
    for question, answer in rng.sample(words["rounds"], rounds):  # more back-and-forth
        middle += [(say(requester, question),), (say(agent, answer),)]
    confirmed = rng.random() < 0.6
    if confirmed:
        middle.append((say(requester, rng.choice(words["thanks"])),))
    times = sorted(rng.uniform(fr + 0.02, res - 0.1) for _ in middle)
    for hours, steps in zip(times, middle, strict=True):
        life.at(hours, *steps)
    life.at(res - 0.05, say(agent, words["done" if confirmed else "silent"]))
    life.at(res, status(agent, "resolved"))


def _plan_ending(life: _Life, fr: float, res: float, cutoff: float) -> None:
    """Closed by the requester (maybe with a rating), or by the sweep after two idle weeks."""
    rng, requester = life.rng, life.requester
    last = max(hours for hours, _ in life.plan)
    swept = last + 14 * 24 + rng.uniform(0.1, 12)
    if rng.random() < 0.35 or (swept > cutoff and last < cutoff - 13 * 24):
        t = last + rng.uniform(2, 96)
        life.at(t, close(requester))
        if rng.random() < 0.5:
            priority = life.priority
            good = fr <= _FIRST_RESPONSE_H[priority] and res <= _RESOLUTION_H[priority]
            rating = rng.choice((4, 5, 5) if good else (2, 3, 3, 4))
            comment = life.words["comments"].get(rating)
            life.at(t + rng.uniform(0.1, 3), rate(requester, rating, comment))
    else:
        life.at(swept, sweep("sam"))


@cache
def _history(seed: int = 20250877) -> tuple[_Spec, ...]:
    """The generated tickets, oldest first.  The seed was picked so that every priority both
    meets and misses each SLA target, and some tickets are reopened, pending or unanswered."""
    rng = random.Random(seed)
    lives: list[tuple[float, bool]] = []  # (age in hours, part of the incident)
    for week in range(17):  # weeks before now; a little busier lately (the customer base grows)
        start = 24 + week * 7 * 24
        count = 10 - week // 4 + rng.randint(-2, 2)
        lives += [(rng.uniform(start, min(start + 7 * 24, 120 * 24)), False) for _ in range(count)]
    outage = rng.uniform(60, 90) * 24  # one incident: a burst of urgent tickets within hours
    lives += [(outage - rng.uniform(0, 5), True) for _ in range(6)]
    lives.sort(reverse=True)
    names, weights = list(_REQUESTERS), list(_REQUESTERS.values())
    everyday = [topic for topic in _TOPICS_EN if topic.category != "billing"]
    billing = [topic for topic in _TOPICS_EN if topic.category == "billing"]
    specs = []
    for index, (age_h, hit) in enumerate(lives):
        requester = rng.choices(names, weights)[0]
        if hit:
            requester, topic = ("ben" if requester == "kenji" else requester), _OUTAGE
        elif requester == "kenji":
            topic = rng.choice(_TOPICS_JA)
        elif requester in ("alice", "gary") and rng.random() < 0.6:  # the admins pay the bills
            topic = rng.choice(billing)
        else:
            topic = rng.choice(everyday)
        waiting = index >= len(lives) - 3  # the newest: nobody has picked them up yet
        age_h = round(age_h * 60) / 60  # whole minutes, as the replay places them
        specs.append(_history_ticket(rng, 1031 + index, age_h, topic, requester, waiting))
    return tuple(specs)


# -- replaying the steps ------------------------------------------------------------------------


class _Replay:
    """Plays one ticket's steps and collects its thread, trail and escalation."""

    def __init__(self, spec: _Spec, now: datetime, users: dict[str, dict[str, Any]]) -> None:
        self.spec, self.now, self.users = spec, now, users
        self.clock = now - timedelta(minutes=round(spec.age * 24 * 60))
        self.created = self.clock
        self.status, self.priority, self.tags = "new", spec.priority, list(spec.tags)
        self.assignee: str | None = None
        self.group: str | None = None
        self.resolution: str | None = None
        self.closed_at: str | None = None
        self.feedback: dict[str, Any] | None = None
        self.proxy: dict[str, bool] = {}
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.escalation: dict[str, Any] | None = None

    def _date(self, days: int | None) -> str | None:
        return None if days is None else (self.now + timedelta(days=days)).date().isoformat()

    def _event(self, actor: str, action: str, **detail: Any) -> None:
        self.events.append(
            {"at": format_ts(self.clock), "actor": actor, "action": action, "detail": detail}
        )

    def _set_status(self, actor: str, to: str) -> None:
        self._event(actor, "status_changed", **{"from": self.status, "to": to})
        self.status = to

    def _message(self, step: _Step, kind: str) -> str:
        mid = f"m{len(self.messages) + 1}"
        self.messages.append(
            {
                "id": mid,
                "kind": kind,
                "author": step.actor,
                "at": format_ts(self.clock),
                "body": step.text,
                "attachments": [_attachment(self.spec.id, name) for name in step.files],
            }
        )
        return mid

    def _is_agent(self, username: str) -> bool:
        return self.users[username]["role"] == "agent"

    def play(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        spec = self.spec
        self._event(spec.requester, "created")
        for step in spec.steps:
            self.clock += timedelta(seconds=round(step.gap * 3600))
            getattr(self, f"_do_{step.op}")(step)
        if spec.status and self.status != spec.status:
            raise RuntimeError(f"demo ticket {spec.id} ends {self.status}, not {spec.status}")
        if self.clock >= self.now:
            raise RuntimeError(f"demo ticket {spec.id} has activity in the future")
        return self._ticket(), self.escalation

    # each _do_<op> plays one kind of step

    def _do_email(self, step: _Step) -> None:
        opening = not self.messages and self.clock == self.created
        mid = self._message(step, "email")
        if not opening:
            self._event(step.actor, "replied", message=mid)
        if self.status == "resolved" and not self._is_agent(step.actor):
            self._set_status(step.actor, "open")

    def _do_chat(self, step: _Step) -> None:
        self._message(step, "chat")

    def _do_note(self, step: _Step) -> None:
        if not self._is_agent(step.actor):
            raise RuntimeError(f"demo ticket {self.spec.id}: note by a non-agent")
        self._event(step.actor, "noted", message=self._message(step, "note"))

    def _do_system(self, step: _Step) -> None:
        self._message(step, "system")

    def _do_assign(self, step: _Step) -> None:
        self._event(step.actor, "assigned", **{"from": self.assignee, "to": step.actor})
        self.assignee = step.actor
        if self.group != step.value:
            self._do_group(step)
        if self.status == "new":
            self._set_status(step.actor, "open")

    def _do_group(self, step: _Step) -> None:
        self._event(step.actor, "group_changed", **{"from": self.group, "to": step.value})
        self.group = step.value

    def _do_status(self, step: _Step) -> None:
        self._set_status(step.actor, step.value)

    def _do_priority(self, step: _Step) -> None:
        self._event(step.actor, "priority_changed", **{"from": self.priority, "to": step.value})
        self.priority = step.value

    def _do_tags(self, step: _Step) -> None:
        self._event(step.actor, "tags_changed", **{"from": self.tags, "to": list(step.value)})
        self.tags = list(step.value)

    def _do_proxy(self, step: _Step) -> None:
        before = self.proxy.get(step.actor, self.users[step.actor]["support_access"])
        change = {"from": before, "to": step.value}
        self._event(step.actor, "proxy_access_changed", user=step.actor, **change)
        self.proxy[step.actor] = step.value

    def _do_escalate(self, step: _Step) -> None:
        esc_id, expected = step.value
        at = format_ts(self.clock)
        self.escalation = {
            "id": esc_id,
            "ticket_id": self.spec.id,
            "description": step.text,
            "stage": "submitted",
            "timeline": [{"stage": "submitted", "at": at}],
            "expected_resolution": self._date(expected),
            "created_at": at,
            "updated_at": at,
        }
        self._event(step.actor, "escalated", escalation_id=esc_id, stage="submitted")
        self._set_status(step.actor, "escalated")

    def _do_advance(self, step: _Step) -> None:
        esc = self.escalation
        if esc is None:
            raise RuntimeError(f"demo ticket {self.spec.id}: advance before escalate")
        stage, expected = step.value
        at = format_ts(self.clock)
        self._event(
            step.actor,
            "escalation_advanced",
            escalation_id=esc["id"],
            **{"from": esc["stage"], "to": stage},
        )
        esc["stage"], esc["updated_at"] = stage, at
        esc["timeline"].append({"stage": stage, "at": at})
        if expected is not None:
            esc["expected_resolution"] = self._date(expected)
        if stage == "resolved":
            self._set_status(step.actor, "open")

    def _do_close(self, step: _Step) -> None:
        self._event(
            step.actor, "closed", resolution=step.value, **{"from": self.status, "to": "closed"}
        )
        self.status, self.resolution, self.closed_at = "closed", step.value, format_ts(self.clock)

    def _do_sweep(self, step: _Step) -> None:
        """Closed by the built-in sweep rule (resolved and idle for 14 days), as cron does."""
        change = {"from": self.status, "to": "closed"}
        self._event(step.actor, "closed", **change, resolution="solved", rule="builtin")
        self.status, self.resolution, self.closed_at = "closed", "solved", format_ts(self.clock)

    def _do_restore(self, step: _Step) -> None:
        if self.status != "closed" or self.resolution != "spam":
            raise RuntimeError(f"demo ticket {self.spec.id}: only spam tickets are restored")
        self._event(step.actor, "restored", **{"from": "closed", "to": "open"})
        self.status, self.resolution, self.closed_at = "open", None, None

    def _do_feedback(self, step: _Step) -> None:
        at = format_ts(self.clock)
        self.feedback = {"rating": step.value, "comment": step.text or None, "at": at}
        self._event(step.actor, "feedback", rating=step.value)

    def _call(self) -> dict[str, Any] | None:
        if self.spec.call is None:
            return None
        call_status, days = self.spec.call
        when = (self.now + timedelta(days=days)).replace(minute=0, second=0) + timedelta(hours=1)
        url, passcode = _MEETING if call_status == "accepted" else (None, None)
        return {
            "scheduled_at": format_ts(when),
            "status": call_status,
            "meeting_url": url,
            "passcode": passcode,
        }

    def _ticket(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "kind": "ticket",
            "id": spec.id,
            "subject": spec.subject,
            "type": spec.type,
            "category": spec.category,
            "status": self.status,
            "priority": self.priority,
            "requester": spec.requester,
            "org": self.users[spec.requester]["org"],
            "created_at": format_ts(self.created),
            "updated_at": format_ts(self.clock),
            "resolution": self.resolution,
            "cc": list(spec.cc),
            "assignee": self.assignee,
            "group": self.group,
            "language": spec.language,
            "tags": list(self.tags),
            "closed_at": self.closed_at,
            "proxy_access": self.proxy,
            "call": self._call(),
            "escalation_id": self.escalation["id"] if self.escalation else None,
            "resources": [{"title": title, "url": url} for title, url in spec.resources],
            "feedback": self.feedback,
            "messages": self.messages,
            "events": self.events,
        }


# -- public -------------------------------------------------------------------------------------


def demo_documents(now: datetime) -> list[dict[str, Any]]:
    """Import-format documents (each with ``"kind"``) of the demo store, relative to ``now``.

    Orgs come first, then users, tickets (in id order) and escalations (in id order), so the
    list can be imported line by line.  ``now`` must be timezone-aware.
    """
    now = now.astimezone(UTC).replace(microsecond=0)
    users = _users()
    by_name = {user["username"]: user for user in users}
    tickets, escalations = [], []
    for spec in (*_TICKETS, *_history(), *_DUPLICATES):
        ticket, escalation = _Replay(spec, now, by_name).play()
        tickets.append(ticket)
        if escalation is not None:
            escalations.append({"kind": "escalation", **escalation})
    escalations.sort(key=lambda esc: int(esc["id"].split("-")[1]))
    return [
        *({"kind": "org", **org} for org in _orgs(now)),
        *({"kind": "user", **user} for user in users),
        *tickets,
        *escalations,
    ]


def demo_attachment_blobs() -> dict[str, bytes]:
    """The bytes of every demo attachment, keyed by their sha256 (content does not age)."""
    blobs: dict[str, bytes] = {}
    for doc in demo_documents(datetime.now(UTC)):
        for message in doc.get("messages", []):
            for attachment in message["attachments"]:
                blobs[attachment["sha256"]] = attachment_bytes(doc["id"], attachment["name"])
    return blobs


#: Reply templates `store init --demo` writes into the templates directory when it has none
#: (SPEC §13): one per kind a new user can try with `tickets reply --template … --preview`.
DEMO_TEMPLATES: dict[str, str] = {
    "export-known-issue": """+++
description = "Known issue: large exports time out (asks for nothing, sets pending)"
status = "pending"
add_tags = ["export-timeout"]
+++
Hello {{ requester.name }},

Thank you for reporting "{{ ticket.subject }}" (ticket {{ ticket.id }}). Exports of more
than 100,000 responses currently time out; our engineers have a fix, which ships on
{{ fix_date }}. Until then, splitting the export by date range works.

{{ me.name }}, {{ org.name }} support
""",
    "need-har": """+++
description = "Ask for a HAR file of the failing page (sets pending)"
status = "pending"
+++
Hello {{ requester.name }},

To find out what goes wrong in "{{ ticket.subject }}", could you send us a HAR file of
the failing page? Your browser's developer tools save one (Network tab, "Save all as HAR").

{{ me.name }}
""",
    "thanks": """+++
description = "A short thank-you"
+++
Thank you, {{ requester.name }}. We are glad it works again.
""",
    "handover": """+++
description = "Internal: take the ticket over"
internal = true
assignee = "@me"
+++
Taking this one over ({{ me.username }}).
""",
}
