"""Rules: YAML rule files -> findings with evidence, and the verdict of a file.

A rule is data (``rules/<concern>/<id>.yaml``): a condition tree of ``all`` / ``any`` / ``not``
over leaves on catalogue fields, with one operator per leaf from the closed table
``OPERATORS``. Nothing is ``eval``-ed. Every fact a true leaf read becomes evidence, so a
journalist can check the finding with another tool. The loader collects every error with
its file and line; a malformed rule never silently disappears.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from leaktriage.errors import LeakTriageError
from leaktriage.fields import FIELDS
from leaktriage.model import Evidence, FieldValue, FileRecord, Finding, Severity, Status
from leaktriage.textfacts import char_script

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
OPTIONAL = ("signals", "false_positives", "references", "evidence")
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)+)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_DANGLING = re.compile(r"([:(])\s*[,;]\s*")


def render_message(template: str, facts: Facts) -> str:
    """Fill a rule's message: ``{field}`` takes the fact's value; a ``[...]`` group is shown
    only when every field inside it has a value, so absent facts leave no "?" behind."""

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        return inner if all(facts.get(n) is not None for n in _PLACEHOLDER.findall(inner)) else ""

    # Tidy the template, never the values: they are shown exactly as found.
    text = _OPTIONAL.sub(group, template)
    text = _DANGLING.sub(lambda m: m.group(1) + (" " if m.group(1) == ":" else ""), text).strip()
    return _PLACEHOLDER.sub(lambda m: _show(facts.get(m.group(1), "?")), text)


class RuleError(LeakTriageError):
    """One or more rule files are malformed; ``errors`` lists ``path:line: what``."""

    exit_code = 4

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# --- YAML with line numbers and no duplicate keys ---------------------------------------------


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (five times faster to load 70 rules)."""


class _Loader(_SafeLoader):  # type: ignore[misc]
    """Safe loader that refuses duplicate keys and remembers where each mapping started."""

    lines: dict[int, int]


