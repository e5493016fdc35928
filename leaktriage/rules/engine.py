"""The rule engine: condition trees over catalogue fields, the closed table of operators,
``Rule`` (one rule applied to one record's facts) and ``RuleSet`` (every rule, with gates
so a record is only shown the rules whose fields it has).

A rule is data (``rules/<concern>/<id>.yaml``): a condition tree of ``all`` / ``any`` / ``not``
over leaves on catalogue fields, with one operator per leaf from the closed table
``OPERATORS``. Nothing is ``eval``-ed. Every fact a true leaf read becomes evidence, so a
journalist can check the finding with another tool.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from leaktriage.errors import LeakTriageError
from leaktriage.fields import FIELDS, ZONE_FACTS, ZONELESS
from leaktriage.model import Evidence, FieldValue, FileRecord, Finding, Severity
from leaktriage.rules.verdict import (
    LIKELY_ALTERED_AT,
    BaseRate,
    RuleWeight,
    Weigher,
    corpus_weights,
)
from leaktriage.textfacts import char_script
from leaktriage.unicode_script import NEUTRAL
from leaktriage.wording import Unit, in_words

if TYPE_CHECKING:
    from leaktriage.rules.decoys import DecoyList


SEVERITIES = {s.name.lower(): s for s in Severity}
CATEGORIES = frozenset({"alteration", "decoy", "provenance", "integrity", "verification"})
GRADES = frozenset({"A", "B", "C"})
PSEUDO_FIELDS = {
    "file.mime": "str",
    "file.extension": "str",
    "file.extension_mismatch": "bool",
    "file.status": "str",
    "file.name": "str",
    "file.depth": "int",
    "file.mtime": "datetime",
    "file.mtime_tz_known": "bool",
    "file.sha256": "str",
    "file.md5": "str",
}
"""The record's own attributes, readable by rules under ``file.*``."""
REQUIRED = (
    "id",
    "title",
    "severity",
    "category",
    "technique",
    "grade",
    "rationale",
    "match",
    "message",
    "tests",
)
OPTIONAL = ("signals", "false_positives", "references", "evidence", "base_rate", "group", "role")
ROLES = frozenset({"evidence", "context"})
"""``role: context`` marks a rule whose findings say where to look, never proof."""
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_DANGLING = re.compile(r"([:(])\s*[,;]\s*")


def render_message(template: str, facts: Facts) -> str:
    """Fill a rule's message: ``{field}`` takes the fact's value (a number with a catalogue
    unit in words: "5 h 12 min", "1.5 kB"); a ``[...]`` group is shown only when every field
    inside it has a value, so absent facts leave no "?" behind."""

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        return inner if all(facts.get(n) is not None for n in PLACEHOLDER.findall(inner)) else ""

    # Tidy the template, never the values: they are shown exactly as found.
    text = _OPTIONAL.sub(group, template)
    text = _DANGLING.sub(lambda m: m.group(1) + (" " if m.group(1) == ":" else ""), text).strip()
    return PLACEHOLDER.sub(
        lambda m: show_value(facts.get(m.group(1), "?"), _unit(m.group(1))), text
    )


def _unit(name: str) -> Unit | None:
    spec = FIELDS.get(name)
    return spec.unit if spec is not None else None


class RuleError(LeakTriageError):
    """One or more rule files are malformed; ``errors`` lists ``path:line: what``."""

    exit_code = 4

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# --- the condition tree ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    """One test on one field."""

    field: str
    op: str
    arg: Any
    cased: bool = False
    all_values: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    """``all`` / ``any`` / ``not`` over children."""

    kind: str
    children: tuple[Node | Leaf, ...]


Condition = Node | Leaf


@dataclass(slots=True)
class Context:
    """What a rule may compare with besides the record: the leak date, the scan time, tables."""

    leak_date: date | None
    now: datetime
    tables: Mapping[str, Table]


@dataclass(frozen=True, slots=True)
class Table:
    """A look-up table from ``rules/data``: keys, or release patterns with dates."""

    name: str
    keys: frozenset[str]
    releases: tuple[tuple[re.Pattern[str], date, str], ...]


Facts = Mapping[str, FieldValue]
Read = list[tuple[str, FieldValue, str]]


def _fold(value: Any, cased: bool) -> Any:
    return value.casefold() if isinstance(value, str) and not cased else value


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


