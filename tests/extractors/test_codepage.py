"""The one code page table: Windows, OEM and Mac code page numbers to Python codecs."""

from __future__ import annotations

import pytest

from leaktriage.extractors._codepage import codec_for, codepage_of

TABLE = {
    1250: "cp1250",
    1251: "cp1251",
    1252: "cp1252",
    1253: "cp1253",
    1254: "cp1254",
    1255: "cp1255",
    1256: "cp1256",
    1257: "cp1257",
    1258: "cp1258",
    874: "cp874",
    932: "cp932",
    936: "gbk",
    949: "cp949",
    950: "cp950",
    437: "cp437",
    850: "cp850",
    866: "cp866",
    10000: "mac-roman",
    10001: "mac-japanese",
    10002: "big5",
    10003: "euc_kr",
    10004: "mac-arabic",
    10005: "mac-hebrew",
    10006: "mac-greek",
    10007: "mac-cyrillic",
    10008: "gb2312",
    10029: "mac-latin2",
    10079: "mac-iceland",
    10081: "mac-turkish",
    1200: "utf-16-le",
    65001: "utf-8",
    32768: "mac-roman",
}


@pytest.mark.parametrize(("codepage", "codec"), sorted(TABLE.items()))
def test_code_page_numbers_name_their_codecs(codepage: int, codec: str) -> None:
    assert codec_for(codepage) == codec


def test_unknown_and_absent_code_pages_fall_back_to_cp1252() -> None:
    assert codec_for(None) == "cp1252"
    assert codec_for(12345) == "cp1252"
    assert codec_for(12345, default="latin-1") == "latin-1"


@pytest.mark.parametrize(
    ("codepage", "raw", "text"),
    [
        (10000, b"R\x8esum\x8e \xd0 caf\x8e", "Résumé – café"),
        (10006, b"\xe1\xf5\xdc\xee\xe1", "αθήνα"),
        (10007, b"\x8c\xee\xf1\xea\xe2\xe0", "Москва"),
        (10029, b"\x89\x8b\x84", "ČčĄ"),
        (10081, b"\xda\xdb", "Ğğ"),
        (10004, b"\xc7\xe4", "ال"),
        (10005, b"\xf9\xec\xe5\xed \xa6", "שלום ₪"),
        (10005, b"\xa8\xa9\xc0", ")(\u05dc\u05b9"),
        (10001, "東京".encode("shift_jis") + b"\x5c\x80\xa0\xfd\xfe\xff", "東京¥\\\u00a0©™…"),
        (10003, "서울".encode("euc_kr"), "서울"),
        (10008, "北京".encode("gb2312"), "北京"),
        (10002, "臺北".encode("big5"), "臺北"),
    ],
)
def test_mac_code_pages_decode_as_apple_maps_them(codepage: int, raw: bytes, text: str) -> None:
    assert raw.decode(codec_for(codepage)) == text


def test_mac_japanese_leaves_unmapped_bytes_to_the_error_handler() -> None:
    raw = b"\x85\x40A"  # a row Shift-JIS leaves empty (Apple's additions)
    assert raw.decode("mac-japanese", "replace") == "\ufffd@A"
    assert raw.decode("mac-japanese", "ignore") == "@A"
    with pytest.raises(UnicodeDecodeError):
        raw.decode("mac-japanese")


def test_codec_names_map_back_to_code_pages() -> None:
    assert codepage_of("mac_roman") == 10000
    assert codepage_of("mac-hebrew") == 10005
    assert codepage_of("mac-japanese") == 10001
    assert codepage_of("cp1251") == 1251
    assert codepage_of("no-such-codec") is None


@pytest.mark.parametrize(
    ("label", "raw", "text"),
    [
        ("x-mac-cyrillic", b"\x8c\xee\xf1\xea\xe2\xe0", "Москва"),
        ("X-Mac-Ukrainian", b"\x8c\xee\xf1\xea\xe2\xe0", "Москва"),
        ("x-mac-hebrew", b"\xf9\xec\xe5\xed", "שלום"),
        ("x-mac-roman", b"R\x8esum\x8e", "Résumé"),
        ("x-mac-ce", b"\x89\x8b\x84", "ČčĄ"),
        ("macintosh", b"R\x8esum\x8e", "Résumé"),
    ],
)
def test_mac_charset_labels_of_html_and_mail_decode(label: str, raw: bytes, text: str) -> None:
    assert raw.decode(label) == text
