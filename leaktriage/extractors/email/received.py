"""The Received chain: each hop's receiving host, sending host and time, and the chain's facts
(hops newest first, first and last times, the largest step back in time, the zones seen)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import timedelta, timezone

from leaktriage.extractors import Extraction
from leaktriage.extractors._dates import Stamp, parse_rfc5322
from leaktriage.extractors.email._common import MAX_LIST, unfold

_RECEIVED_FROM = re.compile(r"(?<![\w.-])from\s+([^\s;()]+)", re.IGNORECASE)
_RECEIVED_BY = re.compile(r"(?<![\w.-])by\s+([^\s;()]+)", re.IGNORECASE)


@dataclass(slots=True)
class _Hop:
    by: str
    sender: str
    stamp: Stamp | None


def _parse_received(value: str) -> _Hop:
    """One Received header: the receiving host (by), the sending host (from) and the time."""
    head, semicolon, when = value.rpartition(";")
    if not semicolon:
        head, when = value, ""
    by = _RECEIVED_BY.search(head)
    sender = _RECEIVED_FROM.search(head)
    return _Hop(
        by.group(1) if by else "",
        sender.group(1) if sender else "",
        parse_rfc5322(when) if when.strip() else None,
    )


def _local_iso(stamp: Stamp) -> str:
    """The time as written: ISO 8601 with the offset it carried (none when it had no zone)."""
    if not stamp.tz_known or not stamp.offset:
        return stamp.utc.replace(tzinfo=None).isoformat()
    sign = -1 if stamp.offset.startswith("-") else 1
    hours, _, minutes = stamp.offset[1:].partition(":")
    zone = timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
    return stamp.utc.astimezone(zone).isoformat()


def put_received(extraction: Extraction, received: list[str]) -> None:
    """The Received chain (raw header values, top first) as facts, newest hop first;
    first/last are the bottom and top hop times."""
    if not received:
        return
    hops = [_parse_received(unfold(raw)) for raw in received[:MAX_LIST]]
    extraction.put("email.received_hops", len(received))
    extraction.put(
        "email.received",
        tuple(
            f"{hop.by} | {hop.sender} | {_local_iso(hop.stamp) if hop.stamp else ''}"
            for hop in hops
        ),
    )
    times = [hop.stamp.utc for hop in hops if hop.stamp]
    if times:
        extraction.put("email.received_first", times[-1])
        extraction.put("email.received_last", times[0])
    if len(times) > 1:
        # Oldest hop first: each hop should be stamped no earlier than the one below it.
        oldest_first = times[::-1]
        steps = [
            (older - newer).total_seconds() for older, newer in itertools.pairwise(oldest_first)
        ]
        extraction.put("email.received_max_backstep_s", max(0, int(max(steps))))
    offsets = [hop.stamp.offset for hop in reversed(hops) if hop.stamp and hop.stamp.tz_known]
    extraction.put("email.received_offsets", tuple(dict.fromkeys(o for o in offsets if o)))