ZONE_SLACK = timedelta(hours=14)
"""How far a time written without a zone may be from UTC (UTC-12 to UTC+14)."""
ZONE_NOTE = "zone unknown; compared with ±14 h"
"""Evidence note of a time that was compared with :data:`ZONE_SLACK` either way."""
_ZONE_FACTS = {**ZONE_FACTS, "file.mtime": "file.mtime_tz_known"}


def zone_known(name: str | None, facts: Facts) -> bool:
    """False when the time in field ``name`` was written without a zone (and read as UTC);
    True for zoned times, literals, ``$leak_date`` and ``$now`` (``name`` None)."""
    if name is None:
        return True
    if name in ZONELESS:
        return False
    flag = _ZONE_FACTS.get(name)
    return flag is None or facts.get(flag) is not False


def _slack(facts: Facts, name: str, other: str | None) -> timedelta:
    """:data:`ZONE_SLACK` when one side of a time comparison has a zone and the other none.

    Two zone-less times of one file come from the same clock (a camera's DateTime and
    DateTimeOriginal) and are compared as they are; a zone-less time against a zoned one
    can be anywhere within 14 hours of its UTC reading.
    """
    known, other_known = zone_known(name, facts), zone_known(other, facts)
    if known != other_known:
        return ZONE_SLACK
    mine, theirs = _offset(facts, name), _offset(facts, other)
    if known and mine is not None and theirs is not None and mine != theirs:
        # One save's two times written with different offsets (a clock's daylight-saving
        # switch, a scanner set to another zone): the wall-clock order is what was lived, so
        # the offsets' difference is slack.
        return abs(mine - theirs)
    return timedelta(0)


_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _offset(facts: Facts, name: str | None) -> timedelta | None:
    """The UTC offset a time was written with (``<field>_offset``, "+02:00"), if known."""
    value = facts.get(f"{name}_offset") if name else None
    found = _OFFSET.match(value) if isinstance(value, str) else None
    if not found:
        return None
    size = timedelta(hours=int(found.group(2)), minutes=int(found.group(3)))
    return -size if found.group(1) == "-" else size


OFFSET_NOTE = "written with another UTC offset than the other time: compared with the difference"


def _zone_note(facts: Facts, read: Read, name: str, value: Any, other: str | None) -> None:
    """Say, in the evidence, which time was compared with the zone slack."""
    mine, theirs = _offset(facts, name), _offset(facts, other)
    if mine is not None and theirs is not None and mine != theirs:
        read.append((f"{name}_offset", facts[f"{name}_offset"], OFFSET_NOTE))
        read.append((f"{other}_offset", facts[f"{other}_offset"], OFFSET_NOTE))
    for field_name in (name, other):
        if field_name is not None and not zone_known(field_name, facts):
            shown = value if field_name == name else facts.get(field_name)
            if shown is not None:
                read.append((field_name, shown, ZONE_NOTE))


def _resolve(arg: Any, ctx: Context) -> Any:
    """``$leak_date`` is the end of the leak day (UTC); ``$now`` the scan time."""
    if arg == "$leak_date":
        if ctx.leak_date is None:
            return None
        return datetime.combine(ctx.leak_date, time(0), tzinfo=UTC) + timedelta(days=1)
    if arg == "$now":
        return ctx.now
    return arg


_TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "in": lambda a, b: isinstance(a, str) and isinstance(b, str) and bool(a.strip()) and a in b,
}


def _time_test(op: str, left: datetime, right: datetime, slack: timedelta) -> bool:
    """``left op right`` for certain when ``left`` may be off by ``slack`` either way: before
    only if still before ``slack`` later, equal if within ``slack``."""
    if op in ("lt", "lte"):
        return _TESTS[op](left + slack, right)
    if op in ("gt", "gte"):
        return _TESTS[op](left - slack, right)
    within = abs(left - right) <= slack
    return within if op == "eq" else not within


def _compare(value: Any, arg: Any, op: str, slack: timedelta = timedelta(0)) -> bool:
    if isinstance(value, datetime) or isinstance(arg, datetime):
        left, right = as_time(value), as_time(arg)
        return left is not None and right is not None and _time_test(op, left, right, slack)
    if isinstance(value, bool) or isinstance(arg, bool):
        return False
    if isinstance(value, int | float) and isinstance(arg, int | float):
        return _TESTS[op](value, arg)
    if isinstance(value, str) and isinstance(arg, str):
        return _TESTS[op](value, arg)
    return False


