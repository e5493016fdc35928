"""Web bugs and beacons: every way opening a file contacts a host is extracted as
'mechanism → target' with the host, the decoy rules fire on it, a web address is never
called a Windows share, and plain files trip none of it. Nothing is ever fetched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from corpus_fixtures import planted as P
from corpus_fixtures.builders import email as mail_fx
from corpus_fixtures.builders import misc as misc_fx
from corpus_fixtures.builders import ooxml as ooxml_fx
from corpus_fixtures.builders import pdf as pdf_fx
from corpus_fixtures.builders.archive import zip_bytes
from leaktriage import triage_file
from leaktriage.api import run_scan
from leaktriage.config import ScanConfig
from leaktriage.extractors import Extraction, Source, _pdf_actions, html, pdf
from leaktriage.extractors._links import ARROW, Contacts, host_of, is_share
from leaktriage.model import FileRecord

pymupdf = pdf.pymupdf

NEW_RULES = frozenset(
    {
        "decoy-fetch-on-open",
        "decoy-page-loads-remote-content",
        "decoy-pdf-contacts-host-on-open",
        "decoy-linked-image-web-bug",
    }
)
"""The rules this feature adds."""
BEACON_RULES = NEW_RULES | {
    "decoy-unc-path",
    "decoy-tracking-pixel",
    "decoy-beacon-host",
    "decoy-canarytoken-link",
    "decoy-token-shaped-url",
    "decoy-fetching-field-code",
    "decoy-remote-template",
    "decoy-pdf-script-with-links",
}


def _record(data: bytes, name: str) -> FileRecord:
    return triage_file(data, name=name, workers=0)[0]


def _fired(record: FileRecord) -> dict[str, str]:
    return {f.rule_id: f.message for f in record.findings}


# --- one planted file per mechanism --------------------------------------------------------

MECHANISMS: list[
    tuple[str, Callable[[], bytes], str, str, tuple[str, tuple[str, ...]], set[str]]
] = [
    (
        "revue_de_presse.docx",
        P.revue_de_presse_docx,
        f"linked image in word/footer1.xml{ARROW}{P.WEB_BUG_URL}",
        "stats.revue-presse.example",
        ("ooxml.external_relationships", (f"word/footer1.xml: image{ARROW}{P.WEB_BUG_URL}",)),
        {"decoy-linked-image-web-bug", "decoy-fetch-on-open"},
    ),
    (
        "lettre_militants.docx",
        P.lettre_militants_docx,
        f"attached template in word/settings.xml{ARROW}{P.REMOTE_TEMPLATE_URL}",
        "modeles.atelier-graphique.example",
        (
            "ooxml.external_relationships",
            (f"word/settings.xml: attachedTemplate{ARROW}{P.REMOTE_TEMPLATE_URL}",),
        ),
        {"decoy-remote-template", "decoy-fetch-on-open"},
    ),
    (
        "budget_meetings.xlsx",
        P.budget_meetings_xlsx,
        f"external workbook link in xl/externalLinks/externalLink1.xml{ARROW}{P.EXTERNAL_BOOK_URL}",
        "partage.tresorerie-campagne.example",
        (
            "ooxml.external_relationships",
            (f"xl/externalLinks/externalLink1.xml: externalLinkPath{ARROW}{P.EXTERNAL_BOOK_URL}",),
        ),
        {"decoy-token-shaped-url", "decoy-fetch-on-open"},
    ),
    (
        "accreditation.pdf",
        P.accreditation_open_uri_pdf,
        f"OpenAction: URI{ARROW}{P.OPEN_URI_URL}",
        "accreditations.presse-meeting.example",
        ("pdf.actions", (f"OpenAction: URI{ARROW}{P.OPEN_URI_URL}",)),
        {"decoy-pdf-contacts-host-on-open", "decoy-fetch-on-open"},
    ),
    (
        "programme_meeting.pdf",
        P.programme_page_script_pdf,
        f"page 1 /AA /O (page opened): JavaScript app.launchURL{ARROW}{P.PAGE_SCRIPT_URL}",
        "compteur.meeting-lyon.example",
        (
            "pdf.actions",
            (f"page 1 /AA /O (page opened): JavaScript app.launchURL{ARROW}{P.PAGE_SCRIPT_URL}",),
        ),
        {"decoy-pdf-contacts-host-on-open", "decoy-fetch-on-open"},
    ),
    (
        "facture_0417.pdf",
        P.facture_launch_pdf,
        f"OpenAction: Launch{ARROW}{P.LAUNCH_SHARE}",
        "impressions.prestataire-affiches.example",
        ("pdf.actions", (f"OpenAction: Launch{ARROW}{P.LAUNCH_SHARE}",)),
        {"decoy-pdf-contacts-host-on-open", "decoy-unc-path", "pdf-launch-action"},
    ),
    (
        "invitation_benevoles.eml",
        P.invitation_pixel_eml,
        f"img src (hidden or 1x1){ARROW}{P.MAIL_PIXEL_URL}",
        "canarytokens.com",
        ("html.tracking_pixels", (P.MAIL_PIXEL_URL,)),
        {"decoy-canarytoken-link", "decoy-page-loads-remote-content"},
    ),
    (
        "affiche_lille.odt",
        P.affiche_linked_image_odt,
        f"linked image{ARROW}{P.ODT_IMAGE_URL}",
        "k7m2x9q4w1e8r3t6y0u5i2o7p.alertes-lecture.example",
        ("odf.linked_content", (f"draw:image{ARROW}{P.ODT_IMAGE_URL}",)),
        {"decoy-token-shaped-url", "decoy-fetch-on-open"},
    ),
]


@pytest.mark.parametrize(
    ("name", "build", "entry", "host", "specific", "rules"),
    MECHANISMS,
    ids=[m[0] for m in MECHANISMS],
)
def test_planted_mechanism_is_extracted_and_flagged(
    name: str,
    build: Callable[[], bytes],
    entry: str,
    host: str,
    specific: tuple[str, tuple[str, ...]],
    rules: set[str],
) -> None:
    data = build()
    assert data == build(), "the planted file must be the same on every build"
    record = _record(data, name)
    f = record.fields
    assert f["links.on_open"] == (entry,)
    assert f["links.on_open_hosts"] == (host,)
    assert entry.split(ARROW, 1)[1] in f["links.external"]
    field, value = specific
    assert f[field] == value
    fired = _fired(record)
    assert rules <= set(fired), sorted(rules - set(fired))
    assert record.verdict == "decoy_suspected"
    # The safety list shows the decoy findings' messages: they name the mechanism and host.
    general = fired.get("decoy-fetch-on-open") or fired["decoy-page-loads-remote-content"]
    assert entry in general and host in general


def test_planted_files_are_labeled_decoys_with_their_rules() -> None:
    labels = {entry.path: entry for entry in P.LABELS}
    for path in (
        "documents/presse/revue_de_presse.docx",
        "documents/campagne/lettre_militants.docx",
        "documents/finances/budget_meetings.xlsx",
        "documents/presse/accreditation.pdf",
        "documents/presse/programme_meeting.pdf",
        "documents/finances/facture_0417.pdf",
        "mail/invitation_benevoles.eml",
        "documents/campagne/affiche_lille.odt",
    ):
        assert path in P.PLANTED_FILES
        assert labels[path].label == "decoy" and labels[path].rules


# --- OOXML: every relationship type, fields split across runs ---------------------------------


def _docx_with(document_body: str, rels: list[tuple[str, str, str, bool]]) -> bytes:
    parts = dict(ooxml_fx.memo_parts())
    parts["word/document.xml"] = ooxml_fx._xml(
        f"<w:document {ooxml_fx.WORD_NAMESPACES}><w:body>{document_body}</w:body></w:document>"
    )
    parts["word/_rels/document.xml.rels"] = ooxml_fx._rels(
        [
            ("rId1", ooxml_fx.REL + "styles", "styles.xml", False),
            ("rId2", ooxml_fx.REL + "settings", "settings.xml", False),
            *rels,
        ]
    )
    return zip_bytes(list(parts.items()), date_time=ooxml_fx.OFFICE_DOS_TIME, create_system=0)


def test_ooxml_external_relationships_of_every_type() -> None:
    rel = ooxml_fx.REL
    data = _docx_with(
        "<w:p/>",
        [
            ("rId5", rel + "oleObject", "\\\\srv-compta\\budget\\2017.xlsx", True),
            ("rId6", rel + "frame", "https://cadre.exemple.org/page.html", True),
            ("rId7", rel + "subDocument", "file://srv-docs/notes/annexe.docx", True),
            ("rId8", rel + "hyperlink", "https://en-avant-ensemble.example/", True),
            ("rId9", rel + "hyperlink", "\\\\srv-docs\\public\\plan.pdf", True),
            ("rId10", "http://example.org/custom/rel/beacon", "https://x.exemple.org/y", True),
            ("rId11", rel + "image", "file:///C:/Users/cmartin/Pictures/logo.png", True),
        ],
    )
    f = _record(data, "relations.docx").fields
    assert f["ooxml.external_relationships"] == (
        f"word/document.xml: oleObject{ARROW}\\\\srv-compta\\budget\\2017.xlsx",
        f"word/document.xml: frame{ARROW}https://cadre.exemple.org/page.html",
        f"word/document.xml: subDocument{ARROW}file://srv-docs/notes/annexe.docx",
        f"word/document.xml: hyperlink{ARROW}https://en-avant-ensemble.example/",
        f"word/document.xml: hyperlink{ARROW}\\\\srv-docs\\public\\plan.pdf",
        f"word/document.xml: beacon{ARROW}https://x.exemple.org/y",
        f"word/document.xml: image{ARROW}file:///C:/Users/cmartin/Pictures/logo.png",
    )
    # Hyperlinks wait for a click; a local file:/// picture contacts nobody.
    assert f["links.on_open"] == (
        f"linked OLE object in word/document.xml{ARROW}\\\\srv-compta\\budget\\2017.xlsx",
        f"frame in word/document.xml{ARROW}https://cadre.exemple.org/page.html",
        f"subdocument in word/document.xml{ARROW}file://srv-docs/notes/annexe.docx",
        f"beacon relationship in word/document.xml{ARROW}https://x.exemple.org/y",
    )
    assert f["links.on_open_hosts"] == (
        "cadre.exemple.org",
        "srv-compta",
        "srv-docs",
        "x.exemple.org",
    )
    assert f["links.network_shares"] == (
        f"linked OLE object in word/document.xml{ARROW}\\\\srv-compta\\budget\\2017.xlsx",
        f"subdocument in word/document.xml{ARROW}file://srv-docs/notes/annexe.docx",
        f"hyperlink in word/document.xml{ARROW}\\\\srv-docs\\public\\plan.pdf",
    )


def test_word_fields_simple_and_split_across_runs() -> None:
    split = ooxml_fx._complex_field(
        ["INCLUDE", 'PICTURE "http://pix.exemple.org/', 'a.gif" \\d'], "image"
    )
    link = ooxml_fx._complex_field(
        ['LINK Excel.Sheet.12 "\\\\\\\\srv-compta\\\\budget.xlsx" "Feuil1!L1C1" \\a'], "1 200"
    )
    body = (
        f"<w:p>{split}</w:p><w:p>{link}</w:p>"
        "<w:p><w:fldSimple w:instr=' INCLUDETEXT \"https://textes.exemple.org/bloc.docx\" '>"
        "<w:r><w:t>bloc</w:t></w:r></w:fldSimple></w:p>"
        "<w:p><w:fldSimple "
        "w:instr='DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"'/></w:p>"
        "<w:p><w:fldSimple w:instr='HYPERLINK \"https://en-avant-ensemble.example/\"'/></w:p>"
    )
    f = _record(_docx_with(body, []), "champs.docx").fields
    assert f["ooxml.field_codes"] == (
        'INCLUDEPICTURE "http://pix.exemple.org/a.gif" \\d',
        'LINK Excel.Sheet.12 "\\\\\\\\srv-compta\\\\budget.xlsx" "Feuil1!L1C1" \\a',
        'INCLUDETEXT "https://textes.exemple.org/bloc.docx"',
        'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc"',
        'HYPERLINK "https://en-avant-ensemble.example/"',
    )
    assert f["links.on_open"] == (
        f"field INCLUDEPICTURE{ARROW}http://pix.exemple.org/a.gif",
        f"field LINK{ARROW}\\\\srv-compta\\budget.xlsx",
        f"field INCLUDETEXT{ARROW}https://textes.exemple.org/bloc.docx",
    )
    assert f["links.on_open_hosts"] == ("pix.exemple.org", "srv-compta", "textes.exemple.org")
    assert f["links.network_shares"] == (f"field LINK{ARROW}\\\\srv-compta\\budget.xlsx",)
    fired = _fired(_record(_docx_with(body, []), "champs.docx"))
    assert {"decoy-fetching-field-code", "decoy-fetch-on-open", "decoy-unc-path"} <= set(fired)


def test_rtf_fields_and_remote_template() -> None:
    f = _record(misc_fx.lettre_rtf(), "lettre.rtf").fields
    assert f["links.on_open"] == (
        f"field INCLUDEPICTURE{ARROW}{misc_fx.LETTER_PIXEL}",
        f"field INCLUDETEXT{ARROW}{misc_fx.LETTER_UNC}",
    )
    assert f["links.on_open_hosts"] == ("fs01.corp.example", "pixel.tracker.example")
    assert f["links.network_shares"] == (f"field INCLUDETEXT{ARROW}{misc_fx.LETTER_UNC}",)
    remote = misc_fx.lettre_rtf().replace(
        b"{\\*\\template C:", b"{\\*\\template http://modeles.exemple.org/n.dotm}{\\*\\x C:"
    )
    record = _record(remote, "lettre_modele.rtf")
    assert f"template{ARROW}http://modeles.exemple.org/n.dotm" in record.fields["links.on_open"]
    assert "decoy-remote-template" in _fired(record)


# --- PDF: every trigger and action type, read without running anything -----------------------


def _pdf_with_actions() -> bytes:
    doc = pdf_fx._new_doc()
    pdf_fx._text_page(doc, ["Page une"])
    pdf_fx._text_page(doc, ["Page deux"])
    s = pdf_fx.pdf_string
    catalog = doc.pdf_catalog()
    script = doc.get_new_xref()
    doc.update_object(script, "<<>>")
    doc.update_stream(
        script, b"var u = 'x'; this.submitForm({cURL: \"https://formulaires.exemple.org/r\"});"
    )
    chained = doc.get_new_xref()
    doc.update_object(
        chained,
        f"<</S/ImportData/F{s('https://donnees.exemple.org/f.fdf')}/Next {chained} 0 R>>",
    )
    doc.xref_set_key(
        catalog,
        "OpenAction",
        f"<</S/GoToR/F<</Type/Filespec/UF{s('//srv-pdf/partage/annexe.pdf')}>>/D[0/Fit]"
        f"/Next[{chained} 0 R<</S/GoToE/F{s('https://pieces.exemple.org/dossier.pdf')}>>]>>",
    )
    doc.xref_set_key(
        catalog, "AA", f"<</WC<</S/SubmitForm/F<</FS/URL/F{s('https://envoi.exemple.org/c')}>>>>>>"
    )
    names = doc.get_new_xref()
    doc.update_object(names, f"<</Names[(init) <</S/JavaScript/JS {script} 0 R>>]>>")
    doc.xref_set_key(catalog, "Names", f"<</JavaScript {names} 0 R>>")
    win = f"<</S/Launch/Win<</F{s('cmd.exe')}/P{s('/c start https://lanceur.exemple.org/x')}>>>>"
    doc.xref_set_key(doc[1].xref, "AA", f"<</C{win}>>")
    page = doc[0]
    page.insert_link(
        {
            "kind": pymupdf.LINK_URI,
            "from": pymupdf.Rect(72, 60, 300, 90),
            "uri": "https://clic.exemple.org/",
        }
    )
    annot = page.add_text_annot((100, 100), "note")
    doc.xref_set_key(
        annot.xref,
        "AA",
        f"<</PV<</S/URI/URI{s('https://visible.exemple.org/v')}>>"
        f"/E<</S/URI/URI{s('https://survol.exemple.org/e')}>>>>",
    )
    return pdf_fx._finish(doc)


def test_pdf_actions_of_every_kind_with_their_trigger() -> None:
    data = _pdf_with_actions()
    record = _record(data, "actions.pdf")
    f = record.fields
    assert f["pdf.actions"] == (
        f"OpenAction: GoToR{ARROW}//srv-pdf/partage/annexe.pdf",
        f"OpenAction: ImportData{ARROW}https://donnees.exemple.org/f.fdf",
        f"OpenAction: GoToE{ARROW}https://pieces.exemple.org/dossier.pdf",
        f"document /AA /WC (closing): SubmitForm{ARROW}https://envoi.exemple.org/c",
        f"document JavaScript: JavaScript this.submitForm{ARROW}https://formulaires.exemple.org/r",
        f"page 1 Link annotation /A (click): URI{ARROW}https://clic.exemple.org/",
        f"page 1 Text annotation /AA /PV (page shown): URI{ARROW}https://visible.exemple.org/v",
        f"page 1 Text annotation /AA /E (pointer enters): URI{ARROW}https://survol.exemple.org/e",
        f"page 2 /AA /C (page closed): Launch{ARROW}cmd.exe /c start https://lanceur.exemple.org/x",
    )
    # What runs with no click: not the link, not the hover.
    assert f["links.on_open"] == (
        f"OpenAction: GoToR{ARROW}//srv-pdf/partage/annexe.pdf",
        f"OpenAction: ImportData{ARROW}https://donnees.exemple.org/f.fdf",
        f"OpenAction: GoToE{ARROW}https://pieces.exemple.org/dossier.pdf",
        f"document /AA /WC (closing): SubmitForm{ARROW}https://envoi.exemple.org/c",
        f"document JavaScript: JavaScript this.submitForm{ARROW}https://formulaires.exemple.org/r",
        f"page 1 Text annotation /AA /PV (page shown): URI{ARROW}https://visible.exemple.org/v",
        f"page 2 /AA /C (page closed): Launch{ARROW}https://lanceur.exemple.org/x",
    )
    assert f["links.on_open_hosts"] == (
        "donnees.exemple.org",
        "envoi.exemple.org",
        "formulaires.exemple.org",
        "lanceur.exemple.org",
        "pieces.exemple.org",
        "srv-pdf",
        "visible.exemple.org",
    )
    assert "https://clic.exemple.org/" in f["links.external"]
    assert f["pdf.has_javascript"] is True and f["pdf.has_launch"] is True
    assert f["pdf.has_open_action"] is True
    assert "decoy-pdf-contacts-host-on-open" in _fired(record)


def test_pdf_javascript_stream_is_read_with_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pdf_actions, "MAX_JS_STREAM", 40)
    doc = pdf_fx._new_doc()
    pdf_fx._text_page(doc, ["x"])
    script = doc.get_new_xref()
    doc.update_object(script, "<<>>")
    doc.update_stream(
        script,
        b"app.launchURL('https://tot.exemple.org/a');"
        + b" " * 1000
        + b"app.launchURL('https://tard.exemple.org/b');",
    )
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"<</S/JavaScript/JS {script} 0 R>>")
    data = pdf_fx._finish(doc)
    out = pdf.extract(Source(name="js.pdf", mime="application/pdf", size=len(data), data=data))
    assert out.fields["links.on_open"] == (
        f"OpenAction: JavaScript app.launchURL{ARROW}https://tot.exemple.org/a",
    )


def test_pdf_next_loop_and_script_without_address() -> None:
    doc = pdf_fx._new_doc()
    pdf_fx._text_page(doc, ["x"])
    first, second = doc.get_new_xref(), doc.get_new_xref()
    s = pdf_fx.pdf_string
    doc.update_object(first, f"<</S/JavaScript/JS{s('app.alert(1)')}/Next {second} 0 R>>")
    doc.update_object(second, f"<</S/URI/URI{s('http://boucle.exemple.org/')}/Next {first} 0 R>>")
    doc.xref_set_key(doc.pdf_catalog(), "OpenAction", f"{first} 0 R")
    data = pdf_fx._finish(doc)
    f = _record(data, "boucle.pdf").fields
    assert f["pdf.actions"] == (
        f"OpenAction: JavaScript{ARROW}app.alert(1)",
        f"OpenAction: URI{ARROW}http://boucle.exemple.org/",
    )
    assert f["links.on_open"] == (f"OpenAction: URI{ARROW}http://boucle.exemple.org/",)


def test_pdf_launch_of_a_local_program_contacts_nobody() -> None:
    f = _record(P.devis_updated_pdf(), "devis.pdf").fields
    assert f["pdf.actions"] == (f"OpenAction: Launch{ARROW}facture.exe",)
    assert "links.on_open" not in f and "links.network_shares" not in f


# --- HTML pages and mail bodies -------------------------------------------------------------


def test_html_resources_with_their_mechanism() -> None:
    page = (
        b'<html><head><link rel="stylesheet" href="https://cdn.exemple.org/s.css">'
        b'<link rel="canonical" href="https://www.exemple.org/page">'
        b"<style>@import url(https://cdn.exemple.org/i.css);</style></head>"
        b'<body background="http://fond.exemple.org/f.jpg">'
        b'<iframe src="https://cadre.exemple.org/"></iframe>'
        b"<div style=\"background:url('https://deco.exemple.org/d.png')\"></div>"
        b'<img src="https://img.exemple.org/photo.jpg" width="300" height="200">'
        b'<img src="https://o.exemple.org/p.gif" style="display:none">'
        b'<a href="\\\\srv-docs\\public\\plan.pdf">plan</a>'
        b'<a href="https://en-avant-ensemble.example/">site</a></body></html>'
    )
    out: Extraction = html.extract(
        Source(name="p.html", mime="text/html", size=len(page), data=page)
    )
    f = out.fields
    assert f["html.remote_resources"] == (
        f"link stylesheet{ARROW}https://cdn.exemple.org/s.css",
        f"body background{ARROW}http://fond.exemple.org/f.jpg",
        f"iframe src{ARROW}https://cadre.exemple.org/",
        f"div style url(){ARROW}https://deco.exemple.org/d.png",
        f"img src{ARROW}https://img.exemple.org/photo.jpg",
        f"img src (hidden or 1x1){ARROW}https://o.exemple.org/p.gif",
        f"style url(){ARROW}https://cdn.exemple.org/i.css",
    )
    assert f["links.on_open"] == f["html.remote_resources"]
    assert f["html.tracking_pixels"] == ("https://o.exemple.org/p.gif",)
    assert f["links.network_shares"] == (f"a href{ARROW}\\\\srv-docs\\public\\plan.pdf",)
    assert "srv-docs" not in f["links.on_open_hosts"]


def test_mail_bodies_report_their_pixels() -> None:
    records = triage_file(mail_fx.mailbox_mbox(), name="boite.mbox", workers=0)
    news = next(r for r in records if r.path.endswith("<news-2017-18@lettre-exemple.org>"))
    assert news.fields["html.tracking_pixels"] == ("http://pixel.tracker.example/o.gif?u=4821",)
    assert news.fields["links.on_open"] == (
        f"img src (hidden or 1x1){ARROW}http://pixel.tracker.example/o.gif?u=4821",
    )
    fired = _fired(news)
    # A newsletter's pixel is information, not a reason to call the mail suspicious.
    assert "decoy-page-loads-remote-content" in fired and "decoy-tracking-pixel" not in fired
    assert news.verdict == "no_signal"


# --- hosts, shares and the wording of the share finding ---------------------------------------


@pytest.mark.parametrize(
    ("target", "host", "share"),
    [
        ("\\\\srv-modeles\\modeles\\lettre.dotx", "srv-modeles", True),
        ("\\\\?\\UNC\\srv-compta\\budget\\2017.xlsx", "srv-compta", True),
        ("\\\\webdav.exemple.org@SSL\\DavWWWRoot\\x.png", "webdav.exemple.org", True),
        ("file://srv-modeles/modeles/lettre.dotx", "srv-modeles", True),
        ("file:////srv-modeles/modeles/lettre.dotx", "srv-modeles", True),
        ("file:///\\\\srv-modeles\\modeles\\lettre.dotx", "srv-modeles", True),
        ("file:///C:/Users/cmartin/Templates/Normal.dotm", None, False),
        ("file:///C:\\Users\\cmartin\\Templates\\Normal.dotm", None, False),
        ("file:///home/cmartin/modeles/lettre.ott", None, False),
        ("file://localhost/Users/cmartin/logo.png", None, False),
        ("\\\\?\\C:\\Users\\cmartin\\note.docx", None, False),
        ("\\\\.\\pipe\\x", None, False),
        ("\\\\localhost\\c$\\temp\\a.png", None, False),
        ("http://modeles.exemple.org/n.dotm", "modeles.exemple.org", False),
        ("HTTPS://User@Modeles.Exemple.org:8443/n.dotm", "modeles.exemple.org", False),
        ("//cdn.exemple.org/x.gif", "cdn.exemple.org", False),
        ("smb://nas.exemple.org/partage", "nas.exemple.org", False),
        ("facture.exe", None, False),
        ("../images/logo.png", None, False),
    ],
)
def test_host_and_share(target: str, host: str | None, share: bool) -> None:
    assert host_of(target) == host
    assert is_share(target) is share


def test_share_finding_never_calls_a_web_address_a_share() -> None:
    record = _record(ooxml_fx.memo_remote_template_docx(), "memo_remote_template.docx")
    message = _fired(record)["decoy-unc-path"]
    assert message == (
        f"Windows network share(s) referred to: field INCLUDEPICTURE{ARROW}"
        f"{ooxml_fx.UNC_PICTURE}; reaching them, Windows could send the reader's login hash to "
        "the machine named"
    )
    assert "http" not in message
    # An http template and a local file:/// picture: no share at all.
    rel = ooxml_fx.REL
    data = _docx_with(
        "<w:p/>",
        [
            ("rId5", rel + "image", "file:///C:/Users/cmartin/Pictures/logo.png", True),
            ("rId6", rel + "hyperlink", "file://localhost/Users/cmartin/a.docx", True),
        ],
    )
    plain = _record(data, "local.docx")
    assert "links.network_shares" not in plain.fields
    assert "decoy-unc-path" not in _fired(plain)
    template = _record(P.lettre_militants_docx(), "lettre_militants.docx")
    assert "decoy-unc-path" not in _fired(template)


def test_contacts_keep_the_first_mechanism_and_any_automatic_use() -> None:
    contacts = Contacts()
    contacts.add("hyperlink", "https://a.exemple.org/", on_open=False)
    contacts.add("hyperlink", "https://a.exemple.org/", on_open=True)
    contacts.add("note", "pas une adresse")
    out = Extraction()
    contacts.put(out, ["https://b.exemple.org/", "\\\\srv\\p\\x"])
    assert out.fields["links.external"] == (
        "\\\\srv\\p\\x",
        "https://a.exemple.org/",
        "https://b.exemple.org/",
    )
    assert out.fields["links.on_open"] == (f"hyperlink{ARROW}https://a.exemple.org/",)
    assert out.fields["links.network_shares"] == (f"link{ARROW}\\\\srv\\p\\x",)


# --- nothing fires on files without external content ----------------------------------------

PLAIN: list[tuple[str, Callable[[], bytes]]] = [
    ("memo.docx", ooxml_fx.memo_docx),
    ("slides.pptx", ooxml_fx.slides_pptx),
    ("report.pdf", pdf_fx.report_pdf),
    ("scan_ocr.pdf", pdf_fx.scan_ocr_pdf),
    ("tableau.ods", misc_fx.tableau_ods),
    ("meeting.eml", mail_fx.meeting_eml),
    ("communique_lyon.pdf", P.communique_xmp_reversed_pdf),
]


@pytest.mark.parametrize(("name", "build"), PLAIN, ids=[p[0] for p in PLAIN])
def test_no_beacon_rule_on_files_without_external_content(
    name: str, build: Callable[[], bytes]
) -> None:
    record = _record(build(), name)
    assert not {"links.on_open", "links.on_open_hosts", "links.network_shares"} & set(record.fields)
    assert not BEACON_RULES & set(_fired(record))


# --- the safety list after a scan -----------------------------------------------------------


def test_safety_list_names_each_mechanism_and_host(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    for name, build, *_ in MECHANISMS:
        (dump / name).write_bytes(build())
    (dump / "memo.docx").write_bytes(ooxml_fx.memo_docx())
    summary = run_scan(dump, tmp_path / "out", ScanConfig(workers=0))
    by_file: dict[str, list[str]] = {}
    for path, _rule, message in summary.beacons:
        by_file.setdefault(Path(path).name, []).append(message)
    assert set(by_file) == {m[0] for m in MECHANISMS}
    for name, _build, entry, host, *_ in MECHANISMS:
        assert any(entry in message and host in message for message in by_file[name]), name
    shares = [m for messages in by_file.values() for m in messages if "network share" in m]
    assert shares == [
        f"Windows network share(s) referred to: OpenAction: Launch{ARROW}{P.LAUNCH_SHARE}; "
        "reaching them, Windows could send the reader's login hash to the machine named"
    ]
