"""Rule engine: operator semantics, evidence, loading errors with file and line, verdicts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from leaktriage.rules import (
    Context,
    RuleError,
    Table,
    evaluate,
    load_rules,
    render_message,
)
from leaktriage.rules.engine import Leaf, Node

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TABLES = {
    "cp": Table("cp", frozenset({"1251", "866"}), ()),
    "hosts": Table("hosts", frozenset({"canarytokens.com"}), ()),
    "producers": Table(
        "producers",
        frozenset(),
        ((__import__("re").compile(r"LibreOffice 7\.", 2), date(2020, 8, 5), "LibreOffice 7.0"),),
    ),
}
CTX = Context(date(2017, 5, 5), NOW, TABLES)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _eval(leaf: Leaf | Node, **facts: object) -> tuple[bool, list[tuple[str, object, str]]]:
    return evaluate(leaf, {k.replace("__", "."): v for k, v in facts.items()}, CTX)  # type: ignore[arg-type]


def test_missing_field_is_false_except_exists_false() -> None:
    assert _eval(Leaf("doc.author", "equals", "x")) == (False, [])
    assert _eval(Leaf("doc.author", "exists", False)) == (True, [])
    assert _eval(Leaf("doc.author", "exists", True), doc__author="A")[0] is True


def test_strings_fold_case_unless_cased() -> None:
    assert _eval(Leaf("doc.author", "equals", "anna"), doc__author="ANNA")[0] is True
    assert _eval(Leaf("doc.author", "equals", "anna", cased=True), doc__author="ANNA")[0] is False
    assert _eval(Leaf("doc.producer", "regex", r"^libre"), doc__producer="LibreOffice")[0]


def test_lists_match_any_or_all() -> None:
    langs = ("fr-FR", "ru-RU")
    assert _eval(Leaf("doc.languages", "equals", "ru-ru"), doc__languages=langs)[0] is True
    all_leaf = Leaf("doc.languages", "equals", "ru-ru", all_values=True)
    assert _eval(all_leaf, doc__languages=langs)[0] is False
    assert _eval(Leaf("doc.languages", "count_gte", 2), doc__languages=langs)[0] is True


def test_datetimes_and_leak_date() -> None:
    leaf = Leaf("doc.modified", "gt", "$leak_date")
    # The leak day itself is not "after" it: the comparison is with the end of that day.
    assert _eval(leaf, doc__modified=_t("2017-05-05T21:00:00"))[0] is False
    ok, read = _eval(leaf, doc__modified=_t("2017-05-06T08:00:00"))
    assert ok and read == [("doc.modified", _t("2017-05-06T08:00:00"), "")]
    assert _eval(Leaf("doc.modified", "gt", "$now"), doc__modified=_t("2030-01-01T00:00:00"))[0]


def test_field_to_field_with_evidence_of_both() -> None:
    leaf = Leaf("doc.modified", "before_field", "doc.created")
    ok, read = _eval(
        leaf, doc__modified=_t("2017-01-01T00:00:00"), doc__created=_t("2017-02-01T00:00:00")
    )
    assert ok
    assert [name for name, _value, _note in read] == ["doc.modified", "doc.created"]
    differs = Leaf("doc.modified", "differs_by_more_than", {"field": "doc.created", "days": 30})
    assert (
        _eval(
            differs, doc__modified=_t("2017-01-01T00:00:00"), doc__created=_t("2017-02-01T00:00:00")
        )[0]
        is True
    )


def test_tables_scripts_hosts_and_releases() -> None:
    assert _eval(Leaf("doc.codepage", "in_table", "cp"), doc__codepage=1251)[0] is True
    assert (
        _eval(
            Leaf("doc.last_modified_by", "script_not", ["Latin"]), doc__last_modified_by="Георгий"
        )[0]
        is True
    )
    assert (
        _eval(
            Leaf("doc.last_modified_by", "script_not", ["Latin"]),
            doc__last_modified_by="Élodie Chambreuil",
        )[0]
        is False
    )
    host = Leaf("links.external", "host_in_table", "hosts")
    assert _eval(host, links__external=("http://x1.canarytokens.com/a/b.png",))[0] is True
    assert _eval(host, links__external=("http://canarytokens.com.evil.example/",))[0] is False
    released = Leaf(
        "doc.producer", "released_after", {"table": "producers", "date_field": "doc.created"}
    )
    ok, read = _eval(
        released, doc__producer="LibreOffice 7.3.7.2", doc__created=_t("2017-03-01T00:00:00")
    )
    assert ok and read[-1] == ("table:producers", "LibreOffice 7.0", "first released 2020-08-05")


def test_edit_span_language_and_domains() -> None:
    span = Leaf(
        "doc.edit_time_s", "exceeds_span_seconds", {"start": "doc.created", "end": "doc.modified"}
    )
    assert (
        _eval(
            span,
            doc__edit_time_s=7200,
            doc__created=_t("2017-01-01T10:00:00"),
            doc__modified=_t("2017-01-01T11:00:00"),
        )[0]
        is True
    )
    lang = Leaf("doc.languages", "language_differs_from_field", "text.language")
    assert _eval(lang, doc__languages=("ru-RU",), text__language="fr")[0] is True
    assert _eval(lang, doc__languages=("fr-FR", "ru-RU"), text__language="fr")[0] is False
    dom = Leaf("email.message_id", "domain_differs_from_field", "email.from")
    assert (
        _eval(dom, email__message_id="<1@mail.example.ru>", email__from="A <a@campagne.fr>")[0]
        is True
    )
    assert (
        _eval(dom, email__message_id="<1@smtp.campagne.fr>", email__from="A <a@campagne.fr>")[0]
        is False
    )


def test_combinators() -> None:
    tree = Node(
        "all",
        (Leaf("doc.author", "exists", True), Node("not", (Leaf("doc.author", "equals", "x"),))),
    )
    assert _eval(tree, doc__author="y")[0] is True
    assert _eval(tree, doc__author="x")[0] is False
    either = Node("any", (Leaf("doc.author", "equals", "x"), Leaf("doc.title", "equals", "t")))
    ok, read = _eval(either, doc__author="z", doc__title="t")
    assert ok and read == [("doc.title", "t", "")]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_rules_fail_with_path_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "a/typo.yaml", "id: typo\ntitle: t\nseverity: huge\n")
    _write(tmp_path, "a/dup.yaml", "id: dup\nid: dup\n")
    _write(
        tmp_path,
        "b/bad-field.yaml",
        "id: bad-field\ntitle: t\nseverity: low\ncategory: alteration\ntechnique: T0089.003\n"
        "grade: B\nrationale: r\nmessage: m\nmatch:\n  all:\n"
        "    - {field: doc.nope, exists: true}\n"
        "tests:\n  - {name: a, record: {doc.author: x}, expect: match}\n",
    )
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path], bundled=False)
    text = "\n".join(caught.value.errors)
    assert f"{tmp_path / 'a/typo.yaml'}:1: missing key 'category'" in text
    assert f"{tmp_path / 'a/dup.yaml'}:2:" in text and "duplicate key 'id'" in text
    assert f"{tmp_path / 'b/bad-field.yaml'}:11: unknown field 'doc.nope'" in text
    assert "tests need at least one 'expect: match' and one 'expect: no_match'" in text


def test_messages_leave_out_groups_whose_facts_are_absent() -> None:
    template = (
        "Dated after the leak date:[ created {doc.created}][, last saved {doc.modified}]"
        "[, printed {doc.printed}]"
    )
    facts = {"doc.modified": datetime(2017, 5, 6, 6, 42, tzinfo=UTC)}
    assert (
        render_message(template, facts)
        == "Dated after the leak date: last saved 2017-05-06T06:42:00Z"
    )
    assert render_message("Share[ (template {ooxml.attached_template})] found", {}) == "Share found"
    assert render_message("Author {doc.author}", {}) == "Author ?"


def test_rule_sets_are_reused_until_a_file_changes(tmp_path: Path) -> None:
    import os

    folder = tmp_path / "ours"
    folder.mkdir()
    source = next(Path(load_rules().sources[0]).rglob("macros-present.yaml"))
    text = source.read_text(encoding="utf-8").replace("id: macros-present", "id: our-macros")
    rule = folder / "our-macros.yaml"
    rule.write_text(text, encoding="utf-8")
    first = load_rules([folder])
    assert load_rules([folder]) is first
    rule.write_text(text.replace("Document carries macros", "Has macros"), encoding="utf-8")
    stat = rule.stat()
    os.utime(rule, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = load_rules([folder])
    assert second is not first
    assert second.get("our-macros") is not None
    assert second.get("our-macros").title.startswith("Has macros")  # type: ignore[union-attr]
