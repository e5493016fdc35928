"""Email extractor: planted header facts, Received chains, children and their provenance."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leaktriage
from corpus_fixtures.builders import email as fx
from leaktriage.errors import ExtractionError
from leaktriage.extractors import Extraction, Source, for_mime
from leaktriage.extractors.email.mbox import _split_mbox
from leaktriage.model import FileRecord, Status

DOMAIN = "campagne-exemple.fr"
MEETING_ID = f"<20170503120500.4821@{DOMAIN}>"
THREAD_TIME = datetime(2017, 5, 3, 12, 3, 59, 998566, tzinfo=UTC)
"""THREAD_START with the low 16 bits of its FILETIME dropped, as Outlook stores it."""
EML, MBOX, MSG = "message/rfc822", "application/mbox", "application/vnd.ms-outlook"


def extract(source: Source) -> Extraction:
    """Run the email extractor registered for the source's type (one per format)."""
    extractor = for_mime(source.mime)
    assert extractor is not None and extractor.family == "email", source.mime
    return extractor.function(source)


def run(name: str) -> list[FileRecord]:
    return leaktriage.triage_file(fx.FIXTURES[name](), name=name, workers=0)


def by_path(records: list[FileRecord]) -> dict[str, FileRecord]:
    return {r.path: r for r in records}


def direct(name: str, mime: str) -> Extraction:
    data = fx.FIXTURES[name]()
    return extract(Source(name=name, mime=mime, size=len(data), data=data))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fixtures_are_deterministic() -> None:
    for build in fx.FIXTURES.values():
        assert build() == build()


def test_each_format_is_registered_on_its_own_and_records_say_email() -> None:
    formats = {
        EML: "email.eml",
        MBOX: "email.mbox",
        MSG: "email.msg",
        "application/vnd.ms-outlook-pst": "email.pst",
    }
    for mime, name in formats.items():
        extractor = for_mime(mime)
        assert extractor is not None and extractor.name == name, mime
        assert extractor.label == "email@1", mime


def test_meeting_header_facts() -> None:
    record = run("meeting.eml")[0]
    assert record.mime == EML
    assert record.status is Status.OK
    assert record.issues == ()
    f = record.fields
    assert f["email.from"] == f"Camille Durand-Lefort <camille.durand-lefort@{DOMAIN}>"
    assert f["doc.author"] == "Camille Durand-Lefort"
    assert f["email.to"] == (
        f"Julien Marchetti <julien.marchetti@{DOMAIN}>",
        f"Sophie Arnaudet <sophie.arnaudet@{DOMAIN}>",
    )
    assert f["email.cc"] == (f"Mathieu Vasseur <mathieu.vasseur@{DOMAIN}>",)
    assert f["email.subject"] == f["doc.title"] == "Réunion de coordination du jeudi 4 mai"
    assert f["email.date"] == f["doc.created"] == datetime(2017, 5, 3, 12, 5, tzinfo=UTC)
    assert f["email.date_offset"] == f["doc.created_offset"] == "+02:00"
    assert f["doc.created_tz_known"] is True
    assert f["email.message_id"] == MEETING_ID
    assert f["email.in_reply_to"] == f"<20170502161200.1177@{DOMAIN}>"
    assert f["email.references"] == (
        f"<20170428090000.0042@{DOMAIN}>",
        f"<20170502161200.1177@{DOMAIN}>",
    )
    assert f["email.x_mailer"] == f["doc.application"] == "Microsoft Outlook 16.0"
    assert f["doc.languages"] == ("fr-FR",)
    assert f["email.dkim_signatures"] == 1
    assert f["email.dkim_domains"] == (DOMAIN,)
    assert f["email.thread_index"] == fx.thread_index(fx.THREAD_START, fx.THREAD_GUID, 1).hex()
    assert f["email.thread_index_time"] == THREAD_TIME
    assert f["email.thread_index_guid"] == "6f1c2a8e-3b5d-4e7f-9a10-2b3c4d5e6f70"
    assert f["email.thread_index_children"] == 1
    assert f["email.attachments"] == ("notes.txt", "annexes.zip", "Budget prévisionnel.eml")
    assert f["email.attachment_count"] == 3
    assert f["links.external"] == ("https://docs.campagne-exemple.fr/ordre-du-jour",)
    assert f["text.sample"] == fx.MEETING_BODY.strip()
    assert f["text.language"] == "fr"
    assert record.raw["header:Received#3"].startswith("from [10.0.0.23] (unknown")
    assert record.raw["header:X-Mailer"] == "Microsoft Outlook 16.0"


