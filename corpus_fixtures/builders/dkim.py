"""DKIM fixtures: a mailbox of signed, tampered and unsigned messages, its key store, a Maildir.

Keys are RSA keys generated from fixed seeds by a small deterministic generator (Miller-Rabin
over ``random.Random(seed)``), so two builds are byte-identical; they are test keys for the
invented domain ``campagne-exemple.fr`` and sign nothing real. Messages are signed with
dkimpy at a fixed ``t=`` (dkimpy stamps the signing time from the clock; the builder hands it
a fixed one). Tampered copies change the body, the Subject, the From or the Date of a signed
message, the edits a forger makes.
"""

from __future__ import annotations

import base64
import random
import re
import types
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from functools import lru_cache

import dkim

from corpus_fixtures import PEOPLE
from corpus_fixtures.builders.archive import zip_bytes
from corpus_fixtures.builders.email import DOMAIN, address

SELECTOR = "mail2017"
"""Selector of the campaign's signing key (its record is in ``dkim_keys.txt``)."""
WEAK_SELECTOR = "old512"
"""Selector of a 512-bit key: a pass under it proves little."""
REVOKED_SELECTOR = "mail2016"
"""Selector whose archived record has an empty ``p=``: the key was revoked."""
MISSING_SELECTOR = "absent"
"""Selector with no record in the key store."""
SIGNED_AT = int(datetime(2017, 5, 4, 8, 0, 0, tzinfo=UTC).timestamp())
"""The fixed ``t=`` of every fixture signature."""
_POLICY = policy.default.clone(linesep="\r\n")
_OID_RSA = bytes.fromhex("06092a864886f70d0101010500")


# --- deterministic RSA keys ------------------------------------------------------------------


def _probable_prime(bits: int, rng: random.Random) -> int:
    small = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if any(candidate % p == 0 for p in small):
            continue
        d, r = candidate - 1, 0
        while d % 2 == 0:
            d, r = d // 2, r + 1
        for _ in range(24):
            x = pow(rng.randrange(2, candidate - 2), d, candidate)
            if x in (1, candidate - 1):
                continue
            for _ in range(r - 1):
                x = pow(x, 2, candidate)
                if x == candidate - 1:
                    break
            else:
                break
        else:
            return candidate


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_int(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return _der(0x02, raw)


@lru_cache(maxsize=8)
def rsa_key(bits: int, seed: int) -> tuple[bytes, str]:
    """(PKCS#1 PEM private key, DKIM TXT record) of an RSA key made from ``seed``."""
    rng = random.Random(seed)
    e = 65537
    while True:
        p = _probable_prime(bits // 2, rng)
        q = _probable_prime(bits - bits // 2, rng)
        phi = (p - 1) * (q - 1)
        if p != q and phi % e and (p * q).bit_length() == bits:
            break
    n, d = p * q, pow(e, -1, phi)
    private = _der(
        0x30,
        b"".join(_der_int(v) for v in (0, n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))),
    )
    body = base64.b64encode(private).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *lines, "-----END RSA PRIVATE KEY-----"])
    public = _der(
        0x30, _der(0x30, _OID_RSA) + _der(0x03, b"\x00" + _der(0x30, _der_int(n) + _der_int(e)))
    )
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode("ascii")
    return (pem + "\n").encode("ascii"), record


def campaign_key() -> tuple[bytes, str]:
    """The campaign's 1024-bit signing key (selector ``mail2017``)."""
    return rsa_key(1024, 2017)


def weak_key() -> tuple[bytes, str]:
    """A 512-bit key (selector ``old512``)."""
    return rsa_key(512, 512)


# --- signing ---------------------------------------------------------------------------------


class _FixedClock(types.SimpleNamespace):
    """Stands in for dkimpy's ``time`` module while signing, so ``t=`` is fixed."""

    def time(self) -> float:
        return float(SIGNED_AT)


def sign(
    message: bytes,
    selector: str = SELECTOR,
    key: bytes | None = None,
    headers: Sequence[str] = ("from", "to", "subject", "date", "message-id"),
    length: bool = False,
    domain: str = DOMAIN,
) -> bytes:
    """``message`` with a DKIM-Signature (relaxed/simple) prepended, signed at ``SIGNED_AT``."""
    real = dkim.time
    dkim.time = _FixedClock()
    try:
        header = dkim.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            key or campaign_key()[0],
            include_headers=[h.encode("ascii") for h in headers],
            length=length,
        )
    finally:
        dkim.time = real
    return bytes(header) + message


