"""The Unicode Script property of a character (UAX #24), from the ``regex`` module's data.

Python's ``unicodedata`` has no Script property; the first word of a character's name is not
one ("ª" is FEMININE ORDINAL INDICATOR, a Latin letter; "µ" is MICRO SIGN, Common). ``regex``
ships the Unicode Character Database and matches ``\\p{Script=...}``; one pattern of named
alternatives, one per script, gives a character's script as the name of the group it
matched. Values are the property's long names: Latin, Cyrillic, Greek, Han, Hiragana,
Katakana, Hangul, Arabic, Hebrew, ... and Common (shared punctuation, digits, symbols, and
letters such as µ) or Inherited (combining marks that take their base's script).
"""

from __future__ import annotations

from functools import lru_cache

import regex

SCRIPTS: tuple[str, ...] = (
    # The frequent ones first: the pattern tries its alternatives in this order.
    "Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew",
    "Common", "Inherited", "Thai", "Devanagari", "Armenian", "Georgian", "Bengali", "Tamil",
    "Bopomofo", "Ethiopic", "Syriac", "Thaana", "Khmer", "Lao", "Myanmar", "Sinhala", "Tibetan",
    "Gujarati", "Gurmukhi", "Kannada", "Malayalam", "Oriya", "Telugu", "Mongolian", "Yi",
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Avestan", "Balinese", "Bamum", "Bassa_Vah",
    "Batak", "Bhaiksuki", "Brahmi", "Braille", "Buginese", "Buhid", "Canadian_Aboriginal",
    "Carian", "Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian", "Coptic",
    "Cuneiform", "Cypriot", "Cypro_Minoan", "Deseret", "Dives_Akuru", "Dogra", "Duployan",
    "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Garay", "Glagolitic", "Gothic", "Grantha",
    "Gunjala_Gondi", "Gurung_Khema", "Hanifi_Rohingya", "Hanunoo", "Hatran",
    "Imperial_Aramaic", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese",
    "Kaithi", "Kawi", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khojki", "Khudawadi",
    "Kirat_Rai", "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian",
    "Mahajani", "Makasar", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Medefaidrin",
    "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao",
    "Modi", "Mro", "Multani", "Nabataean", "Nag_Mundari", "Nandinagari", "New_Tai_Lue", "Newa",
    "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Ol_Onal", "Old_Hungarian",
    "Old_Italic", "Old_North_Arabian", "Old_Permic", "Old_Persian", "Old_Sogdian",
    "Old_South_Arabian", "Old_Turkic", "Old_Uyghur", "Osage", "Osmanya", "Pahawh_Hmong",
    "Palmyrene", "Pau_Cin_Hau", "Phags_Pa", "Phoenician", "Psalter_Pahlavi", "Rejang", "Runic",
    "Samaritan", "Saurashtra", "Sharada", "Shavian", "Siddham", "SignWriting", "Sogdian",
    "Sora_Sompeng", "Soyombo", "Sundanese", "Sunuwar", "Syloti_Nagri", "Tagalog", "Tagbanwa",
    "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tangsa", "Tangut", "Tifinagh", "Tirhuta",
    "Todhri", "Toto", "Tulu_Tigalari", "Ugaritic", "Vai", "Vithkuqi", "Wancho", "Warang_Citi",
    "Yezidi", "Zanabazar_Square", "Beria_Erfe", "Jurchen", "Proto_Cuneiform", "Seal", "Sidetic",
    "Tai_Yo", "Tolong_Siki",
)  # fmt: skip
"""Script long names (PropertyValueAliases.txt); those the installed ``regex`` does not know
yet are left out of the pattern, and their characters read as Unknown."""

UNKNOWN = "Unknown"
NEUTRAL = frozenset({"Common", "Inherited", UNKNOWN})
"""Values that say nothing about the writing system a text is in."""


@lru_cache(maxsize=1)
def _pattern() -> regex.Pattern[str]:
    branches = []
    for name in SCRIPTS:
        try:
            regex.compile(rf"\p{{Script={name}}}")
        except regex.error:
            continue
        branches.append(rf"(?P<{name}>\p{{Script={name}}})")
    return regex.compile("|".join(branches))


@lru_cache(maxsize=16384)
def script(char: str) -> str:
    """The Script property value of one character (``"Latin"``, ``"Common"``...)."""
    found = _pattern().match(char)
    name = found.lastgroup if found is not None else None
    return str(name) if name else UNKNOWN
