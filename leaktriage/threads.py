"""Email threads over the whole dump, and the corpus findings only threads can give.

After the walk, every message in the store is grouped with the messages it names
(Message-ID, In-Reply-To, References) into threads; the table ``threads`` and the view
``threads_view`` give each message its thread id and position by date, so a report can show
a forged reply inside a genuine thread. Two checks need the whole dump:

- a reply dated before a message it replies to (found in the same dump) cannot be genuine
  (``email-reply-before-parent``);
- a message whose Date offset its sender never uses elsewhere in the dump is a lead
  (``email-offset-unusual-for-sender``).

Both are stored as findings with ``source='corpus'``; the record's verdict and score are
recomputed with :func:`leaktriage.rules.verdict`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from leaktriage.model import Evidence, Finding, Severity, iso_utc
from leaktriage.rules import verdict
from leaktriage.rules.verdict import Weigher, family_of
from leaktriage.store import Store, views

REPLY_TOLERANCE = timedelta(minutes=10)
"""Clock skew allowed between a reply and the message it answers."""
MIN_SENDER_MESSAGES = 5
"""Messages a sender needs in the dump before their usual offsets mean anything."""
RARE_OFFSET_SHARE = 0.1
"""An offset seen in less than this share of a sender's messages is unusual for them."""
CORPUS_RULES = ("email-reply-before-parent", "email-offset-unusual-for-sender")
"""Corpus checks of this module (described in ``leaktriage.corpus.mail``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
  record_id TEXT PRIMARY KEY REFERENCES files(record_id),
  thread_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  message_id TEXT
);
CREATE INDEX IF NOT EXISTS threads_thread ON threads(thread_id, position);
CREATE VIEW IF NOT EXISTS threads_view AS
SELECT t.thread_id, t.position, t.record_id, f.path, t.message_id,
  (SELECT value FROM fields WHERE record_id = t.record_id AND name = 'email.date') AS date,
  (SELECT value FROM fields WHERE record_id = t.record_id AND name = 'email.subject')
    AS subject,
  (SELECT value FROM fields WHERE record_id = t.record_id AND name = 'email.from') AS "from",
  f.verdict
FROM threads t JOIN files f USING (record_id)
ORDER BY t.thread_id, t.position;
"""
_WANTED = (
    "email.message_id",
    "email.in_reply_to",
    "email.references",
    "email.date",
    "email.date_offset",
    "email.from",
)
_NEVER = datetime.min.replace(tzinfo=UTC)
_ID = re.compile(r"<[^<>\s]{1,998}>")
_ADDRESS = re.compile(r"[^\s<>@]+@[^\s<>@]+")


@dataclass(slots=True)
class _Message:
    record_id: str
    path: str
    message_id: str | None = None
    parents: list[str] = field(default_factory=list)
    date: datetime | None = None
    offset: str | None = None
    sender: str | None = None


@dataclass(slots=True)
class ThreadOutcome:
    """What the thread step changed: rule hits and verdicts moved (old -> new)."""

    threads: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    verdict_changes: list[tuple[str | None, str]] = field(default_factory=list)


def _normal_id(text: str) -> str | None:
    found = _ID.search(text)
    if found:
        return found.group(0)
    text = text.strip()
    return f"<{text}>" if text and " " not in text and len(text) < 998 else None


def _messages(db: Store) -> list[_Message]:
    found: dict[str, _Message] = {}
    for rid, path, name, value in views.message_fields(db, tuple(_WANTED)):
        message = found.setdefault(rid, _Message(rid, path))
        if name == "email.message_id":
            message.message_id = _normal_id(value)
        elif name in ("email.in_reply_to", "email.references"):
            ref = _normal_id(value)
            if ref and ref not in message.parents:
                message.parents.append(ref)
        elif name == "email.date":
            try:
                when = datetime.fromisoformat(value.replace("Z", "+00:00"))
                message.date = when if when.tzinfo else when.replace(tzinfo=UTC)
            except ValueError:
                message.date = None
        elif name == "email.date_offset":
            message.offset = value
        elif name == "email.from":
            address = _ADDRESS.search(value)
            message.sender = address.group(0).strip(".,;").lower() if address else None
    return [m for m in found.values() if m.message_id or m.parents]


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            low, high = sorted((ra, rb))
            self.parent[high] = low  # the smallest id is the root: same input, same thread ids