def key_store() -> bytes:
    """The archived key records, one ``selector._domainkey.domain record`` per line."""
    return (
        "# Archived DKIM keys of the invented campaign (test keys)\n"
        f"{SELECTOR}._domainkey.{DOMAIN} {campaign_key()[1]}\n"
        f'{WEAK_SELECTOR}._domainkey.{DOMAIN}. 3600 IN TXT "{weak_key()[1][:40]}" '
        f'"{weak_key()[1][40:]}"\n'
        f"{REVOKED_SELECTOR}._domainkey.{DOMAIN} v=DKIM1; k=rsa; p=\n"
    ).encode("ascii")


# --- messages --------------------------------------------------------------------------------


def _message(
    sender: str, subject: str, date: str, message_id: str, body: str, **extra: str
) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = address(PEOPLE[0])
    message["Subject"] = subject
    message["Date"] = date
    message["Message-ID"] = message_id
    for name, value in extra.items():
        message[name.replace("_", "-")] = value
    message.set_content(body, cte="8bit")
    return message


BODY = (
    "Bonjour Camille,\n\n"
    "Le virement de 12 000 euros pour la location des salles est parti ce matin.\n"
    "From the treasurer: the receipt follows by post.\n\n"
    "Julien\n"
)
TAMPERED_BODY = BODY.replace("12 000", "120 000")
ORIGINAL_ID = f"<20170504080000.2001@{DOMAIN}>"


def original() -> bytes:
    """The genuine, unsigned message the signed fixtures start from."""
    return _message(
        address(PEOPLE[1]),
        "Virement salles",
        "Thu, 04 May 2017 10:00:00 +0200",
        ORIGINAL_ID,
        BODY,
    ).as_bytes()


def _replace_header(data: bytes, name: str, value: str) -> bytes:
    pattern = re.compile(rb"^" + name.encode("ascii") + rb": [^\r\n]*", re.MULTILINE)
    changed, count = pattern.subn(f"{name}: {value}".encode(), data, count=1)
    assert count == 1, name
    return changed


def signed() -> bytes:
    """The message signed by the campaign's server: verifies."""
    return sign(original())


def tampered_body() -> bytes:
    """A signed copy whose amount was changed in the body: fail_body."""
    return signed().replace(
        BODY.replace("\n", "\r\n").encode(), TAMPERED_BODY.replace("\n", "\r\n").encode()
    )


def tampered_subject() -> bytes:
    """A signed copy with another Subject: fail_signature."""
    return _replace_header(signed(), "Subject", "Virement salles et affiches")


def tampered_from() -> bytes:
    """A signed copy put in another sender's name: fail_signature."""
    return _replace_header(signed(), "From", address(PEOPLE[3]))


def tampered_date() -> bytes:
    """A signed copy re-dated a week earlier: fail_signature."""
    return _replace_header(signed(), "Date", "Thu, 27 Apr 2017 10:00:00 +0200")


def unsigned() -> bytes:
    """A message with no signature at all."""
    return _message(
        address(PEOPLE[2]),
        "Affiches",
        "Thu, 04 May 2017 11:00:00 +0200",
        f"<20170504090000.2002@{DOMAIN}>",
        "Les affiches arrivent demain.\n",
    ).as_bytes()


def unknown_selector() -> bytes:
    """Signed with a selector the key store does not hold: no_key."""
    data = _message(
        address(PEOPLE[4]),
        "Agenda",
        "Thu, 04 May 2017 12:00:00 +0200",
        f"<20170504100000.2003@{DOMAIN}>",
        "Agenda de la semaine prochaine.\n",
    ).as_bytes()
    return sign(data, selector=MISSING_SELECTOR)


def weak_signed() -> bytes:
    """Signed under the 512-bit key, Subject left out of h=: a pass that proves little."""
    data = _message(
        address(PEOPLE[1]),
        "Ancienne clé",
        "Thu, 04 May 2017 13:00:00 +0200",
        f"<20170504110000.2004@{DOMAIN}>",
        "Signé avec l'ancienne clé.\n",
    ).as_bytes()
    return sign(data, selector=WEAK_SELECTOR, key=weak_key()[0], headers=("from", "date"))


def revoked_signed() -> bytes:
    """Signed under a selector whose key was revoked (empty p=): key_revoked."""
    data = _message(
        address(PEOPLE[1]),
        "Clé révoquée",
        "Thu, 04 May 2017 14:00:00 +0200",
        f"<20170504120000.2005@{DOMAIN}>",
        "Message signé avec une clé révoquée depuis.\n",
    ).as_bytes()
    return sign(data, selector=REVOKED_SELECTOR)


APPENDED = "\r\nPS : merci de virer aussi 30 000 euros sur le compte habituel.\r\n"


