"""Loading rules: YAML with line numbers and no duplicate keys, validation of every rule,
table and technique, with every error collected as ``path:line: what`` (a malformed rule never
silently disappears), and the cache that re-reads a folder only when a file changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml

from leaktriage.fields import FIELDS
from leaktriage.rules.engine import (
    ALL_OPERATORS,
    CATEGORIES,
    GRADES,
    OPTIONAL,
    PLACEHOLDER,
    PSEUDO_FIELDS,
    REQUIRED,
    ROLES,
    SEVERITIES,
    Condition,
    Explanation,
    Leaf,
    Node,
    Rule,
    RuleError,
    RuleSet,
    Table,
)
from leaktriage.rules.verdict import BaseRate

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


def bundled_rules_dir() -> Path:
    """The rules shipped with leaktriage: inside the wheel, or the checkout's ``rules/``."""
    here = Path(__file__).resolve()
    packaged = here.parents[1] / "_rules"
    if packaged.is_dir():
        return packaged
    return here.parents[2] / "rules"


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
    corpus_rates: dict[str, BaseRate] = {}
    threshold: float | None = None
    family_thresholds: dict[str, float] = {}
    for root in roots:
        if not root.is_dir():
            errors.append(f"{root}: not a folder of rules")
            continue
        techniques.update(_load_techniques(root / "techniques.yaml", errors))
        rates, measured, by_family = _load_calibration(root / CALIBRATION, errors)
        corpus_rates.update(rates)
        if measured is not None:
            threshold, family_thresholds = measured, by_family
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
            if relative[0] == "data" or path.name in ("techniques.yaml", CALIBRATION, PRODUCERS):
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
    explanations: list[Explanation] = []
    for root in roots:
        if root.is_dir():
            explanations += _load_explanations(root / PRODUCERS, tables, set(rules), errors)
    if errors:
        raise RuleError(errors)
    return RuleSet(
        sorted(rules.values(), key=lambda r: r.id),
        tables,
        techniques,
        list(roots),
        corpus_rates,
        threshold,
        explanations,
        family_thresholds,
    )


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
    for name in PLACEHOLDER.findall(str(data["message"])):
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
    base_rate = _base_rate(data.get("base_rate"), lambda m: err(m, data.get("base_rate")))
    role = str(data.get("role", "evidence"))
    if role not in ROLES:
        err(f"role must be one of {sorted(ROLES)}")
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
        base_rate=base_rate,
        group=str(data.get("group") or ""),
        role=role,
    )


def _counts(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, dict):
        return None
    fires, of = value.get("fires"), value.get("of")
    if not isinstance(fires, int) or not isinstance(of, int) or not 0 <= fires <= of:
        return None
    return fires, of


def _base_rate(data: Any, err: Callable[[str], None]) -> BaseRate | None:
    """A ``base_rate:`` mapping: fires, of, measured, corpus, and per-family counts."""
    if data is None:
        return None
    counts = _counts(data)
    if counts is None or not isinstance(data, dict):
        err("base_rate needs integers 'fires' <= 'of'")
        return None
    families: dict[str, tuple[int, int]] = {}
    for name, value in (data.get("families") or {}).items():
        pair = _counts(value)
        if pair is None:
            err(f"base_rate family {name!r} needs integers 'fires' <= 'of'")
            return None
        families[str(name)] = pair
    return BaseRate(
        counts[0], counts[1], str(data.get("measured", "")), str(data.get("corpus", "")), families
    )


CALIBRATION = "calibration.yaml"
"""The verdict threshold and the corpus findings' base rates, beside techniques.yaml (written
by ``leaktriage rules calibrate``)."""


PRODUCERS = "producers.yaml"
"""What known writers do by themselves, beside techniques.yaml."""
_EXPLANATION_KEYS = frozenset({"id", "who", "does", "match", "explains", "examples"})


def _load_explanations(
    path: Path, tables: Mapping[str, Table], known_rules: set[str], errors: list[str]
) -> list[Explanation]:
    """``producers.yaml``: a list of {id, who, does, match, explains[, examples]}."""
    if not path.is_file():
        return []
    try:
        data, lines = _load_yaml(path)
    except yaml.YAMLError as exc:
        errors.append(f"{path}: {exc}")
        return []
    if not isinstance(data, list):
        errors.append(f"{path}:1: expected a list of producer entries")
        return []
    found: list[Explanation] = []
    for entry in data:
        line = lines.get(id(entry), 1)
        problems: list[str] = []

        def err(
            message: str, obj: Any = entry, where: int = line, into: list[str] = problems
        ) -> None:
            into.append(f"{path}:{lines.get(id(obj), where)}: {message}")

        if not isinstance(entry, dict):
            err("each entry is a mapping")
            errors.extend(problems)
            continue
        missing = sorted(_EXPLANATION_KEYS - {"examples"} - set(entry))
        unknown = sorted(set(entry) - _EXPLANATION_KEYS)
        if missing or unknown:
            err(f"missing keys {missing}, unknown keys {unknown}")
            errors.extend(problems)
            continue
        match = _parse_condition(entry["match"], tables, err)
        explains = frozenset(str(r) for r in entry["explains"] or ())
        for rule_id in sorted(explains - known_rules):
            err(f"explains unknown rule {rule_id!r}")
        if problems or match is None or not explains:
            errors.extend(problems or [f"{path}:{line}: nothing to explain"])
            continue
        found.append(
            Explanation(
                str(entry["id"]),
                str(entry["who"]),
                " ".join(str(entry["does"]).split()),
                match,
                explains,
            )
        )
    return found


def _collect(errors: list[str], where: str, message: str) -> None:
    errors.append(f"{where}: {message}")


def _load_calibration(
    path: Path, errors: list[str]
) -> tuple[dict[str, BaseRate], float | None, dict[str, float]]:
    """Corpus findings' base rates, the verdict threshold and its per-family values."""
    if not path.is_file():
        return {}, None, {}
    try:
        data, _ = _load_yaml(path)
    except yaml.YAMLError as exc:
        errors.append(f"{path}: {exc}")
        return {}, None, {}
    threshold = (data or {}).get("likely_altered_at")
    if threshold is not None and not isinstance(threshold, int | float):
        errors.append(f"{path}: likely_altered_at must be a number")
        threshold = None
    by_family: dict[str, float] = {}
    raw_families = (data or {}).get("likely_altered_at_by_family") or {}
    if not isinstance(raw_families, dict):
        errors.append(f"{path}: likely_altered_at_by_family must map a file family to a number")
        raw_families = {}
    for family, value in raw_families.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            by_family[str(family)] = float(value)
        else:
            errors.append(f"{path}: likely_altered_at_by_family: {family} must be a number")
    rates: dict[str, BaseRate] = {}
    for rule_id, value in ((data or {}).get("base_rates") or {}).items():
        where = f"{path}: {rule_id}"
        rate = _base_rate(value, partial(_collect, errors, where))
        if rate is not None:
            rates[str(rule_id)] = rate
    return rates, float(threshold) if threshold is not None else None, by_family


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
        "contained_in_field",
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