def analyse(db: Store, weigher: Weigher | None) -> ThreadOutcome:
    """Fill ``threads`` from the store and add the corpus findings (none when ``weigher``
    is None, i.e. the scan runs without rules)."""
    db.db.executescript(_SCHEMA)
    messages = _messages(db)
    union = _Union()
    for message in messages:
        own = message.message_id or f"record:{message.record_id}"
        union.find(own)
        for parent in message.parents:
            union.join(own, parent)
    groups: dict[str, list[_Message]] = {}
    for message in messages:
        root = union.find(message.message_id or f"record:{message.record_id}")
        groups.setdefault(root, []).append(message)
    rows: list[tuple[str, str, int, str | None]] = []
    for root, members in groups.items():
        thread_id = hashlib.sha256(root.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        members.sort(key=lambda m: (m.date is None, m.date or _NEVER, m.path, m.record_id))
        rows.extend(
            (m.record_id, thread_id, position, m.message_id)
            for position, m in enumerate(members, 1)
        )
    views.replace_threads(db, rows)
    outcome = ThreadOutcome(threads=len(groups))
    if weigher is None:
        return outcome
    found: dict[str, list[Finding]] = {}
    for finding in [*_early_replies(messages), *_unusual_offsets(messages)]:
        found.setdefault(finding.record_id, []).append(finding)
    _store_findings(db, found, weigher, outcome)
    return outcome


def _early_replies(messages: list[_Message]) -> list[Finding]:
    dated: dict[str, list[_Message]] = {}
    for message in messages:
        if message.message_id and message.date:
            dated.setdefault(message.message_id, []).append(message)
    found = []
    for reply in messages:
        if reply.date is None:
            continue
        for ref in reply.parents:
            # Copies sharing one Message-ID may carry different dates (one was re-dated):
            # any copy dated after the reply is one the reply cannot answer.
            later = [
                p
                for p in dated.get(ref, [])
                if p.record_id != reply.record_id
                and p.date is not None
                and p.date - reply.date > REPLY_TOLERANCE
            ]
            if later:
                earliest = min(later, key=lambda p: (p.date or _NEVER, p.path))
                assert earliest.date is not None
                found.append(
                    Finding(
                        reply.record_id,
                        "email-reply-before-parent",
                        "T0089.003",
                        Severity.MEDIUM,
                        "B",
                        f"Replies to {ref}, which this dump holds dated {iso_utc(earliest.date)}"
                        f" ({earliest.path}), but is itself dated {iso_utc(reply.date)}: "
                        "a reply cannot precede the message it answers",
                        (
                            Evidence("email.date", iso_utc(reply.date), ""),
                            Evidence("email.in_reply_to", ref, "or References"),
                            Evidence(
                                "corpus.parent",
                                iso_utc(earliest.date),
                                f"email.date of {earliest.path}",
                            ),
                        ),
                        "corpus",
                    )
                )
                break
    return found


def _unusual_offsets(messages: list[_Message]) -> list[Finding]:
    by_sender: dict[str, list[_Message]] = {}
    for message in messages:
        if message.sender and message.offset:
            by_sender.setdefault(message.sender, []).append(message)
    found = []
    for sender, sent in sorted(by_sender.items()):
        if len(sent) < MIN_SENDER_MESSAGES:
            continue
        counts = Counter(m.offset for m in sent)
        usual = [o for o, n in counts.most_common() if n / len(sent) >= RARE_OFFSET_SHARE]
        shown = ", ".join(f"{o} ({counts[o]} of {len(sent)})" for o in usual)
        for message in sent:
            if message.offset in usual:
                continue
            found.append(
                Finding(
                    message.record_id,
                    "email-offset-unusual-for-sender",
                    "T0089.003",
                    Severity.LOW,
                    "C",
                    f"Date written with offset {message.offset}, which {sender} uses in "
                    f"{counts[message.offset]} of {len(sent)} messages in this dump "
                    f"(usually {shown})",
                    (
                        Evidence("email.date_offset", str(message.offset), ""),
                        Evidence("email.from", sender, f"usual offsets: {shown}"),
                    ),
                    "corpus",
                )
            )
    return found


def _store_findings(
    db: Store,
    found: dict[str, list[Finding]],
    weigher: Weigher,
    outcome: ThreadOutcome,
) -> None:
    if not found:
        return
    records = db.load_many(sorted(found))
    verdicts: list[tuple[str, str, float]] = []
    with db.db:  # one transaction: the findings and the verdicts they give
        for record in records:
            new = tuple(found[record.record_id])
            family = family_of(record.mime, record.extension)
            label, score = verdict(record.status, [*record.findings, *new], weigher, family)
            db.add_findings([(record.record_id, new)])
            verdicts.append((record.record_id, label, score))
            outcome.hits.update({f.rule_id for f in new})
            if label != record.verdict:
                outcome.verdict_changes.append((record.verdict, label))
        db.set_verdicts(verdicts)