def length_limited() -> bytes:
    """Signed with l= (body length), then a paragraph appended after the signed part."""
    data = _message(
        address(PEOPLE[1]),
        "Salles",
        "Thu, 04 May 2017 15:00:00 +0200",
        f"<20170504130000.2006@{DOMAIN}>",
        "Les salles sont réservées.\n",
    ).as_bytes()
    return sign(data, length=True) + APPENDED.encode("utf-8")


def early_reply() -> bytes:
    """A reply to the signed message dated a day before it: impossible in a genuine thread."""
    return _message(
        address(PEOPLE[0]),
        "Re: Virement salles",
        "Wed, 03 May 2017 09:00:00 +0200",
        f"<20170503070000.2007@{DOMAIN}>",
        "Bien reçu, merci.\n",
        In_Reply_To=ORIGINAL_ID,
        References=ORIGINAL_ID,
    ).as_bytes()


def genuine_reply() -> bytes:
    """A reply to the signed message, an hour after it."""
    return _message(
        address(PEOPLE[0]),
        "Re: Virement salles",
        "Thu, 04 May 2017 11:05:00 +0200",
        f"<20170504090500.2008@{DOMAIN}>",
        "Parfait, merci Julien.\n",
        In_Reply_To=ORIGINAL_ID,
        References=ORIGINAL_ID,
    ).as_bytes()


MAILBOX: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("signed", signed),
    ("tampered_body", tampered_body),
    ("tampered_subject", tampered_subject),
    ("tampered_from", tampered_from),
    ("tampered_date", tampered_date),
    ("unsigned", unsigned),
    ("unknown_selector", unknown_selector),
    ("weak_signed", weak_signed),
    ("revoked_signed", revoked_signed),
    ("length_limited", length_limited),
    ("genuine_reply", genuine_reply),
    ("early_reply", early_reply),
)
"""The messages of ``signed.mbox``, in order (tampered copies share the original's
Message-ID, so the mailbox names them ``message:N``)."""


def signed_mbox() -> bytes:
    """Every message of ``MAILBOX`` in one mbox (mboxrd: body "From " lines escaped)."""
    out = bytearray()
    for index, (_name, build) in enumerate(MAILBOX):
        data = build()
        body_escaped = re.sub(rb"(?m)^(>*From )", rb">\1", data.split(b"\r\n\r\n", 1)[1])
        head = data.split(b"\r\n\r\n", 1)[0]
        out += f"From julien.marchetti@{DOMAIN} Thu May  4 08:{index:02d}:00 2017\r\n".encode()
        out += head + b"\r\n\r\n" + body_escaped.rstrip(b"\r\n") + b"\r\n\r\n"
    return bytes(out)


# --- Maildir ---------------------------------------------------------------------------------


def maildir_with_attachments() -> bytes:
    """A signed message with a zip attached and a forwarded message inside it (Maildir cur/)."""
    inner = EmailMessage(policy=_POLICY)
    inner["From"] = address(PEOPLE[3])
    inner["To"] = address(PEOPLE[1])
    inner["Subject"] = "Devis imprimeur"
    inner["Date"] = "Tue, 02 May 2017 17:00:00 +0200"
    inner["Message-ID"] = f"<20170502150000.3001@{DOMAIN}>"
    inner.set_content("Le devis est joint.\n")
    inner.add_attachment(
        b"poste;montant\naffiches;8500\n", maintype="text", subtype="csv", filename="devis.csv"
    )
    inner.set_boundary("=_maildir_inner_0001")
    outer = _message(
        address(PEOPLE[1]),
        "Tr: Devis imprimeur",
        "Wed, 03 May 2017 09:30:00 +0200",
        f"<20170503073000.3002@{DOMAIN}>",
        "Je transfère le devis, avec les maquettes.\n",
    )
    outer.add_attachment(
        zip_bytes([("maquettes/affiche.txt", b"Maquette de l'affiche A3.\n")]),
        maintype="application",
        subtype="zip",
        filename="maquettes.zip",
    )
    outer.add_attachment(inner)
    outer.set_boundary("=_maildir_outer_0001")
    return sign(outer.as_bytes())


def maildir_new() -> bytes:
    """A message just delivered: Maildir ``new/``, whose names carry no flags yet."""
    return unsigned()


MAILDIR_MESSAGE = "1493796600.M1P3002.poste-julien:2,RS"
"""File name of the Maildir message (flags R replied, S seen)."""

FIXTURES: dict[str, Callable[[], bytes]] = {
    "signed.mbox": signed_mbox,
    "dkim_keys.txt": key_store,
    f"Maildir/cur/{MAILDIR_MESSAGE}": maildir_with_attachments,
    "Maildir/new/1493800200.M2P2002.poste-julien": maildir_new,
}
"""DKIM fixtures: the signed/tampered mailbox, its key store and a Maildir folder."""