def test_meeting_received_chain() -> None:
    f = run("meeting.eml")[0].fields
    assert f["email.received_hops"] == 3
    assert f["email.received"] == (
        f"imap.{DOMAIN} | mx1.{DOMAIN} | 2017-05-03T14:05:09+02:00",
        f"mx1.{DOMAIN} | relay.hebergeur-exemple.net | 2017-05-03T12:05:07+00:00",
        "relay.hebergeur-exemple.net | [10.0.0.23] | 2017-05-03T14:05:03+02:00",
    )
    assert f["email.received_first"] == datetime(2017, 5, 3, 12, 5, 3, tzinfo=UTC)
    assert f["email.received_last"] == datetime(2017, 5, 3, 12, 5, 9, tzinfo=UTC)


def test_meeting_children_and_provenance() -> None:
    records = by_path(run("meeting.eml"))
    inner = "meeting.eml!attachment:Budget prévisionnel.eml"
    assert set(records) == {
        "meeting.eml",
        "meeting.eml!attachment:notes.txt",
        "meeting.eml!attachment:annexes.zip",
        "meeting.eml!attachment:annexes.zip!annexes/annexe1.txt",
        inner,
        f"{inner}!attachment:budget.csv",
    }
    top = records["meeting.eml"]
    assert records["meeting.eml!attachment:notes.txt"].parent_id == top.record_id
    assert records["meeting.eml!attachment:annexes.zip"].mime == "application/zip"
    assert records[inner].mime == EML
    assert records[inner].fields["email.subject"] == "Budget prévisionnel"
    assert records[inner].fields["email.message_id"] == f"<20170502161200.1177@{DOMAIN}>"
    assert records[f"{inner}!attachment:budget.csv"].sha256 == sha(
        b"poste;montant\nsalles;12000\naffiches;8500\n"
    )
    assert records[f"{inner}!attachment:budget.csv"].depth == 2


def test_attached_message_bytes_are_kept_verbatim() -> None:
    data = fx.meeting_eml()
    extraction = direct("meeting.eml", EML)
    inner = next(c for c in extraction.children if c.name.endswith(".eml"))
    assert inner.data in data
    assert inner.data.startswith(b"From: Mathieu Vasseur")


def test_reversed_hops_keep_header_order() -> None:
    f = run("reversed_hops.eml")[0].fields
    assert f["email.received"] == (
        f"imap.{DOMAIN} | mx1.{DOMAIN} | 2017-05-03T14:10:00+02:00",
        f"mx1.{DOMAIN} | relay.hebergeur-exemple.net | 2017-05-03T15:40:00+02:00",
        "relay.hebergeur-exemple.net | [10.0.0.99] | 2017-05-03T12:09:30+00:00",
    )
    # first/last follow the header order, so the 13:40 UTC middle hop shows as an anomaly.
    assert f["email.received_first"] == datetime(2017, 5, 3, 12, 9, 30, tzinfo=UTC)
    assert f["email.received_last"] == datetime(2017, 5, 3, 12, 10, tzinfo=UTC)
    assert f["email.x_mailer"] == ("Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Thunderbird/45.8.0")
    assert "email.attachments" not in f


def test_broken_message_is_partial_with_reasons() -> None:
    records = by_path(run("broken.eml"))
    record = records["broken.eml"]
    assert record.status is Status.PARTIAL
    codes = {i.code for i in record.issues}
    assert codes == {"bad_header", "bad_date", "bad_thread_index", "malformed"}
    assert any("CloseBoundaryNotFoundDefect" in i.message for i in record.issues)
    f = record.fields
    assert f["email.from"] == f"Elodie Chambreuil <elodie@{DOMAIN}>"
    assert f["email.to"] == (f"julien@{DOMAIN}",)
    assert f["email.subject"] == "=?utf-8?B?!!!pas-du-base64?="
    assert f["email.message_id"] == "<<<>>>"
    assert f["email.received"] == (" |  | ",)
    assert "email.date" not in f
    assert f["text.sample"] == "Texte avant la coupure."
    assert f["email.attachments"] == ("rapport.pdf",)
    assert "broken.eml!attachment:rapport.pdf" in records