def _ordering(op: str) -> Callable[[Any, Leaf, Facts, Context, Read], bool]:
    def check(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
        arg = _resolve(leaf.arg, ctx)
        if arg is None:
            return False
        timed = isinstance(value, datetime) or isinstance(arg, datetime)
        slack = _slack(facts, leaf.field, None) if timed else timedelta(0)
        if not _compare(value, arg, op, slack):
            return False
        if slack:
            _zone_note(facts, read, leaf.field, value, None)
        return True

    return check


def _other(leaf: Leaf, facts: Facts, read: Read, name: str | None = None) -> FieldValue | None:
    other = name or str(leaf.arg)
    value = facts.get(other)
    if value is not None:
        read.append((other, value, ""))
    return value


def _field_compare(op: str) -> Callable[..., bool]:
    def check(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
        other = _other(leaf, facts, read)
        if other is None:
            return False
        others = other if isinstance(other, tuple) else (other,)
        slack = _slack(facts, leaf.field, str(leaf.arg))
        if not any(
            _compare(_fold(value, leaf.cased), _fold(o, leaf.cased), op, slack) for o in others
        ):
            return False
        if slack and isinstance(value, datetime):
            _zone_note(facts, read, leaf.field, value, str(leaf.arg))
        return True

    return check


def _differs(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    spec = leaf.arg
    other = _other(leaf, facts, read, spec["field"])
    left, right = as_time(value), as_time(other)
    if left is None or right is None:
        return False
    limit = timedelta(
        days=spec.get("days", 0), hours=spec.get("hours", 0), minutes=spec.get("minutes", 0)
    )
    slack = _slack(facts, leaf.field, spec["field"])
    if abs(left - right) <= limit + slack:
        return False
    if slack:
        _zone_note(facts, read, leaf.field, value, spec["field"])
    return True


def _in_table(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    table = ctx.tables[leaf.arg]
    return str(value).strip().casefold() in table.keys


def _released_after(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    table = ctx.tables[leaf.arg["table"]]
    date_field = leaf.arg["date_field"]
    when = as_time(_other(leaf, facts, read, date_field))
    if when is None or not isinstance(value, str):
        return False
    slack = _slack(facts, date_field, None)
    for pattern, released, name in table.releases:
        if pattern.search(value):
            if datetime.combine(released, time(0), tzinfo=UTC) > when + slack:
                read.append((f"table:{table.name}", name, f"first released {released.isoformat()}"))
                if slack:
                    _zone_note(facts, read, date_field, facts.get(date_field), None)
                return True
            return False
    return False


def _script_not(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    # Letters of the Common script (µ) belong to every script: never "another" one.
    allowed = {str(s).casefold() for s in leaf.arg}
    return any(
        (script := char_script(ch)) is not None
        and script not in NEUTRAL
        and script.casefold() not in allowed
        for ch in str(value)
    )


def _exceeds_span(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    start_field, end_field = leaf.arg["start"], leaf.arg["end"]
    start = as_time(_other(leaf, facts, read, start_field))
    end = as_time(_other(leaf, facts, read, end_field))
    if start is None or end is None or end < start or not isinstance(value, int | float):
        return False
    slack = _slack(facts, start_field, end_field)
    if float(value) <= (end - start + slack).total_seconds():
        return False
    if slack:
        _zone_note(facts, read, start_field, facts.get(start_field), end_field)
    return True


def _primary(tag: str) -> str:
    return tag.replace("_", "-").split("-", 1)[0].casefold()


def _language_differs(
    values: tuple[Any, ...], leaf: Leaf, facts: Facts, ctx: Context, read: Read
) -> bool:
    other = _other(leaf, facts, read)
    if not isinstance(other, str) or not values:
        return False
    return all(_primary(str(v)) != _primary(other) for v in values)


def _host(value: str) -> str:
    text = value.strip()
    if text.startswith("\\\\"):
        return text[2:].split("\\", 1)[0].casefold()
    try:
        return (urlsplit(text).hostname or "").casefold()
    except ValueError:
        return ""


def _host_in_table(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    host = _host(str(value))
    keys = ctx.tables[leaf.arg].keys
    parts = host.split(".")
    return any(".".join(parts[i:]) in keys for i in range(len(parts))) if host else False


_DOMAIN = re.compile(r"@([A-Za-z0-9.-]+)")


def _domain(value: Any) -> str | None:
    found = _DOMAIN.findall(str(value))
    if not found:
        return None
    domain = str(found[-1]).casefold().rstrip(".")
    for prefix in ("mail.", "smtp."):
        domain = domain.removeprefix(prefix)
    return domain


def _domain_differs(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    mine, theirs = _domain(value), _domain(_other(leaf, facts, read))
    if not mine or not theirs:
        return False
    return not (mine == theirs or mine.endswith("." + theirs) or theirs.endswith("." + mine))


def _text_op(test: Callable[[str, str], bool]) -> Callable[..., bool]:
    def check(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
        return isinstance(value, str) and test(
            _fold(value, leaf.cased), _fold(leaf.arg, leaf.cased)
        )

    return check


def _equals(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    arg = leaf.arg
    if isinstance(value, datetime):
        other = as_time(arg)
        left = as_time(value)
        slack = _slack(facts, leaf.field, None)
        return other is not None and left is not None and _time_test("eq", left, other, slack)
    if isinstance(value, bool) or isinstance(arg, bool):
        return isinstance(value, bool) and isinstance(arg, bool) and value is arg
    return bool(_fold(value, leaf.cased) == _fold(arg, leaf.cased))


def _in(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    return any(
        _equals(value, Leaf(leaf.field, "equals", a, leaf.cased), facts, ctx, read)
        for a in leaf.arg
    )


@lru_cache(maxsize=1024)
def _regex(pattern: str, cased: bool) -> re.Pattern[str]:
    return re.compile(pattern, 0 if cased else re.IGNORECASE)


ElementOp = Callable[[Any, Leaf, Facts, Context, Read], bool]

OPERATORS: dict[str, ElementOp] = {
    "equals": _equals,
    "not_equals": lambda v, leaf, f, c, r: not _equals(v, leaf, f, c, r),
    "in": _in,
    "contains": _text_op(lambda a, b: b in a),
    "startswith": _text_op(lambda a, b: a.startswith(b)),
    "endswith": _text_op(lambda a, b: a.endswith(b)),
    "regex": lambda v, leaf, f, c, r: (
        isinstance(v, str) and _regex(str(leaf.arg), leaf.cased).search(v) is not None
    ),
    "gt": _ordering("gt"),
    "gte": _ordering("gte"),
    "lt": _ordering("lt"),
    "lte": _ordering("lte"),
    "equals_field": _field_compare("eq"),
    "not_equals_field": _field_compare("ne"),
    "before_field": _field_compare("lt"),
    "after_field": _field_compare("gt"),
    "contained_in_field": _field_compare("in"),
    "differs_by_more_than": _differs,
    "in_table": _in_table,
    "released_after": _released_after,
    "script_not": _script_not,
    "exceeds_span_seconds": _exceeds_span,
    "host_in_table": _host_in_table,
    "domain_differs_from_field": _domain_differs,
}
"""Operators applied to each element of a field (any element, or all with ``all_values``)."""

WHOLE_OPERATORS: dict[str, Callable[[tuple[Any, ...], Leaf, Facts, Context, Read], bool]] = {
    "count_gte": lambda values, leaf, f, c, r: len(values) >= int(leaf.arg),
    "language_differs_from_field": _language_differs,
}
"""Operators applied to the field's whole list of values."""

ALL_OPERATORS = frozenset({"exists", *OPERATORS, *WHOLE_OPERATORS})


def evaluate(condition: Condition, facts: Facts, ctx: Context) -> tuple[bool, Read]:
    """Evaluate a condition; returns (result, facts read by the leaves that were true)."""
    if isinstance(condition, Leaf):
        return _evaluate_leaf(condition, facts, ctx)
    if condition.kind == "not":
        result, _ = evaluate(condition.children[0], facts, ctx)
        return not result, []
    evidence: Read = []
    if condition.kind == "all":
        for child in condition.children:
            result, read = evaluate(child, facts, ctx)
            if not result:
                return False, []
            evidence.extend(read)
        return True, evidence
    matched = False
    for child in condition.children:
        result, read = evaluate(child, facts, ctx)
        if result:
            matched = True
            evidence.extend(read)
    return matched, evidence


def needed_fields(condition: Condition) -> tuple[frozenset[str], ...]:
    """Sets of fields one of which ``condition`` cannot be true without (all of its fields
    present): a leaf needs its field (except ``exists: false``), ``any`` one of its children's
    sets, ``all`` one set of each child, ``not`` nothing. Past 32 alternatives the sets of
    ``all`` are merged to the fields every alternative shares (weaker, still exact)."""
    if isinstance(condition, Leaf):
        if condition.op == "exists" and not condition.arg:
            return (frozenset(),)
        return (frozenset({condition.field}),)
    if condition.kind == "not" or not condition.children:
        return (frozenset(),)
    needs = [needed_fields(child) for child in condition.children]
    if condition.kind == "any":
        return tuple(dict.fromkeys(alt for need in needs for alt in need))
    combined: tuple[frozenset[str], ...] = (frozenset(),)
    for need in needs:
        combined = tuple(dict.fromkeys(a | b for a in combined for b in need))
        if len(combined) > 32:
            combined = (frozenset.intersection(*combined),)
    return combined


def _evaluate_leaf(leaf: Leaf, facts: Facts, ctx: Context) -> tuple[bool, Read]:
    value = facts.get(leaf.field)
    if leaf.op == "exists":
        if (value is not None) != bool(leaf.arg):
            return False, []
        return True, [(leaf.field, value, "")] if value is not None else []
    if value is None:
        return False, []
    read: Read = []
    values = value if isinstance(value, tuple) else (value,)
    if leaf.op in WHOLE_OPERATORS:
        ok = WHOLE_OPERATORS[leaf.op](values, leaf, facts, ctx, read)
    else:
        test = OPERATORS[leaf.op]
        outcomes = (test(v, leaf, facts, ctx, read) for v in values)
        ok = all(outcomes) if leaf.all_values else any(outcomes)
    if not ok:
        return False, []
    return True, [(leaf.field, value, ""), *read]


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """A loaded, validated rule."""

    id: str
    title: str
    severity: Severity
    category: str
    technique: str
    grade: str
    rationale: str
    false_positives: tuple[str, ...]
    references: tuple[str, ...]
    signals: tuple[str, ...]
    match: Condition
    evidence: tuple[str, ...]
    message: str
    tests: tuple[dict[str, Any], ...]
    path: Path
    base_rate: BaseRate | None = None
    """How often it fires on genuine files (``leaktriage rules calibrate``)."""
    group: str = ""
    """Rules reading the same fact share a group; only the strongest of a group counts."""
    role: str = "evidence"

    def weight(self) -> RuleWeight:
        """What the verdict needs to know about this rule."""
        return RuleWeight(
            self.category,
            self.severity,
            self.base_rate,
            self.group or self.id,
            self.role == "context",
            self.title,
        )

    def apply(self, record_id: str, facts: Facts, ctx: Context) -> Finding | None:
        """The finding this rule makes on ``facts``, or None."""
        matched, read = evaluate(self.match, facts, ctx)
        if not matched:
            return None
        for name in self.evidence:
            if facts.get(name) is not None:
                read.append((name, facts[name], ""))
        # One line per fact; a note (such as ZONE_NOTE) wins over the bare mention.
        seen: dict[tuple[str, str], int] = {}
        evidence: list[Evidence] = []
        for name, value, note in read:
            shown = show_value(value)
            at = seen.get((name, shown))
            if at is None:
                seen[(name, shown)] = len(evidence)
                evidence.append(Evidence(name, shown, note))
            elif note and not evidence[at].note:
                evidence[at] = Evidence(name, shown, note)
        message = render_message(self.message, facts)
        return Finding(
            record_id,
            self.id,
            self.technique,
            self.severity,
            self.grade,
            message,
            tuple(evidence),
            "rule",
        )


def show_value(value: Any, unit: Unit | None = None) -> str:
    """A fact as text; a number with a ``unit`` in words (messages), else exactly as found."""
    if unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
        return in_words(value, unit)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple | list):
        return " | ".join(show_value(v, unit) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class Explanation:
    """What a known producer (or a verified signature) does by itself, and the rules whose
    findings it explains (``rules/producers.yaml``)."""

    id: str
    who: str
    does: str
    match: Condition
    explains: frozenset[str]

    def applies(self, finding: Finding, facts: Facts, ctx: Context) -> Finding | None:
        """The finding made informational, with this explanation, when it applies."""
        if finding.rule_id not in self.explains:
            return None
        matched, read = evaluate(self.match, facts, ctx)
        if not matched:
            return None
        note = f"{self.who}: {self.does}"
        evidence = [*finding.evidence]
        seen = {(e.field, e.value) for e in evidence}
        for name, value, _ in read:
            shown = show_value(value)
            if (name, shown) not in seen:
                seen.add((name, shown))
                evidence.append(Evidence(name, shown, f"explained by {self.id}"))
        return replace(
            finding,
            severity=Severity.INFO,
            message=f"{finding.message} — not counted: {note}",
            evidence=tuple(evidence),
        )


@dataclass(slots=True)
class RuleSet:
    """Every loaded rule with the tables and techniques they use."""

    rules: list[Rule]
    tables: dict[str, Table]
    techniques: dict[str, dict[str, Any]]
    sources: list[Path] = field(default_factory=list)
    corpus_rates: dict[str, BaseRate] = field(default_factory=dict)
    """Base rates of the corpus findings (``rules/calibration.yaml``)."""
    likely_altered_at: float | None = None
    """The calibrated verdict threshold (None: ``verdict.LIKELY_ALTERED_AT``)."""
    explanations: list[Explanation] = field(default_factory=list)
    """Producer knowledge: what known writers do by themselves (``rules/producers.yaml``)."""
    family_thresholds: dict[str, float] = field(default_factory=dict)
    """The calibrated threshold of each file family with enough genuine files to set its own."""
    _gates: dict[str, list[tuple[int, frozenset[str]]]] | None = None
    """Field -> (rule index, fields needed) for each alternative of ``needed_fields`` of
    each rule, filed under one field of the alternative; "" holds rules that need none."""

    def context(self, leak_date: date | None = None, now: datetime | None = None) -> Context:
        """An evaluation context for one scan."""
        return Context(leak_date, now or datetime.now(tz=UTC), self.tables)

    def evaluate(
        self, record: FileRecord, ctx: Context, decoys: DecoyList | None = None
    ) -> list[Finding]:
        """Findings of every rule (and of the decoy list, if any) on one record."""
        facts = record_facts(record)
        if self._gates is None:
            self._gates = {}
            for index, rule in enumerate(self.rules):
                for need in needed_fields(rule.match):
                    key = min(need) if need else ""
                    self._gates.setdefault(key, []).append((index, need))
        present = {name for name, value in facts.items() if value is not None}
        # Most rules concern one format: skipping those whose required fields are absent
        # gives the same findings at a fraction of the cost. Only the rules filed under a
        # field the record has (or under none) are looked at.
        candidates = {
            index
            for name in (*present, "")
            for index, need in self._gates.get(name, ())
            if need <= present
        }
        rules = self.rules
        found = [
            f
            for index in sorted(candidates)
            if (f := rules[index].apply(record.record_id, facts, ctx))
        ]
        if self.explanations and found:
            found = [self._explained(f, facts, ctx) for f in found]
        if decoys is not None:
            found.extend(decoys.findings(record.record_id, facts))
        return found

    def _explained(self, finding: Finding, facts: Facts, ctx: Context) -> Finding:
        for explanation in self.explanations:
            explained = explanation.applies(finding, facts, ctx)
            if explained is not None:
                return explained
        return finding

    def weigher(self) -> Weigher:
        """Every rule's and corpus finding's weight, for verdicts."""
        from leaktriage.rules.decoys import DECOY_RULE_ID

        weights = corpus_weights(self.corpus_rates)
        weights[DECOY_RULE_ID] = RuleWeight("decoy", Severity.HIGH, title="Newsroom decoy list")
        weights.update({r.id: r.weight() for r in self.rules})
        return Weigher(
            weights, self.likely_altered_at or LIKELY_ALTERED_AT, dict(self.family_thresholds)
        )

    def categories(self) -> dict[str, str]:
        """Rule id -> category, including the decoy-list pseudo-rule."""
        from leaktriage.rules.decoys import DECOY_RULE_ID

        return {DECOY_RULE_ID: "decoy", **{r.id: r.category for r in self.rules}}

    def get(self, rule_id: str) -> Rule | None:
        """A rule by id."""
        return next((r for r in self.rules if r.id == rule_id), None)


def record_facts(record: FileRecord) -> dict[str, FieldValue]:
    """A record's catalogue facts plus its own attributes as ``file.*`` pseudo-fields."""
    own: dict[str, FieldValue | None] = {
        "file.mime": record.mime,
        "file.extension": record.extension,
        "file.extension_mismatch": record.extension_mismatch,
        "file.status": record.status.value,
        "file.name": record.name,
        "file.depth": record.depth,
        "file.mtime": record.mtime,
        "file.mtime_tz_known": record.mtime_zone_known if record.mtime else None,
        "file.sha256": record.sha256,
        "file.md5": record.md5,
    }
    facts: dict[str, FieldValue] = dict(record.fields)
    facts.update({k: v for k, v in own.items() if v is not None and v != ""})
    return facts