def _construct_mapping(
    loader: _Loader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping = yaml.SafeLoader.construct_mapping(loader, node, deep=True)
    loader.lines[id(mapping)] = node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(path: Path) -> tuple[Any, dict[int, int]]:
    loader = _Loader(path.read_text(encoding="utf-8"))
    loader.lines = {}
    try:
        return loader.get_single_data(), loader.lines
    finally:
        loader.dispose()


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


def _as_time(value: Any) -> datetime | None:
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


def _resolve(arg: Any, ctx: Context) -> Any:
    """``$leak_date`` is the end of the leak day (UTC); ``$now`` the scan time."""
    if arg == "$leak_date":
        if ctx.leak_date is None:
            return None
        return datetime.combine(ctx.leak_date, time(0), tzinfo=UTC) + timedelta(days=1)
    if arg == "$now":
        return ctx.now
    return arg


def _compare(value: Any, arg: Any, test: Callable[[Any, Any], bool]) -> bool:
    if isinstance(value, datetime) or isinstance(arg, datetime):
        left, right = _as_time(value), _as_time(arg)
        return left is not None and right is not None and test(left, right)
    if isinstance(value, bool) or isinstance(arg, bool):
        return False
    if isinstance(value, int | float) and isinstance(arg, int | float):
        return test(value, arg)
    if isinstance(value, str) and isinstance(arg, str):
        return test(value, arg)
    return False


def _ordering(
    test: Callable[[Any, Any], bool],
) -> Callable[[Any, Leaf, Facts, Context, Read], bool]:
    def check(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
        arg = _resolve(leaf.arg, ctx)
        return arg is not None and _compare(value, arg, test)

    return check


def _other(leaf: Leaf, facts: Facts, read: Read, name: str | None = None) -> FieldValue | None:
    other = name or str(leaf.arg)
    value = facts.get(other)
    if value is not None:
        read.append((other, value, ""))
    return value


def _field_compare(test: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def check(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
        other = _other(leaf, facts, read)
        if other is None:
            return False
        others = other if isinstance(other, tuple) else (other,)
        return any(_compare(_fold(value, leaf.cased), _fold(o, leaf.cased), test) for o in others)

    return check


def _differs(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    spec = leaf.arg
    other = _other(leaf, facts, read, spec["field"])
    left, right = _as_time(value), _as_time(other)
    if left is None or right is None:
        return False
    limit = timedelta(
        days=spec.get("days", 0), hours=spec.get("hours", 0), minutes=spec.get("minutes", 0)
    )
    return abs(left - right) > limit


def _in_table(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    table = ctx.tables[leaf.arg]
    return str(value).strip().casefold() in table.keys


def _released_after(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    table = ctx.tables[leaf.arg["table"]]
    when = _as_time(_other(leaf, facts, read, leaf.arg["date_field"]))
    if when is None or not isinstance(value, str):
        return False
    for pattern, released, name in table.releases:
        if pattern.search(value):
            if datetime.combine(released, time(0), tzinfo=UTC) > when:
                read.append((f"table:{table.name}", name, f"first released {released.isoformat()}"))
                return True
            return False
    return False


def _script_not(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    allowed = {str(s).casefold() for s in leaf.arg}
    return any(
        (script := char_script(ch)) is not None and script.casefold() not in allowed
        for ch in str(value)
    )


def _exceeds_span(value: Any, leaf: Leaf, facts: Facts, ctx: Context, read: Read) -> bool:
    start = _as_time(_other(leaf, facts, read, leaf.arg["start"]))
    end = _as_time(_other(leaf, facts, read, leaf.arg["end"]))
    if start is None or end is None or end < start or not isinstance(value, int | float):
        return False
    return float(value) > (end - start).total_seconds()


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
        other = _as_time(arg)
        return other is not None and value == other
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
    "gt": _ordering(lambda a, b: a > b),
    "gte": _ordering(lambda a, b: a >= b),
    "lt": _ordering(lambda a, b: a < b),
    "lte": _ordering(lambda a, b: a <= b),
    "equals_field": _field_compare(lambda a, b: a == b),
    "not_equals_field": _field_compare(lambda a, b: a != b),
    "before_field": _field_compare(lambda a, b: a < b),
    "after_field": _field_compare(lambda a, b: a > b),
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

    def apply(self, record_id: str, facts: Facts, ctx: Context) -> Finding | None:
        """The finding this rule makes on ``facts``, or None."""
        matched, read = evaluate(self.match, facts, ctx)
        if not matched:
            return None
        for name in self.evidence:
            if facts.get(name) is not None:
                read.append((name, facts[name], ""))
        seen: set[tuple[str, str]] = set()
        evidence = []
        for name, value, note in read:
            shown = _show(value)
            if (name, shown) not in seen:
                seen.add((name, shown))
                evidence.append(Evidence(name, shown, note))
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


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple | list):
        return " | ".join(_show(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(slots=True)
class RuleSet:
    """Every loaded rule with the tables and techniques they use."""

    rules: list[Rule]
    tables: dict[str, Table]
    techniques: dict[str, dict[str, Any]]
    sources: list[Path] = field(default_factory=list)
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
        if decoys is not None:
            found.extend(decoys.findings(record.record_id, facts))
        return found

    def categories(self) -> dict[str, str]:
        """Rule id -> category, including the decoy-list pseudo-rule."""
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
        "file.sha256": record.sha256,
        "file.md5": record.md5,
    }
    facts: dict[str, FieldValue] = dict(record.fields)
    facts.update({k: v for k, v in own.items() if v is not None and v != ""})
    return facts


def bundled_rules_dir() -> Path:
    """The rules shipped with leaktriage: inside the wheel, or the checkout's ``rules/``."""
    packaged = Path(__file__).resolve().parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "rules"


def load_rules(extra: Iterable[Path] = (), bundled: bool = True) -> RuleSet:
    """Load the bundled rules and any newsroom folders; raise RuleError listing every problem.

    Parsed rule sets are kept for the life of the process and re-read when a file under
    the folders changes (name, size or mtime), so an ingestion script calling
    ``triage_file`` per document does not parse every YAML file each time.
    """
    roots = tuple([bundled_rules_dir()] if bundled else []) + tuple(Path(p) for p in extra)
    signature = tuple(
        (str(path), stat.st_mtime_ns, stat.st_size)
        for root in roots
        if root.is_dir()
        for path in sorted(root.rglob("*.yaml"))
        if (stat := path.stat())
    )
    return _load_rules(roots, signature)


@lru_cache(maxsize=8)
def _load_rules(roots: tuple[Path, ...], signature: tuple[tuple[str, int, int], ...]) -> RuleSet:
    errors: list[str] = []
    techniques: dict[str, dict[str, Any]] = {}
    tables: dict[str, Table] = {}
    for root in roots:
        if not root.is_dir():
            errors.append(f"{root}: not a folder of rules")
            continue
        techniques.update(_load_techniques(root / "techniques.yaml", errors))
        for path in sorted((root / "data").glob("*.yaml")):
            table = _load_table(path, errors)
            if table is not None:
                tables[table.name] = table
    rules: dict[str, Rule] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.yaml")):
            relative = path.relative_to(root).parts
            if relative[0] == "data" or path.name == "techniques.yaml":
                continue
            rule = _load_rule(path, techniques, tables, errors)
            if rule is None:
                continue
            if rule.id in rules:
                errors.append(
                    f"{path}:1: rule id {rule.id!r} already defined in {rules[rule.id].path}"
                )
                continue
            rules[rule.id] = rule
    if errors:
        raise RuleError(errors)
    return RuleSet(sorted(rules.values(), key=lambda r: r.id), tables, techniques, list(roots))


def _load_techniques(path: Path, errors: list[str]) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data, _ = _load_yaml(path)
    except yaml.YAMLError as exc:
        errors.append(f"{path}: {exc}")
        return {}
    if not isinstance(data, list):
        errors.append(f"{path}:1: expected a list of techniques")
        return {}
    return {str(t["id"]): t for t in data if isinstance(t, dict) and "id" in t}


def _load_table(path: Path, errors: list[str]) -> Table | None:
    try:
        data, lines = _load_yaml(path)
    except yaml.YAMLError as exc:
        errors.append(f"{path}: {exc}")
        return None
    if not isinstance(data, dict) or "entries" not in data or "source" not in data:
        errors.append(f"{path}:1: a table needs 'source' and 'entries'")
        return None
    entries = data["entries"]
    keys: set[str] = set()
    releases: list[tuple[re.Pattern[str], date, str]] = []
    if isinstance(entries, dict):
        keys = {str(k).strip().casefold() for k in entries}
    elif isinstance(entries, list):
        for entry in entries:
            line = lines.get(id(entry), 1)
            try:
                released = entry["released"]
                if not isinstance(released, date):
                    released = date.fromisoformat(str(released))
                releases.append(
                    (
                        re.compile(str(entry["pattern"]), re.IGNORECASE),
                        released,
                        str(entry.get("name", entry["pattern"])),
                    )
                )
            except (KeyError, TypeError, ValueError, re.error) as exc:
                errors.append(f"{path}:{line}: bad release entry: {exc}")
    else:
        errors.append(f"{path}:1: 'entries' must be a mapping or a list")
        return None
    return Table(path.stem, frozenset(keys), tuple(releases))


def _load_rule(
    path: Path, techniques: Mapping[str, Any], tables: Mapping[str, Table], errors: list[str]
) -> Rule | None:
    try:
        data, lines = _load_yaml(path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        errors.append(f"{path}:{line}: {getattr(exc, 'problem', None) or exc}")
        return None
    if not isinstance(data, dict):
        errors.append(f"{path}:1: a rule file holds one mapping")
        return None
    before = len(errors)

    def err(message: str, obj: Any = data) -> None:
        errors.append(f"{path}:{lines.get(id(obj), lines.get(id(data), 1))}: {message}")

    for key in REQUIRED:
        if key not in data:
            err(f"missing key {key!r}")
    for key in data:
        if key not in REQUIRED and key not in OPTIONAL:
            err(f"unknown key {key!r}")
    if len(errors) > before:
        return None
    if data["id"] != path.stem:
        err(f"id {data['id']!r} must equal the file name {path.stem!r}")
    severity = SEVERITIES.get(str(data["severity"]))
    if severity is None:
        err(f"severity must be one of {sorted(SEVERITIES)}")
    if data["category"] not in CATEGORIES:
        err(f"category must be one of {sorted(CATEGORIES)}")
    if str(data["technique"]) not in techniques:
        err(f"technique {data['technique']!r} is not in techniques.yaml")
    if str(data["grade"]) not in GRADES:
        err("grade must be A, B or C")
    if not str(data["rationale"]).strip():
        err("rationale must not be empty")
    match = _parse_condition(data["match"], tables, err)
    evidence = tuple(str(f) for f in data.get("evidence") or ())
    for name in evidence:
        if not _known(name):
            err(f"evidence field {name!r} is not in the catalogue")
    for name in _PLACEHOLDER.findall(str(data["message"])):
        if not _known(name):
            err(f"message placeholder {{{name}}} is not a catalogue field")
    tests = data["tests"]
    if not isinstance(tests, list) or not tests:
        err("tests must be a non-empty list")
        tests = []
    expects = {case.get("expect") for case in tests if isinstance(case, dict)}
    if not {"match", "no_match"} <= expects:
        err("tests need at least one 'expect: match' and one 'expect: no_match' case")
    for case in tests:
        if not isinstance(case, dict) or not isinstance(case.get("record"), dict):
            err("each test needs a 'record' mapping", case)
            continue
        for name in case["record"]:
            if not _known(str(name)):
                err(f"test record field {name!r} is not in the catalogue", case)
    if len(errors) > before or match is None or severity is None:
        return None
    return Rule(
        id=str(data["id"]),
        title=str(data["title"]),
        severity=severity,
        category=str(data["category"]),
        technique=str(data["technique"]),
        grade=str(data["grade"]),
        rationale=" ".join(str(data["rationale"]).split()),
        false_positives=tuple(str(x) for x in data.get("false_positives") or ()),
        references=tuple(str(x) for x in data.get("references") or ()),
        signals=tuple(str(x) for x in data.get("signals") or ()),
        match=match,
        evidence=evidence,
        message=str(data["message"]),
        tests=tuple(tests),
        path=path,
    )


def _known(name: str) -> bool:
    return name in FIELDS or name in PSEUDO_FIELDS


_LEAF_FLAGS = frozenset({"field", "cased", "all_values"})


def _parse_condition(
    node: Any, tables: Mapping[str, Table], err: Callable[..., None]
) -> Condition | None:
    if not isinstance(node, dict):
        err("a condition is a mapping (all / any / not / a leaf)")
        return None
    combinators = [k for k in ("all", "any", "not") if k in node]
    if combinators:
        if len(node) != 1:
            err(f"{combinators[0]!r} must stand alone in its mapping", node)
            return None
        kind = combinators[0]
        items = node[kind]
        if kind == "not":
            child = _parse_condition(items, tables, err)
            return Node("not", (child,)) if child is not None else None
        if not isinstance(items, list) or not items:
            err(f"{kind!r} needs a non-empty list", node)
            return None
        children = [_parse_condition(item, tables, err) for item in items]
        if any(c is None for c in children):
            return None
        return Node(kind, tuple(c for c in children if c is not None))
    name = node.get("field")
    ops = [k for k in node if k not in _LEAF_FLAGS]
    if not isinstance(name, str) or not _known(name):
        err(f"unknown field {name!r} (see 'leaktriage fields')", node)
        return None
    if len(ops) != 1 or ops[0] not in ALL_OPERATORS:
        err(
            f"a leaf needs exactly one known operator, got {ops} "
            f"(operators: {', '.join(sorted(ALL_OPERATORS))})",
            node,
        )
        return None
    op, arg = ops[0], node[ops[0]]
    problem = _check_arg(op, arg, tables)
    if problem:
        err(f"{op}: {problem}", node)
        return None
    return Leaf(name, op, arg, bool(node.get("cased", False)), bool(node.get("all_values", False)))


def _check_arg(op: str, arg: Any, tables: Mapping[str, Table]) -> str | None:
    if op in (
        "equals_field",
        "not_equals_field",
        "before_field",
        "after_field",
        "language_differs_from_field",
        "domain_differs_from_field",
    ):
        return None if isinstance(arg, str) and _known(arg) else f"unknown field {arg!r}"
    if op in ("in_table", "host_in_table"):
        return None if arg in tables else f"no table rules/data/{arg}.yaml"
    if op == "released_after":
        if not isinstance(arg, dict) or arg.get("table") not in tables:
            return "needs {table: <rules/data table>, date_field: <field>}"
        return None if _known(str(arg.get("date_field"))) else "unknown date_field"
    if op == "differs_by_more_than":
        if not isinstance(arg, dict) or not _known(str(arg.get("field"))):
            return "needs {field: <other field>, days|hours|minutes: N}"
        return None if set(arg) - {"field"} <= {"days", "hours", "minutes"} else "bad unit"
    if op == "exceeds_span_seconds":
        ok = isinstance(arg, dict) and _known(str(arg.get("start"))) and _known(str(arg.get("end")))
        return None if ok else "needs {start: <field>, end: <field>}"
    if op == "regex":
        try:
            re.compile(str(arg))
        except re.error as exc:
            return f"bad regular expression: {exc}"
    if op in ("in", "script_not") and not isinstance(arg, list):
        return "needs a list"
    if op == "count_gte" and not isinstance(arg, int):
        return "needs a whole number"
    return None


# --- embedded tests -------------------------------------------------------------------------


def _coerce(name: str, value: Any) -> FieldValue:
    kind = FIELDS[name].type if name in FIELDS else PSEUDO_FIELDS[name]
    if kind == "datetime":
        parsed = _as_time(value)
        if parsed is None:
            raise ValueError(f"{name}: {value!r} is not an ISO 8601 datetime")
        return parsed
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        return tuple(str(v) for v in items)
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "bool":
        return bool(value)
    return str(value)


TEST_NOW = datetime(2026, 1, 1, tzinfo=UTC)
"""The scan time embedded test cases run at, so ``$now`` cases are reproducible."""


def run_case(rule: Rule, case: Mapping[str, Any], tables: Mapping[str, Table]) -> str | None:
    """Run one embedded test case; None when it passes, else what went wrong."""
    try:
        facts = {str(k): _coerce(str(k), v) for k, v in case["record"].items()}
        leak = case.get("leak_date")
        leak_date = (
            leak if isinstance(leak, date) else (date.fromisoformat(str(leak)) if leak else None)
        )
    except (ValueError, TypeError) as exc:
        return str(exc)
    finding = rule.apply("test", facts, Context(leak_date, TEST_NOW, tables))
    expected = case.get("expect")
    if (finding is not None) != (expected == "match"):
        return f"expected {expected}, got {'match' if finding else 'no_match'}"
    wanted = case.get("evidence")
    if finding is not None and wanted:
        shown = {e.field for e in finding.evidence}
        missing = [w for w in wanted if w not in shown]
        if missing:
            return f"evidence lacks {missing}"
    return None


def run_tests(ruleset: RuleSet) -> list[str]:
    """Run every rule's embedded cases; returns one line per failure (empty = all pass)."""
    failures = []
    for rule in ruleset.rules:
        for index, case in enumerate(rule.tests):
            problem = run_case(rule, case, ruleset.tables)
            if problem:
                name = case.get("name", f"case {index + 1}")
                failures.append(f"{rule.path}: {rule.id}::{name}: {problem}")
    return failures


# --- verdict --------------------------------------------------------------------------------

WEIGHTS = {Severity.HIGH: 40.0, Severity.MEDIUM: 20.0, Severity.LOW: 8.0, Severity.INFO: 0.0}
GRADE_FACTORS = {"A": 1.0, "B": 0.8, "C": 0.5}
UNREADABLE = frozenset({Status.ERROR, Status.SKIPPED, Status.ENCRYPTED, Status.UNSUPPORTED})


CORPUS_CATEGORIES = {
    "corpus-altered-copy": "alteration",
    "corpus-edit-burst": "alteration",
    "corpus-fingerprint-outlier": "alteration",
    "corpus-shared-identifier": "provenance",
    "corpus-language-outlier": "provenance",
    "corpus-outlier-score": "anomaly",
    "email-reply-before-parent": "alteration",
    "email-offset-unusual-for-sender": "provenance",
}
"""Categories of the corpus analysis's findings (``leaktriage.corpus``), beside the rules'."""

CORPUS_TITLES = {
    "corpus-altered-copy": (
        "Near-copy of another file in the dump, with different text",
        "Two files carry nearly the same text but different bytes; the passages that differ, "
        "and which copy was saved later and by whom, say what was changed.",
    ),
    "corpus-edit-burst": (
        "One of several unrelated files re-saved within minutes by one account",
        "Files with separate histories last saved by the same account within a few minutes: "
        "the pattern of a batch re-save, as with the MacronLeaks spreadsheets.",
    ),
    "corpus-fingerprint-outlier": (
        "Authoring fingerprint rare in this dump on several attributes",
        "Its author, application, code page, language or time zone match few other files "
        "here; each rare value is listed with how common it is.",
    ),
    "corpus-shared-identifier": (
        "Shares a document identifier with other files",
        "Word session ids, document ids or PDF ids link versions of one document; a link "
        "across folders or mailboxes shows where copies travelled.",
    ),
    "corpus-language-outlier": (
        "Language or script unlike the rest of the dump",
        "Its text language, metadata script or declared language departs from the dump's "
        "majority (both counts are given).",
    ),
    "corpus-outlier-score": (
        "Unusual for this dump (isolation-forest outlier score)",
        "A model fitted on this dump's fingerprints finds the file unusual; never enough on "
        "its own to call a file altered.",
    ),
    "email-reply-before-parent": (
        "Reply dated before the message it answers",
        "A message in this dump answers another that is dated later: one of the two dates, "
        "or the reply itself, was made up.",
    ),
    "email-offset-unusual-for-sender": (
        "Time-zone offset the sender rarely uses",
        "The Date header's offset differs from the one this sender uses in almost all of "
        "their messages in the dump.",
    ),
}
"""Title and rationale of each corpus finding, for reports (the rules' come from their files)."""


def verdict(
    status: Status, findings: Iterable[Finding], categories: Mapping[str, str]
) -> tuple[str, float]:
    """The file's verdict and 0-100 score from its findings (never "authentic").

    ``categories`` maps rule ids to their category (alteration, decoy, provenance, integrity,
    verification); corpus findings take theirs from ``CORPUS_CATEGORIES``. The score sums
    every finding's severity weight times its grade factor, capped at 100.

    - ``likely_altered``: a high-severity alteration or integrity finding; or a medium one of
      grade A/B together with at least one other corroborating signal.
    - ``decoy_suspected``: a decoy finding of medium severity or more (checked first: a
      planted decoy is an edited copy, so its alteration traces are expected).
    - ``suspicious``: any other finding above info.

    The outlier model (``corpus-outlier-score``, category ``anomaly``, low severity, grade C)
    adds its weight to the score and makes a file at least ``suspicious``, but it never counts
    as the corroborating signal, so it can never on its own, nor as the second of two
    signals, make a file ``likely_altered``. Verification findings (a DKIM pass) are positive
    evidence at severity info: they never move a verdict, and no verdict says "authentic".
    """
    found = list(findings)
    score = min(
        100.0,
        round(sum((WEIGHTS[f.severity] * GRADE_FACTORS.get(f.grade, 0.5) for f in found), 0.0), 1),
    )

    def category(f: Finding) -> str | None:
        return categories.get(f.rule_id) or CORPUS_CATEGORIES.get(f.rule_id)

    signals = [f for f in found if f.severity > Severity.INFO]
    corroborating = [f for f in signals if category(f) != "anomaly"]
    altering = [f for f in corroborating if category(f) in ("alteration", "integrity")]
    high_alteration = any(f.severity is Severity.HIGH for f in altering)
    strong = [f for f in altering if f.severity is Severity.MEDIUM and f.grade in ("A", "B")]
    decoy = any(category(f) == "decoy" and f.severity >= Severity.MEDIUM for f in signals)
    # A decoy marker comes first: decoys are planted, edited copies of real files, so their
    # alteration traces are expected and the reader must first know it may be a trap.
    if decoy:
        return "decoy_suspected", score
    if high_alteration:
        return "likely_altered", score
    if strong and len(corroborating) >= 2:
        return "likely_altered", score
    if signals:
        return "suspicious", score
    if status in UNREADABLE:
        return "unreadable", score
    return "no_signal", score


# --- newsroom decoy lists -----------------------------------------------------------------

DECOY_RULE_ID = "decoy-list-match"
DECOY_KINDS: dict[str, tuple[str, ...]] = {
    "sha256": ("file.sha256",),
    "md5": ("file.md5",),
    "author": (
        "doc.author",
        "doc.last_modified_by",
        "email.from",
        "ole.saved_by",
        "ooxml.people",
        "ooxml.revision_authors",
        "ooxml.comment_authors",
    ),
    "rsid": ("ooxml.rsid_root", "ooxml.rsids"),
    "docid": (
        "ooxml.doc_id",
        "pdf.xmp_document_id",
        "pdf.xmp_original_document_id",
        "pdf.id_original",
        "image.xmp_document_id",
    ),
    "string": (
        "text.sample",
        "doc.title",
        "doc.subject",
        "doc.comments",
        "doc.keywords",
        "email.subject",
        "links.external",
    ),
}
"""What each kind of decoy-list entry is compared with. ``string`` entries match as
case-folded substrings; the others as whole values."""


@dataclass(frozen=True, slots=True)
class DecoyList:
    """Markers of decoys the victim says it planted (hashes, author names, rsids, ids, strings).

    File format: one ``kind:value`` per line (kinds: sha256, md5, author, rsid, docid,
    string); blank lines and ``#`` comments are ignored.
    """

    entries: tuple[tuple[str, str], ...]
    source: str

    @classmethod
    def load(cls, path: Path) -> DecoyList:
        """Read a decoy list; raise RuleError with line numbers for malformed lines."""
        entries, errors = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kind, sep, value = text.partition(":")
            kind = kind.strip().casefold()
            if not sep or kind not in DECOY_KINDS or not value.strip():
                errors.append(
                    f"{path}:{number}: expected kind:value with kind one of "
                    f"{', '.join(DECOY_KINDS)}"
                )
                continue
            entries.append((kind, value.strip().casefold()))
        if errors:
            raise RuleError(errors)
        return cls(tuple(entries), str(path))

    def findings(self, record_id: str, facts: Facts) -> list[Finding]:
        """One finding per matching entry, with the field and value it matched."""
        found = []
        for kind, wanted in self.entries:
            hit = next(
                (
                    (name, item)
                    for name in DECOY_KINDS[kind]
                    for item in _values(facts.get(name))
                    if _decoy_match(kind, wanted, _show(item).casefold())
                ),
                None,
            )
            if hit is not None:
                found.append(
                    Finding(
                        record_id,
                        DECOY_RULE_ID,
                        "C00202",
                        Severity.HIGH,
                        "A",
                        f"Matches the newsroom's decoy list ({kind}: {wanted}) — a file the "
                        "victim says it planted",
                        (Evidence(hit[0], _show(hit[1]), f"decoy list {self.source}"),),
                    )
                )
        return found


def _values(value: FieldValue | None) -> tuple[FieldValue, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _decoy_match(kind: str, wanted: str, text: str) -> bool:
    return wanted in text if kind == "string" else text == wanted
