"""The mail-thread checks' findings (produced by :mod:`leaktriage.threads`, which runs right
after the corpus stage over the whole store). Defined here, not in ``threads``, so that the
registry can be read without importing the thread analysis (and ``threads`` keeps from
importing NumPy through this package)."""

from __future__ import annotations

from leaktriage.corpus.registry import CorpusFinding

FINDINGS = (
    CorpusFinding(
        "email-reply-before-parent",
        "alteration",
        "Reply dated before the message it answers",
        "A message in this dump answers another that is dated later: one of the two dates, "
        "or the reply itself, was made up.",
        (
            "the sender's or the recipient's computer clock was wrong",
            "a message was re-sent later (a resent copy keeps the original answer's thread)",
        ),
        context_only=False,
    ),
    CorpusFinding(
        "email-offset-unusual-for-sender",
        "provenance",
        "Time-zone offset the sender rarely uses",
        "The Date header's offset differs from the one this sender uses in almost all of "
        "their messages in the dump.",
        (
            "the sender was travelling",
            "the message was sent from a phone or webmail set to another time zone",
            "a change to or from summer time the sender's other messages do not cover",
        ),
        context_only=True,
    ),
)
