"""Windows language ids (LCID) as BCP 47 tags, for Word's FIB, RTF and other Office formats.

The language id a document declares is the language of the Office or Windows that wrote it:
0x0419 (ru-RU) in a French campaign's files says a Russian-language machine touched them.
The table keeps script subtags the standard library's ``locale.windows_locale`` drops
(az-Latn-AZ vs az-Cyrl-AZ); ids it lacks fall back to that table.
"""

from __future__ import annotations

import locale

LCID_TAGS: dict[int, str] = {
    0x0401: "ar-SA",
    0x0402: "bg-BG",
    0x0403: "ca-ES",
    0x0404: "zh-TW",
    0x0405: "cs-CZ",
    0x0406: "da-DK",
    0x0407: "de-DE",
    0x0408: "el-GR",
    0x0409: "en-US",
    0x040A: "es-ES",
    0x040B: "fi-FI",
    0x040C: "fr-FR",
    0x040D: "he-IL",
    0x040E: "hu-HU",
    0x040F: "is-IS",
    0x0410: "it-IT",
    0x0411: "ja-JP",
    0x0412: "ko-KR",
    0x0413: "nl-NL",
    0x0414: "nb-NO",
    0x0415: "pl-PL",
    0x0416: "pt-BR",
    0x0418: "ro-RO",
    0x0419: "ru-RU",
    0x041A: "hr-HR",
    0x041B: "sk-SK",
    0x041C: "sq-AL",
    0x041D: "sv-SE",
    0x041E: "th-TH",
    0x041F: "tr-TR",
    0x0420: "ur-PK",
    0x0421: "id-ID",
    0x0422: "uk-UA",
    0x0423: "be-BY",
    0x0424: "sl-SI",
    0x0425: "et-EE",
    0x0426: "lv-LV",
    0x0427: "lt-LT",
    0x0428: "tg-Cyrl-TJ",
    0x0429: "fa-IR",
    0x042A: "vi-VN",
    0x042B: "hy-AM",
    0x042C: "az-Latn-AZ",
    0x042D: "eu-ES",
    0x042F: "mk-MK",
    0x0437: "ka-GE",
    0x0439: "hi-IN",
    0x043E: "ms-MY",
    0x043F: "kk-KZ",
    0x0440: "ky-KG",
    0x0441: "sw-KE",
    0x0442: "tk-TM",
    0x0443: "uz-Latn-UZ",
    0x0444: "tt-RU",
    0x0450: "mn-MN",
    0x0452: "cy-GB",
    0x0456: "gl-ES",
    0x0801: "ar-IQ",
    0x0804: "zh-CN",
    0x0807: "de-CH",
    0x0809: "en-GB",
    0x080A: "es-MX",
    0x080C: "fr-BE",
    0x0810: "it-CH",
    0x0813: "nl-BE",
    0x0814: "nn-NO",
    0x0816: "pt-PT",
    0x081A: "sr-Latn-CS",
    0x082C: "az-Cyrl-AZ",
    0x0843: "uz-Cyrl-UZ",
    0x0C04: "zh-HK",
    0x0C07: "de-AT",
    0x0C09: "en-AU",
    0x0C0A: "es-ES",
    0x0C0C: "fr-CA",
    0x0C1A: "sr-Cyrl-CS",
    0x1009: "en-CA",
    0x100C: "fr-CH",
    0x140C: "fr-LU",
    0x1809: "en-IE",
    0x180C: "fr-MC",
    0x2009: "en-JM",
}
"""Language ids leaks commonly carry, with their BCP 47 tags."""

NO_LANGUAGE = frozenset({0, 0x0400, 0x03FF})
"""Ids that mean "no proofing" or "unknown" rather than a language."""


def lcid_tag(lcid: int) -> str | None:
    """BCP 47 tag of a Windows language id (``0x0419`` -> ``ru-RU``); None when unknown."""
    if lcid in NO_LANGUAGE:
        return None
    tag = LCID_TAGS.get(lcid)
    if tag is None:
        name = locale.windows_locale.get(lcid)
        tag = name.replace("_", "-") if name else None
    return tag
