"""Email fixtures: .eml messages, an mbox mailbox and an Outlook .msg, all with fixed values.

Messages are written with the stdlib ``EmailMessage`` (fixed Date, Message-ID and MIME
boundaries, so two builds are byte-identical); the .msg is a compound file from ``_cfb``
holding MAPI property streams as Outlook writes them (MS-OXMSG).
"""

from __future__ import annotations

import base64
import struct
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

from corpus_fixtures import FOREIGN_PEOPLE, PEOPLE
from corpus_fixtures.builders._cfb import build_cfb, filetime
from corpus_fixtures.builders.archive import zip_bytes

DOMAIN = "campagne-exemple.fr"
_POLICY = policy.default.clone(linesep="\r\n")
THREAD_START = datetime(2017, 5, 3, 12, 4, 0, tzinfo=UTC)
"""When the invented meeting thread began (the Thread-Index keeps its high 48 bits)."""
THREAD_GUID = uuid.UUID("6f1c2a8e-3b5d-4e7f-9a10-2b3c4d5e6f70")
"""Conversation GUID planted in the Thread-Index."""


def address(person: str) -> str:
    """``Name <first.last@campagne-exemple.fr>`` for an invented staff member."""
    local = person.lower().replace(" ", ".")
    return f"{person} <{local}@{DOMAIN}>"


def thread_index(start: datetime, guid: uuid.UUID, replies: int = 0) -> bytes:
    """Outlook's Thread-Index: 6 high bytes of the FILETIME, the GUID, 5 bytes per reply."""
    header = (filetime(start) >> 16).to_bytes(6, "big") + guid.bytes_le
    return header + b"\x00\x00\x9c\x40\x10" * replies


def _message(headers: list[tuple[str, str]]) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    for name, value in headers:
        message[name] = value
    return message


def _inner_budget_message() -> EmailMessage:
    """The forwarded message attached to meeting.eml; it carries budget.csv."""
    inner = _message(
        [
            ("From", address(PEOPLE[3])),
            ("To", address(PEOPLE[0])),
            ("Subject", "Budget prévisionnel"),
            ("Date", "Tue, 02 May 2017 18:12:00 +0200"),
            ("Message-ID", f"<20170502161200.1177@{DOMAIN}>"),
        ]
    )
    inner.set_content("Voici le budget prévisionnel du deuxième tour.\n")
    inner.add_attachment(
        b"poste;montant\nsalles;12000\naffiches;8500\n",
        maintype="text",
        subtype="csv",
        filename="budget.csv",
    )
    inner.set_boundary("=_inner_budget_0001")
    return inner


MEETING_BODY = (
    "Bonjour à tous,\n\n"
    "Voici l'ordre du jour de la réunion de coordination de jeudi. Merci de relire les notes "
    "jointes et de préparer vos remarques sur le budget prévisionnel avant la réunion.\n"
    "Le document partagé : https://docs.campagne-exemple.fr/ordre-du-jour\n\n"
    "Bien cordialement,\nCamille\n"
)


def meeting_eml() -> bytes:
    """Multipart French message: text, notes.txt, annexes.zip and a forwarded message."""
    ti = base64.b64encode(thread_index(THREAD_START, THREAD_GUID, replies=1)).decode("ascii")
    message = _message(
        [
            (
                "Received",
                f"from mx1.{DOMAIN} (mx1.{DOMAIN} [192.0.2.10]) by imap.{DOMAIN} (Postfix)"
                " with ESMTP id 4A1B2C3D; Wed, 03 May 2017 14:05:09 +0200 (CEST)",
            ),
            (
                "Received",
                "from relay.hebergeur-exemple.net (relay.hebergeur-exemple.net"
                f" [198.51.100.7]) by mx1.{DOMAIN} (Postfix) with ESMTPS id 5E6F7A8B;"
                " Wed, 03 May 2017 12:05:07 +0000",
            ),
            (
                "Received",
                "from [10.0.0.23] (unknown [203.0.113.45]) by relay.hebergeur-exemple.net"
                " (Postfix) with ESMTPSA id 9C0D1E2F; Wed, 03 May 2017 14:05:03 +0200",
            ),
            (
                "DKIM-Signature",
                f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={DOMAIN}; s=mail2017;"
                " t=1493813103; h=from:to:cc:subject:date:message-id;"
                " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;"
                " b=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==",
            ),
            ("From", address(PEOPLE[0])),
            ("To", f"{address(PEOPLE[1])}, {address(PEOPLE[2])}"),
            ("Cc", address(PEOPLE[3])),
            ("Subject", "Réunion de coordination du jeudi 4 mai"),
            ("Date", "Wed, 03 May 2017 14:05:00 +0200"),
            ("Message-ID", f"<20170503120500.4821@{DOMAIN}>"),
            ("In-Reply-To", f"<20170502161200.1177@{DOMAIN}>"),
            ("References", f"<20170428090000.0042@{DOMAIN}> <20170502161200.1177@{DOMAIN}>"),
            ("X-Mailer", "Microsoft Outlook 16.0"),
            ("Thread-Index", ti),
        ]
    )
    message.set_content(MEETING_BODY)
    message.add_attachment(
        "Points à aborder :\n- salles\n- affiches\n- agenda du candidat\n",
        subtype="plain",
        filename="notes.txt",
    )
    message.add_attachment(
        zip_bytes([("annexes/annexe1.txt", b"Annexe 1 : liste des salles.\n")]),
        maintype="application",
        subtype="zip",
        filename="annexes.zip",
    )
    message.add_attachment(_inner_budget_message())
    message.set_boundary("=_meeting_0001")
    # Set last: making the message multipart moves Content-* headers into the first part.
    message["Content-Language"] = "fr-FR"
    return message.as_bytes()


