"""``leaktriage rules``: list, explain, test and calibrate the rules."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from leaktriage.cli_common import _clean


def _rules(args: argparse.Namespace, out: Console, err: Console) -> int:
    from leaktriage.rules import load_rules, run_tests

    extra = args.dirs if args.rules_command == "test" else args.rules
    ruleset = load_rules(extra)
    if args.rules_command == "list":
        table = Table(show_edge=False)
        for column in ("id", "severity", "grade", "category", "technique", "title"):
            table.add_column(column)
        for rule in ruleset.rules:
            table.add_row(
                rule.id,
                rule.severity.name.lower(),
                rule.grade,
                rule.category,
                rule.technique,
                _clean(rule.title),
            )
        out.print(table)
        out.print(f"{len(ruleset.rules)} rules")
        return 0
    if args.rules_command == "calibrate":
        return _calibrate(args, out)
    if args.rules_command == "explain":
        chosen = ruleset.get(args.rule_id)
        if chosen is None:
            err.print(f"leaktriage: no rule {_clean(args.rule_id)}")
            return 2
        from leaktriage.rules.catalogue import checks, technique_name

        out.print(f"[bold]{chosen.id}[/bold]: {_clean(chosen.title)}")
        out.print(
            f"  severity {chosen.severity.name.lower()}, grade {chosen.grade}, "
            f"category {chosen.category}"
        )
        out.print(f"  technique {_clean(technique_name(chosen, ruleset.techniques))}")
        out.print(f"  file {_clean(chosen.path)}")
        weight, basis = chosen.weight().weight()
        out.print(f"  weight {weight:+.2f} in a verdict: {_clean(basis)}")
        out.print(f"[bold]what it means[/bold]\n  {_clean(chosen.rationale)}")
        sections = (
            ("innocent explanations", list(chosen.false_positives)),
            ("what to check by hand", [f"{name}: {text}" for name, text in checks(chosen)]),
            ("references", list(chosen.references)),
        )
        for heading, items in sections:
            if items:
                out.print(f"[bold]{heading}[/bold]")
                for item in items:
                    out.print(f"  - {_clean(item)}")
        return 0
    failures = run_tests(ruleset)
    cases = sum(len(r.tests) for r in ruleset.rules)
    for line in failures:
        out.print(_clean(line))
    out.print(
        f"{len(ruleset.rules)} rules, {cases} cases: "
        f"{cases - len(failures)} passed, {len(failures)} failed"
    )
    return 1 if failures else 0


def _calibrate(args: argparse.Namespace, out: Console) -> int:
    import tempfile

    from leaktriage.rules.calibrate import calibrate

    with tempfile.TemporaryDirectory(prefix="leaktriage-calibrate-") as temp:
        scan_out = args.scan_out or Path(temp)
        result = calibrate(
            args.reference,
            scan_out,
            args.rules,
            write=not args.dry_run,
            rescan=not (args.reuse_scan and args.scan_out),
        )
    fit, held = result.records["fit"], result.records["heldout"]
    out.print(f"genuine readable records: {fit:,} fit, {held:,} held out")
    for split in ("fit", "heldout"):
        counts: dict[str, int] = dict(result.verdicts.get(split, {}))
        out.print(
            f"{split}: likely_altered {counts.get('likely_altered', 0):,} "
            f"({100 * result.share(split):.2f} %), suspicious {counts.get('suspicious', 0):,} "
            f"({100 * result.share(split, 'suspicious'):.2f} %), threshold {result.threshold}"
        )
    if result.family_thresholds:
        own = ", ".join(f"{f} {t}" for f, t in sorted(result.family_thresholds.items()))
        out.print(f"family thresholds: {own}; other families {result.threshold}")
    for split, path, chain in result.flagged:
        out.print(f"[bold]{split}[/bold] {_clean(path)}")
        for line in chain.splitlines():
            out.print(f"    {_clean(line)}")
    fired = sorted(
        ((c.fires[""], rule_id, c.of[""]) for rule_id, c in result.rules.items()), reverse=True
    )
    for fires, rule_id, of in fired[:15]:
        out.print(f"  {rule_id}: fires on {fires:,} of {of:,} genuine files")
    out.print("base rates written into the rule files" if not args.dry_run else "nothing written")
    return 0
