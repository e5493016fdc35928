"""OLE2 extractor and compound-file writer: planted property, FIB, BIFF and directory facts."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import olefile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leaktriage
from corpus_fixtures import EPOCH, FOREIGN_PEOPLE, ORGANISATION, PEOPLE
from corpus_fixtures.builders import ole2 as fx
from corpus_fixtures.builders._cfb import build_cfb, name_key
from leaktriage.errors import CorruptFileError, EncryptedFileError, WrongFormatError
from leaktriage.extractors import Extraction, Source
from leaktriage.extractors.ole2 import extract, parse_property_set
from leaktriage.model import FileRecord, Status

CREATED = datetime(2015, 1, 4, 9, 30, tzinfo=UTC)
SAVED = datetime(2017, 3, 27, 15, 11, 7, tzinfo=UTC)
DIR_TIME = datetime(2017, 5, 6, 15, 11, 7, tzinfo=UTC)


def run(name: str) -> FileRecord:
    return leaktriage.triage_file(fx.FIXTURES[name](), name=name, workers=0)[0]


def direct(data: bytes, mime: str = "application/x-ole-storage") -> Extraction:
    return extract(Source(name="x", mime=mime, size=len(data), data=data))


# --- the compound-file writer -----------------------------------------------------------------


def test_fixture_dates_match_the_constants() -> None:
    assert fx.CREATED == CREATED
    assert fx.SAVED == SAVED
    assert fx.DIR_TIME == DIR_TIME
    assert EPOCH + timedelta(days=13, hours=5, minutes=41, seconds=7) == SAVED


def test_fixtures_are_deterministic() -> None:
    for build in fx.FIXTURES.values():
        assert build() == build()


def test_cfb_round_trips_through_olefile() -> None:
    streams = {
        "WordDocument": bytes(range(256)) * 40,  # 10 kB: regular sectors
        "\x05SummaryInformation": b"s" * 300,  # mini stream
        "Macros/VBA/dir": b"d" * 70,
        "Macros/PROJECT": b"p" * 4096,  # exactly the cutoff: regular sectors
        "empty": b"",
        "ObjectPool/": b"",
        **{f"part{i:03d}": bytes([i]) * (i * 13 + 1) for i in range(150)},
    }
    data = build_cfb(streams, created=CREATED, modified=SAVED)
    assert data == build_cfb(streams, created=CREATED, modified=SAVED)
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_POTENTIAL)
    listed = {"/".join(p) for p in ole.listdir(streams=True, storages=False)}
    assert listed == {name for name in streams if not name.endswith("/")}
    for name in listed:
        assert ole.openstream(name).read() == streams[name]
    assert ole.getmtime("Macros") == SAVED.replace(tzinfo=None)
    assert ole.getctime("ObjectPool") == CREATED.replace(tzinfo=None)
    assert ole.root.getmtime() == SAVED.replace(tzinfo=None)
    assert ole.root.getctime() is None  # MS-CFB: the root's creation time stays zero
    # Siblings form a search tree in MS-CFB order (length first, then upper case).
    for storage in [ole.root, ole.direntries[ole.root.kids_dict["macros"].sid]]:
        names: list[str] = []

        def inorder(sid: int, out: list[str]) -> None:
            if sid == olefile.NOSTREAM:
                return
            entry = ole.direntries[sid]
            inorder(entry.sid_left, out)
            out.append(entry.name)
            inorder(entry.sid_right, out)

        inorder(storage.sid_child, names)
        assert names == sorted(names, key=name_key)
        assert len(names) == len(storage.kids)


def test_cfb_with_difat_sectors() -> None:
    # 8 MiB needs more than 109 FAT sectors, so the DIFAT chain is used.
    big = b"\x5a" * (8 << 20)
    data = build_cfb({"Big": big, "small": b"x"})
    ole = olefile.OleFileIO(io.BytesIO(data), raise_defects=olefile.DEFECT_POTENTIAL)
    assert struct.unpack_from("<I", data, 72)[0] == 1  # one DIFAT sector
    assert ole.openstream("Big").read() == big
    assert ole.openstream("small").read() == b"x"


def test_cfb_refuses_bad_names() -> None:
    with pytest.raises(ValueError, match="31 UTF-16"):
        build_cfb({"n" * 32: b""})
    with pytest.raises(ValueError, match="both a stream and a storage"):
        build_cfb({"a": b"1", "a/b": b"2"})


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_exiftool_reads_the_fixtures_as_planted(tmp_path: Path) -> None:
    paths = []
    for name in ("rapport.doc", "budget_ru.xls", "note_ru.doc"):
        target = tmp_path / name
        target.write_bytes(fx.FIXTURES[name]())
        paths.append(str(target))
    out = subprocess.run(
        ["exiftool", "-j", "-a", "-n", "-LastModifiedBy", "-CodePage", "-LastSavedBy", *paths],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {Path(item["SourceFile"]).name: item for item in json.loads(out)}
    assert found["rapport.doc"]["LastModifiedBy"] == PEOPLE[1]
    assert found["budget_ru.xls"]["LastModifiedBy"] == FOREIGN_PEOPLE[0]
    assert found["budget_ru.xls"]["CodePage"] == 1251
    history = subprocess.run(
        ["exiftool", "-s3", "-a", "-LastSavedBy", paths[2]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert history == [
        f"{PEOPLE[4]} (C:\\Users\\echambreuil\\Documents\\note.doc)",
        "Анна Соколова (C:\\Users\\Анна\\Desktop\\Копия note.doc)",
    ]


# --- planted facts ----------------------------------------------------------------------------


def test_rapport_doc_properties_fib_and_text() -> None:
    record = run("rapport.doc")
    assert record.mime == "application/msword"
    assert record.status is Status.OK
    assert record.issues == ()
    f = record.fields
    assert f["ole.kind"] == "doc"
    assert f["doc.title"] == "Rapport d'étape"
    assert f["doc.subject"] == "Finances de campagne"
    assert f["doc.author"] == PEOPLE[0]
    assert f["doc.last_modified_by"] == PEOPLE[1]
    assert f["doc.keywords"] == "budget; dons"
    assert f["doc.comments"] == "Version préliminaire"
    assert f["doc.template"] == "Normal.dot"
    assert f["doc.revision"] == 7
    assert f["doc.edit_time_s"] == 5400
    assert f["doc.created"] == CREATED
    assert f["doc.created_tz_known"] is True
    assert f["doc.modified"] == SAVED
    assert f["doc.modified_tz_known"] is True
    assert "doc.modified_offset" not in f
    assert f["doc.printed"] == datetime(2017, 3, 16, 9, 30, tzinfo=UTC)
    assert (f["doc.page_count"], f["doc.word_count"], f["doc.char_count"]) == (3, 412, 2390)
    assert f["doc.application"] == "Microsoft Word 10.0"
    assert f["doc.app_version"] == "10.0000"
    assert f["doc.codepage"] == 1252
    assert f["doc.category"] == "Interne"
    assert f["doc.manager"] == PEOPLE[2]
    assert f["doc.company"] == ORGANISATION
    assert f["ole.heading_pairs"] == ("Titre",)
    assert f["ole.titles_of_parts"] == ("Rapport d'étape",)
    assert f["ole.user_defined"] == ("Classification=Confidentiel", "Dossier=42")
    assert f["ole.fib_nfib"] == 0x00C1
    assert f["ole.fib_nfib_new"] == 0x0101
    assert f["ole.fib_lid"] == 0x040C
    assert f["ole.fib_lid_tag"] == "fr-FR"
    assert f["doc.languages"] == ("fr-FR",)
    assert f["ole.fib_fast_saved"] is False
    assert f["doc.has_macros"] is False
    assert f["ole.streams"] == (
        "\x05DocumentSummaryInformation",
        "\x05SummaryInformation",
        "1Table",
        "WordDocument",
    )
    # Directory times 40 days after the stated last save (OLE-04).
    assert f["ole.root_modified"] == DIR_TIME
    assert f["ole.dir_modified_max"] == DIR_TIME
    assert f["ole.dir_created_min"] == SAVED
    assert f["text.sample"] == (
        "Rapport d'étape sur les finances de la campagne.\n"
        "Les dépenses du premier trimestre sont conformes au budget.\n"
        "Voir le tableau."
    )
    assert f["links.external"] == (
        "https://dons.example.org/campagne",
        "https://intranet.example.org/finances",
    )
    assert record.raw["SummaryInformation:LastAuthor"] == PEOPLE[1]
    assert record.raw["WordDocument:FibBase.lid"] == "0x040C"
    assert record.raw["UserDefined:Dossier"] == "42"


def test_budget_ru_xls_reads_cyrillic_in_codepage_1251() -> None:
    record = run("budget_ru.xls")
    assert record.mime == "application/vnd.ms-excel"
    assert record.status is Status.OK
    f = record.fields
    assert f["ole.kind"] == "xls"
    assert f["doc.codepage"] == 1251
    assert f["doc.author"] == PEOPLE[3]
    assert f["doc.last_modified_by"] == "Георгий Петровский" == FOREIGN_PEOPLE[0]
    assert f["doc.company"] == ORGANISATION
    assert f["ole.heading_pairs"] == ("Листы",)
    assert f["ole.titles_of_parts"] == ("Лист1", "Бюджет")
    assert f["doc.app_version"] == "12.0000"
    assert f["ole.biff_codepage"] == 1251
    assert f["ole.app_user"] == FOREIGN_PEOPLE[0]
    assert f["doc.created"] == CREATED
    assert f["doc.modified"] == SAVED
    assert f["ole.root_modified"] == SAVED
    assert "ole.dir_created_min" not in f
    assert f["meta.scripts"] == ("Cyrillic", "Latin")
    assert record.raw["Workbook:BOF.rupYear"] == "1997"


MAC_TITLE = "Procès-verbal – réunion n°3 “budget” ƒ"
MAC_AUTHOR = "Zoë Ølund-Ñúñez"
MAC_COMPANY = "Œuvres & Cie ™"


def test_mac_roman_properties_read_in_code_page_10000() -> None:
    data = fx.mac_word_doc(
        10000,
        MAC_TITLE.encode("mac_roman"),
        MAC_AUTHOR.encode("mac_roman"),
        MAC_COMPANY.encode("mac_roman"),
    )
    record = leaktriage.triage_file(data, name="pv.doc", workers=0)[0]
    f = record.fields
    assert f["doc.codepage"] == 10000
    assert f["doc.title"] == "Procès-verbal – réunion n°3 “budget” ƒ"
    assert f["doc.author"] == "Zoë Ølund-Ñúñez"
    assert f["doc.last_modified_by"] == "Zoë Ølund-Ñúñez"
    assert f["doc.company"] == "Œuvres & Cie ™"
    assert f["meta.scripts"] == ("Latin",)
    # What the cp1252 default used to make of the same bytes:
    assert MAC_TITLE.encode("mac_roman").decode("cp1252", "replace") != f["doc.title"]


def test_mac_japanese_properties_read_in_code_page_10001() -> None:
    title = "会議の議事録".encode("shift_jis") + b" \xfd2017"  # 0xFD: Mac Japanese copyright
    company = "株式会社さくら".encode("shift_jis") + b" \x5c"  # 0x5C: yen on a Mac
    author = "山田はな".encode("shift_jis")
    record = leaktriage.triage_file(
        fx.mac_word_doc(10001, title, author, company), name="gijiroku.doc", workers=0
    )[0]
    f = record.fields
    assert f["doc.codepage"] == 10001
    assert f["doc.title"] == "会議の議事録 ©2017"
    assert f["doc.author"] == "山田はな"
    assert f["doc.company"] == "株式会社さくら ¥"
    assert f["meta.scripts"] == ("Han", "Hiragana", "Latin")  # Latin: "Microsoft Word 98"


def test_note_ru_doc_saved_by_history_and_language() -> None:
    record = run("note_ru.doc")
    assert record.status is Status.OK
    f = record.fields
    assert f["ole.fib_lid"] == 0x0419
    assert f["ole.fib_lid_tag"] == "ru-RU"
    assert f["doc.languages"] == ("ru-RU",)
    assert "ole.fib_nfib_new" not in f
    assert f["doc.codepage"] == 1251
    assert f["doc.last_modified_by"] == FOREIGN_PEOPLE[1]
    assert f["ole.saved_by"] == (
        f"{PEOPLE[4]}|C:\\Users\\echambreuil\\Documents\\note.doc",
        "Анна Соколова|C:\\Users\\Анна\\Desktop\\Копия note.doc",
    )
    assert f["doc.has_macros"] is True
    streams = f["ole.streams"]
    assert isinstance(streams, tuple)
    assert "Macros/VBA/dir" in streams
    assert f["ole.dir_created_min"] == CREATED
    assert f["ole.dir_modified_max"] == SAVED
    assert f["text.sample"] == "Note interne."
    assert f["text.chars"] == 13


def test_diaporama_ppt_codepage_1200_and_current_user() -> None:
    record = run("diaporama.ppt")
    assert record.mime == "application/vnd.ms-powerpoint"
    assert record.status is Status.OK
    f = record.fields
    assert f["ole.kind"] == "ppt"
    assert f["doc.codepage"] == 1200
    assert f["doc.title"] == "Présentation stratégique"
    assert f["doc.author"] == PEOPLE[2]
    assert f["doc.last_modified_by"] == PEOPLE[0]
    assert f["doc.application"] == "Microsoft Office PowerPoint"
    assert f["ole.app_user"] == PEOPLE[0]


def test_encrypted_doc_keeps_summary_information() -> None:
    record = run("encrypted.doc")
    assert record.status is Status.ENCRYPTED
    assert [i.code for i in record.issues] == ["encrypted"]
    assert "fEncrypted" in record.issues[0].message
    f = record.fields
    assert f["doc.encrypted"] is True
    assert f["doc.author"] == PEOPLE[1]
    assert f["doc.last_modified_by"] == PEOPLE[2]
    assert f["doc.modified"] == SAVED
    assert f["ole.fib_lid"] == 0x040C
    assert "text.sample" not in f


def test_encrypted_ooxml_package() -> None:
    record = run("protege.docx")
    assert record.mime == "application/x-ooxml-encrypted"
    assert record.status is Status.ENCRYPTED
    assert record.fields["ole.kind"] == "ooxml_encrypted"
    assert record.fields["doc.encrypted"] is True
    assert record.fields["ole.streams"] == (
        "EncryptedPackage",
        "EncryptionInfo",
        "\x06DataSpaces/Version",
    )


def test_excel_filepass_means_encrypted() -> None:
    streams = {
        "Workbook": fx.workbook_stream(PEOPLE[0], 1200, encrypted=True),
        "\x05SummaryInformation": fx.summary_information(1252, {4: ("lpstr", b"Auteur")}),
    }
    with pytest.raises(EncryptedFileError, match="FILEPASS") as caught:
        direct(build_cfb(streams))
    partial = caught.value.partial
    assert isinstance(partial, Extraction)
    assert partial.fields["doc.author"] == "Auteur"
    assert "ole.app_user" not in partial.fields  # WRITEACCESS follows FILEPASS: encrypted


def test_cyclic_fat_is_an_error_without_hanging() -> None:
    start = time.perf_counter()
    record = run("cyclic_fat.doc")
    assert time.perf_counter() - start < 5
    assert record.status is Status.ERROR
    assert record.issues[0].code == "corrupt"
    assert "directory sector chain" in record.issues[0].message


def test_truncated_xls_is_partial_with_reasons() -> None:
    record = run("truncated.xls")
    assert record.status is Status.PARTIAL
    codes = {issue.code for issue in record.issues}
    assert codes == {"corrupt", "truncated"}
    assert record.fields["ole.kind"] == "xls"
    assert "doc.last_modified_by" not in record.fields


def test_not_a_compound_file() -> None:
    with pytest.raises(WrongFormatError):
        direct(b"%PDF-1.4\n" + b"\0" * 2000)


def test_unpadded_strings_in_a_variant_vector() -> None:
    # Office writes HeadingPairs strings without the 4-byte padding MS-OLEPS asks for.
    body = struct.pack("<HHI", 0x100C, 0, 4)
    for label, count in ((b"Feuilles\0", 2), (b"Plages nommees\0", 1)):
        body += struct.pack("<HHI", 30, 0, len(label)) + label
        body += struct.pack("<HHi", 3, 0, count)
    section = struct.pack("<II", 16 + len(body), 1) + struct.pack("<II", 12, 16) + body
    header = struct.pack("<HHI16sI", 0xFFFE, 0, 0x00020006, b"\0" * 16, 1)
    stream = header + fx.DOCSUMMARY_FMTID + struct.pack("<I", 48) + section
    (parsed,) = parse_property_set(stream)
    assert parsed.values[12] == ["Feuilles", 2, "Plages nommees", 1]


# --- hostile input ----------------------------------------------------------------------------

_SEEDS = {name: fx.FIXTURES[name]() for name in ("rapport.doc", "budget_ru.xls", "note_ru.doc")}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(_SEEDS)),
    cut=st.integers(min_value=0, max_value=9000),
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=9000), st.integers(1, 255)), max_size=6
    ),
)
def test_damaged_files_raise_only_declared_errors(
    name: str, cut: int, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(_SEEDS[name][: max(cut, 512)])
    for offset, mask in flips:
        if offset < len(data):
            data[offset] ^= mask
    try:
        extraction = direct(bytes(data))
    except (CorruptFileError, EncryptedFileError, WrongFormatError):
        return
    assert extraction.status in (Status.OK, Status.PARTIAL)


def test_excel_97_text_has_every_figure_in_row_and_column_order() -> None:
    """LABELSST cells resolved through an SST cut by a CONTINUE record (which restarts with
    its own high-byte flag), RK, MULRK and NUMBER figures as Excel stores them."""
    rows: list[list[str | int | float]] = [
        ["Poste", "Montant"],
        ["Déplacements", 48500],
        ["Réserve", 4380.5],
        [2015, 2016, 2017],
        ["Итого по бюджету", 1200000],
    ]
    streams = {
        "Workbook": fx.workbook_stream(PEOPLE[0], 1252, rows=rows),
        "\x05SummaryInformation": fx.summary_information(1252, {4: ("lpstr", b"Auteur")}),
    }
    extraction = direct(build_cfb(streams, root_clsid=fx.EXCEL_CLSID))
    assert extraction.fields["text.sample"] == (
        "Poste\tMontant\nDéplacements\t48500\nRéserve\t4380.5\n2015\t2016\t2017\n"
        "Итого по бюджету\t1200000"
    )
    assert extraction.fields["ole.app_user"] == PEOPLE[0]