def reversed_hops_eml() -> bytes:
    """A message whose Received times run backwards: the middle hop is later than the top."""
    message = _message(
        [
            (
                "Received",
                f"from mx1.{DOMAIN} by imap.{DOMAIN}; Wed, 03 May 2017 14:10:00 +0200",
            ),
            (
                "Received",
                f"from relay.hebergeur-exemple.net by mx1.{DOMAIN};"
                " Wed, 03 May 2017 15:40:00 +0200",
            ),
            (
                "Received",
                "from [10.0.0.99] by relay.hebergeur-exemple.net; Wed, 03 May 2017 12:09:30 +0000",
            ),
            ("From", address(PEOPLE[1])),
            ("To", address(PEOPLE[0])),
            ("Subject", "Re: affiches"),
            ("Date", "Wed, 03 May 2017 14:09:00 +0200"),
            ("Message-ID", f"<20170503120900.7310@{DOMAIN}>"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:45.0) Thunderbird/45.8.0"),
        ]
    )
    message.set_content("Les affiches sont prêtes.\n")
    return message.as_bytes()


def attachment_eml(filename: str, data: bytes, maintype: str, subtype: str) -> bytes:
    """A short message carrying one attached file ``filename`` (``maintype/subtype``)."""
    message = _message(
        [
            ("From", address(PEOPLE[2])),
            ("To", address(PEOPLE[0])),
            ("Subject", "Pièce jointe"),
            ("Date", "Thu, 04 May 2017 09:20:00 +0200"),
            ("Message-ID", f"<20170504072000.5120@{DOMAIN}>"),
        ]
    )
    message.set_content("Ci-joint le document.\n")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    message.set_boundary("=_attachment_0001")
    return message.as_bytes()


def broken_eml() -> bytes:
    """Garbage headers and a multipart body cut off inside a base64 attachment."""
    return (
        f"From: {PEOPLE[4]} <elodie@{DOMAIN}>\r\n"
        f"To: julien@{DOMAIN}\r\n"
        "Subject: =?utf-8?B?!!!pas-du-base64?=\r\n"
        "Date: Thu, 45 Foo 2017 99:99:99 +9999\r\n"
        "Message-ID: <<<>>>\r\n"
        "Received: garbage without a time\r\n"
        "Thread-Index: !!!notbase64\r\n"
        "X-Garbage: \xff\xfe\x01\r\n"
        'Content-Type: multipart/mixed; boundary="BRK"\r\n'
        "\r\n"
        "--BRK\r\n"
        "Content-Type: text/plain; charset=x-no-such-charset\r\n"
        "\r\n"
        "Texte avant la coupure.\r\n"
        "--BRK\r\n"
        "Content-Type: application/pdf; name=rapport.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=rapport.pdf\r\n"
        "\r\n"
        "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+Pgpz"
    ).encode("latin-1")


def _mbox_message(headers: list[tuple[str, str]], body: str, html: bool = False) -> EmailMessage:
    message = _message(headers)
    message.set_content(body, subtype="html" if html else "plain")
    return message


