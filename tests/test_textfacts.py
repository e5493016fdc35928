"""Facts derived from text: Unicode scripts (the Script property) and body-text language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leaktriage import safetext, textfacts
from leaktriage.rules.engine import Context, Leaf, evaluate
from leaktriage.unicode_script import script


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        ("ª", "Latin"),  # FEMININE ORDINAL INDICATOR
        ("º", "Latin"),  # MASCULINE ORDINAL INDICATOR
        ("µ", "Common"),  # MICRO SIGN
        ("ß", "Latin"),
        ("ﬁ", "Latin"),  # LATIN SMALL LIGATURE FI
        ("Ж", "Cyrillic"),
        ("ё", "Cyrillic"),
        ("Ω", "Greek"),
        ("λ", "Greek"),
        ("あ", "Hiragana"),
        ("ア", "Katakana"),
        ("ｶ", "Katakana"),  # HALFWIDTH KATAKANA LETTER KA
        ("한", "Hangul"),
        ("ㄱ", "Hangul"),  # HANGUL LETTER KIYEOK
        ("中", "Han"),
        ("々", "Han"),  # IDEOGRAPHIC ITERATION MARK
        ("ش", "Arabic"),
        ("ש", "Hebrew"),
        ("ก", "Thai"),
    ],
)
def test_char_script_is_the_unicode_script_property(char: str, expected: str) -> None:
    assert textfacts.char_script(char) == expected
    assert script(char) == expected


def test_non_letters_have_no_letter_script() -> None:
    assert textfacts.char_script("1") is None
    assert textfacts.char_script("-") is None
    assert textfacts.char_script("\u0301") is None  # a combining mark: Inherited, not a letter
    assert script("\u0301") == "Inherited"
    assert script("\U000e0fff") == "Unknown"  # unassigned


@pytest.mark.parametrize(
    "text", ["Ana Mª López", "Nº 12 Fußweg", "10 µm", "ﬁnance", "Dª Ángela, 2º piso"]
)
def test_latin_names_with_ordinals_ligatures_and_micro_are_latin_only(text: str) -> None:
    assert textfacts.scripts_of(text) == ["Latin"]
    fields: dict[str, textfacts.FieldValue] = {"doc.author": text}
    textfacts.derive(fields)
    assert fields["meta.scripts"] == ("Latin",)
    assert "meta.foreign_strings" not in fields


def test_scripts_of_names_every_script_exactly() -> None:
    assert textfacts.scripts_of("Иван Петров") == ["Cyrillic"]
    assert textfacts.scripts_of("Γιώργος") == ["Greek"]
    assert textfacts.scripts_of("山田はなコ") == ["Han", "Hiragana", "Katakana"]
    assert textfacts.scripts_of("김민지 金") == ["Han", "Hangul"]
    assert textfacts.scripts_of("Ana µ 10") == ["Latin"]
    assert textfacts.scripts_of("µ") == []


def test_script_not_ignores_common_letters_and_names_the_others() -> None:
    ctx = Context(None, datetime(2017, 5, 5, tzinfo=UTC), {})
    leaf = Leaf("doc.author", "script_not", ["Latin"])
    for latin in ("Mª José", "Nº 5", "µ-Team", "ﬁlipa"):
        assert evaluate(leaf, {"doc.author": latin}, ctx)[0] is False
    assert evaluate(leaf, {"doc.author": "Анна"}, ctx)[0] is True
    assert evaluate(leaf, {"doc.author": "さくら"}, ctx)[0] is True


def test_name_oddness_uses_the_script_property() -> None:
    # Kanji with kana is one Japanese name; Latin with Cyrillic in one word is a misreading.
    assert safetext._oddness("山田はな") == 0
    assert safetext._oddness("Mª") == 0
    assert safetext._oddness("cafй") == 1


@pytest.mark.parametrize(
    ("text", "language", "share"),
    [
        ("東京は今日も晴れです。", "ja", 1.0),  # kanji and hiragana
        ("カタカナだけのテスト", "ja", 1.0),  # kana alone
        ("会議室はテレビ会議用です", "ja", 1.0),
        ("서울은 오늘 맑습니다.", "ko", 1.0),
        ("大韓民國 서울特別市", "ko", 1.0),  # Hangul with hanja
        ("今天北京天气很好。", "zh", 1.0),  # Han only: simplified
        ("臺北市政府公告", "zh", 1.0),  # Han only: traditional
        ("会議 meeting", "zh", 0.222),  # only 2 of 9 letters are Han: not mainly CJK
    ],
)
def test_cjk_languages_by_script(text: str, language: str, share: float) -> None:
    found = textfacts.cjk_language(text)
    if share < 0.5:
        assert found is None
        return
    assert found == (language, share)
    assert textfacts.detect_language(text) == (language, share)


def test_cjk_with_some_latin_keeps_the_share_of_cjk_letters() -> None:
    # 10 of the 14 letters are kanji or kana
    assert textfacts.detect_language("Wordで会議の議事録を作成") == ("ja", 0.714)
    fields: dict[str, textfacts.FieldValue] = {"text.sample": "今天北京天气很好。"}
    textfacts.derive(fields)
    assert fields["text.language"] == "zh"
    assert fields["text.language_confidence"] == 1.0
    assert fields["text.chars"] == 9


def test_other_languages_still_go_to_langdetect() -> None:
    assert textfacts.cjk_language("Bonjour à tous, voici le compte rendu.") is None
    assert textfacts.cjk_language("Это отчёт о встрече в Москве") is None
    assert textfacts.cjk_language("短い") is None  # too few letters to say
    found = textfacts.detect_language(
        "Le comité de campagne se réunira mardi pour examiner le budget du trimestre."
    )
    assert found is not None and found[0] == "fr"