def test_mailbox_children_provenance() -> None:
    records = by_path(run("mailbox.mbox"))
    first = f"mailbox.mbox!<20170504081500.1001@{DOMAIN}>"
    third = "mailbox.mbox!<news-2017-18@lettre-exemple.org>"
    assert set(records) == {
        "mailbox.mbox",
        first,
        f"{first}!attachment:notes.txt",
        f"{first}!attachment:dossier.zip",
        f"{first}!attachment:dossier.zip!dossier/plan.txt",
        "mailbox.mbox!message:2",
        third,
    }
    top = records["mailbox.mbox"]
    assert top.mime == MBOX
    assert top.status is Status.OK
    assert top.fields["email.message_count"] == 3
    assert records[first].fields["email.attachment_count"] == 2
    assert records[first].fields["text.sample"] == (
        "Les notes et le dossier sont joints.\n>From the campaign office, with thanks."
    )
    assert records["mailbox.mbox!message:2"].fields["email.subject"] == "Sans identifiant"
    assert "email.message_id" not in records["mailbox.mbox!message:2"].fields
    assert records[third].fields["links.external"] == ("http://pixel.tracker.example/o.gif?u=4821",)
    assert records[third].fields["text.sample"] == "Les nouvelles de la semaine."
    assert records[f"{first}!attachment:dossier.zip!dossier/plan.txt"].depth == 3


def test_mbox_split_strips_envelope_and_separator() -> None:
    data = (
        b"From a@b.example Thu May  4 08:15:02 2017\r\nSubject: one\r\n\r\nbody\r\n\r\n"
        b"From b@b.example Thu May  4 09:00:03 2017\r\nSubject: two\r\n\r\n"
        b"From nowhere to here\r\n"
    )
    assert list(_split_mbox(io.BytesIO(data))) == [
        b"Subject: one\r\n\r\nbody\r\n",
        b"Subject: two\r\n\r\nFrom nowhere to here\r\n",
    ]


def test_duplicate_message_ids_get_positions() -> None:
    message = b"Subject: x\nMessage-ID: <same@example.org>\n\nbody\n"
    data = b"".join(b"From x@y Thu May  4 08:15:02 2017\n" + message + b"\n" for _ in range(2))
    extraction = extract(Source(name="dup.mbox", mime=MBOX, size=len(data), data=data))
    assert [c.name for c in extraction.children] == ["<same@example.org>", "message:2"]
    assert extraction.fields["email.message_count"] == 2


def test_outlook_msg_facts() -> None:
    record = run("outlook.msg")[0]
    assert record.mime == MSG
    assert record.status is Status.OK
    assert record.issues == ()
    f = record.fields
    assert f["email.subject"] == f["doc.title"] == "Point presse du 4 mai"
    assert f["email.from"] == f"Julien Marchetti <julien.marchetti@{DOMAIN}>"
    assert f["doc.author"] == "Julien Marchetti"
    assert f["email.to"] == (f"Camille Durand-Lefort <camille.durand-lefort@{DOMAIN}>",)
    assert f["email.message_id"] == f"<AM4PR0701MB2130.4477@{DOMAIN}>"
    assert f["email.has_transport_headers"] is True
    assert f["email.date"] == datetime(2017, 5, 3, 12, 30, tzinfo=UTC)
    assert f["email.date_offset"] == "+02:00"
    assert f["email.submit_time"] == fx.MSG_SUBMIT
    assert f["email.delivery_time"] == fx.MSG_DELIVERY
    assert f["doc.created"] == fx.MSG_CREATED
    assert f["doc.modified"] == fx.MSG_MODIFIED
    assert f["doc.last_modified_by"] == "Георгий Петровский"
    assert f["doc.codepage"] == 1251
    assert f["meta.foreign_strings"] == ("doc.last_modified_by:Cyrillic",)
    assert f["email.x_mailer"] == "Microsoft Outlook 16.0"
    assert f["email.dkim_domains"] == (DOMAIN,)
    assert f["email.received"] == (
        f"mail.{DOMAIN} | relay.hebergeur-exemple.net | 2017-05-03T14:30:06+02:00",
        "relay.hebergeur-exemple.net | [10.0.0.41] | 2017-05-03T12:30:02+00:00",
    )
    assert f["email.thread_index_time"] == THREAD_TIME
    assert f["email.thread_index_children"] == 2
    assert f["links.external"] == ("https://partage.campagne-exemple.fr/presse",)
    assert f["text.language"] == "fr"
    assert f["email.attachments"] == ("communique.txt", "Liste des journalistes.eml")
    assert record.raw["__substg1.0_3FFA001E"] == "Георгий Петровский"
    assert record.raw["__properties_version1.0:30080040"] == "2017-05-05T22:47:13+00:00"