def mailbox_mbox() -> bytes:
    """Three messages: one with attachments (one a zip), one without Message-ID, one HTML."""
    first = _mbox_message(
        [
            ("From", address(PEOPLE[2])),
            ("To", address(PEOPLE[0])),
            ("Subject", "Notes de la réunion"),
            ("Date", "Thu, 04 May 2017 10:15:00 +0200"),
            ("Message-ID", f"<20170504081500.1001@{DOMAIN}>"),
        ],
        "Les notes et le dossier sont joints.\n>From the campaign office, with thanks.\n",
    )
    first.add_attachment("Décisions : salles réservées.\n", subtype="plain", filename="notes.txt")
    first.add_attachment(
        zip_bytes([("dossier/plan.txt", b"Plan de tournee.\n")]),
        maintype="application",
        subtype="zip",
        filename="dossier.zip",
    )
    first.set_boundary("=_mbox_first_0001")
    second = _mbox_message(
        [
            ("From", address(PEOPLE[4])),
            ("To", address(PEOPLE[2])),
            ("Subject", "Sans identifiant"),
            ("Date", "Thu, 04 May 2017 11:00:00 +0200"),
        ],
        "Ce message n'a pas de Message-ID.\n",
    )
    third = _mbox_message(
        [
            ("From", "Lettre d'information <news@lettre-exemple.org>"),
            ("To", address(PEOPLE[0])),
            ("Subject", "Votre lettre hebdomadaire"),
            ("Date", "Fri, 05 May 2017 07:00:00 +0000"),
            ("Message-ID", "<news-2017-18@lettre-exemple.org>"),
        ],
        "<html><body><p>Les nouvelles de la semaine.</p>"
        '<img src="http://pixel.tracker.example/o.gif?u=4821" width="1" height="1">'
        "</body></html>\n",
        html=True,
    )
    envelopes = (
        f"From {PEOPLE[2].lower().replace(' ', '.')}@{DOMAIN} Thu May  4 08:15:02 2017",
        f"From {PEOPLE[4].lower().replace(' ', '.')}@{DOMAIN} Thu May  4 09:00:03 2017",
        "From news@lettre-exemple.org Fri May  5 07:00:04 2017",
    )
    out = bytearray()
    for envelope, message in zip(envelopes, (first, second, third), strict=True):
        out += envelope.encode("ascii") + b"\n"
        out += message.as_bytes(policy=policy.default).rstrip(b"\n") + b"\n\n"
    return bytes(out)


# --- Outlook .msg --------------------------------------------------------------------------

MSG_SUBMIT = datetime(2017, 5, 3, 12, 30, 0, tzinfo=UTC)
MSG_DELIVERY = datetime(2017, 5, 3, 12, 30, 7, tzinfo=UTC)
MSG_CREATED = datetime(2017, 5, 3, 12, 30, 8, tzinfo=UTC)
MSG_MODIFIED = datetime(2017, 5, 5, 22, 47, 13, tzinfo=UTC)
"""Last modification two days after delivery, by a Cyrillic-named account."""


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _properties(header: int, entries: list[tuple[int, int, int]]) -> bytes:
    """A __properties_version1.0 stream: a ``header``-byte block then 16-byte entries."""
    out = bytearray(header)
    if header == 32:
        struct.pack_into("<IIII", out, 8, 1, 2, 1, 2)
    for ptype, pid, value in entries:
        out += struct.pack("<HHIQ", ptype, pid, 6, value)
    return bytes(out)


TRANSPORT_HEADERS = (
    f"Received: from relay.hebergeur-exemple.net (198.51.100.7) by mail.{DOMAIN}\r\n"
    " (192.0.2.20) with Microsoft SMTP Server id 15.1.845.34; Wed, 3 May 2017\r\n"
    " 14:30:06 +0200\r\n"
    f"Received: from [10.0.0.41] by relay.hebergeur-exemple.net; Wed, 3 May 2017\r\n"
    " 12:30:02 +0000\r\n"
    f"DKIM-Signature: v=1; a=rsa-sha256; d={DOMAIN}; s=mail2017; h=from:subject;\r\n"
    " bh=Zm9v; b=YmFy\r\n"
    f"From: {address(PEOPLE[1])}\r\n"
    f"To: {address(PEOPLE[0])}\r\n"
    "Subject: Point presse\r\n"
    "Date: Wed, 3 May 2017 14:30:00 +0200\r\n"
    f"Message-ID: <AM4PR0701MB2130.4477@{DOMAIN}>\r\n"
    "X-Mailer: Microsoft Outlook 16.0\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
)


def outlook_msg() -> bytes:
    """An Outlook message with transport headers, a CSV and an embedded message with a file."""
    t_long, t_time = 0x0003, 0x0040
    embedded = "__attach_version1.0_#00000001/__substg1.0_3701000D/"
    conversation = thread_index(THREAD_START, THREAD_GUID, replies=2)
    streams: dict[str, bytes] = {
        "__properties_version1.0": _properties(
            32,
            [
                (t_time, 0x0039, filetime(MSG_SUBMIT)),
                (t_time, 0x0E06, filetime(MSG_DELIVERY)),
                (t_time, 0x3007, filetime(MSG_CREATED)),
                (t_time, 0x3008, filetime(MSG_MODIFIED)),
                (t_long, 0x3FFD, 1251),
            ],
        ),
        "__substg1.0_001A001F": _utf16("IPM.Note"),
        "__substg1.0_0037001F": _utf16("Point presse du 4 mai"),
        "__substg1.0_0C1A001F": _utf16(PEOPLE[1]),
        "__substg1.0_0C1F001F": _utf16(f"julien.marchetti@{DOMAIN}"),
        "__substg1.0_0E04001F": _utf16(PEOPLE[0]),
        "__substg1.0_1000001F": _utf16(
            "Bonjour Camille, le point presse est confirmé pour jeudi à dix heures. "
            "Le dossier est sur https://partage.campagne-exemple.fr/presse et le "
            "communiqué est joint.\r\n"
        ),
        "__substg1.0_1035001F": _utf16(f"<AM4PR0701MB2130.4477@{DOMAIN}>"),
        "__substg1.0_007D001F": _utf16(TRANSPORT_HEADERS),
        "__substg1.0_00710102": conversation,
        "__substg1.0_3FFA001E": FOREIGN_PEOPLE[0].encode("cp1251"),
        "__recip_version1.0_#00000000/__properties_version1.0": _properties(
            8, [(t_long, 0x0C15, 1)]
        ),
        "__recip_version1.0_#00000000/__substg1.0_3001001F": _utf16(PEOPLE[0]),
        "__recip_version1.0_#00000000/__substg1.0_39FE001F": _utf16(
            f"camille.durand-lefort@{DOMAIN}"
        ),
        "__attach_version1.0_#00000000/__properties_version1.0": _properties(
            8, [(t_long, 0x3705, 1)]
        ),
        "__attach_version1.0_#00000000/__substg1.0_3707001F": _utf16("communique.txt"),
        "__attach_version1.0_#00000000/__substg1.0_37010102": (
            b"Communique de presse : conference jeudi 4 mai, 10h.\n"
        ),
        "__attach_version1.0_#00000001/__properties_version1.0": _properties(
            8, [(t_long, 0x3705, 5)]
        ),
        "__attach_version1.0_#00000001/__substg1.0_3001001F": _utf16("Liste des journalistes"),
        embedded + "__properties_version1.0": _properties(
            24, [(t_time, 0x0039, filetime(datetime(2017, 5, 2, 9, 0, 0, tzinfo=UTC)))]
        ),
        embedded + "__substg1.0_0037001F": _utf16("Liste des journalistes"),
        embedded + "__substg1.0_0C1A001F": _utf16(PEOPLE[4]),
        embedded + "__substg1.0_0C1F001F": _utf16(f"elodie.chambreuil@{DOMAIN}"),
        embedded + "__substg1.0_0E04001F": _utf16(PEOPLE[1]),
        embedded + "__substg1.0_1000001F": _utf16("La liste est jointe.\r\n"),
        embedded + "__attach_version1.0_#00000000/__properties_version1.0": _properties(
            8, [(t_long, 0x3705, 1)]
        ),
        embedded + "__attach_version1.0_#00000000/__substg1.0_3707001F": _utf16("contacts.csv"),
        embedded + "__attach_version1.0_#00000000/__substg1.0_37010102": (
            b"nom;media\nA. Exemple;Quotidien\n"
        ),
    }
    return build_cfb(streams, created=MSG_CREATED, modified=MSG_MODIFIED)


FIXTURES: dict[str, Callable[[], bytes]] = {
    "meeting.eml": meeting_eml,
    "reversed_hops.eml": reversed_hops_eml,
    "broken.eml": broken_eml,
    "mailbox.mbox": mailbox_mbox,
    "outlook.msg": outlook_msg,
    "outlook_truncated.msg": lambda: outlook_msg()[:3000],
}
"""Email fixtures: a full multipart message, a reversed Received chain, a broken message,
a three-message mailbox, an Outlook message and a truncated copy of it."""