def test_outlook_msg_children() -> None:
    records = by_path(run("outlook.msg"))
    embedded = "outlook.msg!attachment:Liste des journalistes.eml"
    assert set(records) == {
        "outlook.msg",
        "outlook.msg!attachment:communique.txt",
        embedded,
        f"{embedded}!attachment:contacts.csv",
    }
    assert records["outlook.msg!attachment:communique.txt"].sha256 == sha(
        b"Communique de presse : conference jeudi 4 mai, 10h.\n"
    )
    inner = records[embedded].fields
    assert inner["email.from"] == f"Elodie Chambreuil <elodie.chambreuil@{DOMAIN}>"
    assert inner["email.subject"] == "Liste des journalistes"
    assert inner["email.date"] == datetime(2017, 5, 2, 9, 0, tzinfo=UTC)
    assert records[f"{embedded}!attachment:contacts.csv"].sha256 == sha(
        b"nom;media\nA. Exemple;Quotidien\n"
    )


def test_truncated_msg_is_an_error_with_reason() -> None:
    record = run("outlook_truncated.msg")[0]
    assert record.status is Status.ERROR
    assert record.issues[-1].code == "corrupt"
    assert record.issues[-1].message == "no MAPI property found"


def test_hostile_headers_do_not_raise() -> None:
    data = (
        b"From: \xff\xfe <<@@>>, =?x-unknown?Q?abc?=\n"
        b"To: undisclosed-recipients:;\n"
        b"Date: Wed, 03 May 2017 14:05:00 -0000\n"
        b"DKIM-Signature: d=\n"
        b"Content-Type: multipart/mixed; boundary=\n\n--\n"
    )
    extraction = extract(Source(name="x.eml", mime=EML, size=len(data), data=data))
    assert extraction.fields["email.to"] == ("undisclosed-recipients:;",)
    assert extraction.fields["email.date"] == datetime(2017, 5, 3, 14, 5, tzinfo=UTC)
    assert extraction.fields["doc.created_tz_known"] is False
    assert "email.dkim_domains" not in extraction.fields


def test_no_header_is_corrupt() -> None:
    data = b"\n\njust text"
    with pytest.raises(ExtractionError):
        extract(Source(name="x.eml", mime=EML, size=len(data), data=data))


_SEEDS = {name: fx.FIXTURES[name]() for name in ("meeting.eml", "mailbox.mbox", "outlook.msg")}
_MIMES = {"meeting.eml": EML, "mailbox.mbox": MBOX, "outlook.msg": MSG}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(_SEEDS)),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=8),
)
def test_damaged_inputs_give_declared_outcomes(
    name: str, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(_SEEDS[name][: max(1, int(len(_SEEDS[name]) * cut))])
    for where, mask in flips:
        data[min(len(data) - 1, int(len(data) * where))] ^= mask
    blob = bytes(data)
    try:
        extraction = extract(Source(name=name, mime=_MIMES[name], size=len(blob), data=blob))
    except ExtractionError:
        return
    assert isinstance(extraction, Extraction)
    assert all(c.name for c in extraction.children)


def test_address_headers_keep_what_the_client_shows() -> None:
    data = (
        b"From: alice@example.com <bob@example.org>\n"
        b"To: bbb@ddd.example (John X. Doe), =?gb2312?B?1tazobrP19Q=?= <c@ddd.example>\n"
        b"Subject: =?gb2312?B?ztKw0b61zbfArb380KmjrA==?=\n\nbody\n"
    )
    f = extract(Source(name="x.eml", mime=EML, size=len(data), data=data)).fields
    # The strict parser would drop the real address hidden behind an address-like name.
    assert f["email.from"] == "alice@example.com <bob@example.org>"
    assert f["doc.author"] == "alice@example.com"
    assert f["email.to"] == ("John X. Doe <bbb@ddd.example>", "种场合自 <c@ddd.example>")
    # Declared gb2312, written in its superset GB18030, as mail clients do.
    assert f["email.subject"] == "我把镜头拉近些，"


def test_huge_headers_are_cut_with_a_reason() -> None:
    data = b"From: a@b.example\nTo: " + b"x@y.example, " * 50_000 + b"\n\nbody\n"
    extraction = extract(Source(name="x.eml", mime=EML, size=len(data), data=data))
    assert extraction.status is Status.PARTIAL
    assert [i.code for i in extraction.issues] == ["limit.header_size"]
    assert len(extraction.fields["email.to"]) == 500
