"""The catalogue of fact names: the only vocabulary extractors may write and rules may read.

Each entry says what the value is and what it means to an investigator. Names are dotted
snake case grouped by prefix: ``file.*`` (the item itself), ``archive.*``, ``doc.*`` (facts
every document format shares), ``meta.*``/``text.*``/``links.*`` (derived from the others),
then one prefix per format family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from leaktriage.wording import Unit

FieldType = Literal["str", "int", "float", "bool", "datetime", "list"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Type and meaning of one catalogue field."""

    type: FieldType
    meaning: str
    unit: Unit | None = None
    """What a number counts, so messages can show it in words ("5 h 12 min", "1.5 kB")."""


def _spec(type_: FieldType, meaning: str, unit: Unit | None = None) -> FieldSpec:
    return FieldSpec(type_, meaning, unit)


FIELDS: dict[str, FieldSpec] = {
    # --- archive: what the container said about itself --------------------------------------
    "archive.format": _spec("str", "Archive format as libarchive names it (zip, tar, 7zip, rar)."),
    "archive.filters": _spec("list", "Compression filters around the archive (gzip, xz, ...)."),
    "archive.member_count": _spec("int", "Members listed in the archive, directories excluded."),
    "archive.dir_count": _spec("int", "Directory entries in the archive (no content, no record)."),
    "archive.bytes_out": _spec(
        "int", "Bytes decompressed from the archive during the scan.", "bytes"
    ),
    "archive.member_mtime_min": _spec("datetime", "Earliest member time: when packing began."),
    "archive.member_mtime_max": _spec("datetime", "Latest member time; a forger's re-pack shows."),
    "archive.member_mtime_tz_known": _spec(
        "bool", "False when the member times carried no zone (zip DOS times, read as UTC)."
    ),
    "archive.limit_hit": _spec("list", "Safety limits that stopped reading part of the archive."),
    "archive.name_encoding": _spec(
        "str",
        "Encoding of the non-ASCII member names (utf-8, or the code page they fit: cp866 "
        "means a Russian-language DOS/Windows packer).",
    ),
    # --- doc: common facts every document format fills when it records them -------------------
    "doc.title": _spec("str", "Title stored in the metadata, which may differ from the text."),
    "doc.subject": _spec("str", "Subject property."),
    "doc.keywords": _spec("str", "Keywords property."),
    "doc.comments": _spec("str", "Comments / description property."),
    "doc.category": _spec("str", "Category property."),
    "doc.author": _spec("str", "Author / creator name written when the document was first made."),
    "doc.last_modified_by": _spec("str", "Account or licence name of whoever saved it last."),
    "doc.company": _spec("str", "Company from the Office licence or the template."),
    "doc.manager": _spec("str", "Manager property."),
    "doc.application": _spec(
        "str", "Application that saved the file (Office's AppName, PDF Creator)."
    ),
    "doc.app_version": _spec("str", "Version of that application (Office AppVersion, 16.0000)."),
    "doc.producer": _spec("str", "PDF producer: the library that wrote the PDF bytes."),
    "doc.template": _spec("str", "Template the document was based on (Normal.dotm, a remote URL)."),
    "doc.created": _spec("datetime", "Creation time recorded inside the file, in UTC."),
    "doc.created_offset": _spec("str", "UTC offset the creation time was written with (+02:00)."),
    "doc.created_tz_known": _spec("bool", "False when the creation time carried no zone."),
    "doc.modified": _spec("datetime", "Last-save time recorded inside the file, in UTC."),
    "doc.modified_offset": _spec("str", "UTC offset the last-save time was written with."),
    "doc.modified_tz_known": _spec("bool", "False when the last-save time carried no zone."),
    "doc.printed": _spec("datetime", "Last-printed time, in UTC."),
    "doc.printed_tz_known": _spec("bool", "False when the last-printed time carried no zone."),
    "doc.revision": _spec("int", "Revision number: how many times the file was saved."),
    "doc.edit_time_s": _spec(
        "int", "Total editing time the application counted, in seconds.", "seconds"
    ),
    "doc.page_count": _spec("int", "Pages (or slides) as recorded or counted."),
    "doc.word_count": _spec("int", "Words as recorded by the saving application."),
    "doc.char_count": _spec("int", "Characters as recorded by the saving application."),
    "doc.languages": _spec("list", "Languages the file declares (proofing, lang tags), as tags."),
    "doc.codepage": _spec(
        "int", "Windows code page the strings were written in (1251 = Cyrillic)."
    ),
    "doc.encrypted": _spec("bool", "The content is encrypted."),
    "doc.has_macros": _spec("bool", "VBA or other macros are present."),
    # --- derived over every format ------------------------------------------------------------
    "meta.scripts": _spec(
        "list", "Unicode scripts seen in the metadata strings (Latin, Cyrillic)."
    ),
    "meta.foreign_strings": _spec("list", "Metadata fields whose value uses a non-Latin script."),
    "text.sample": _spec("str", "Start of the body text (a few kB), for language and comparison."),
    "text.chars": _spec("int", "Characters of body text read."),
    "text.language": _spec(
        "str",
        "Language of the body text (ISO 639-1): ja/ko/zh by script (kana, Hangul, Han only), "
        "the others from langdetect.",
    ),
    "text.language_confidence": _spec(
        "float",
        "langdetect's probability for that language; for ja/ko/zh, the share of the "
        "letters in Han, kana and Hangul.",
        "fraction",
    ),
    "links.external": _spec(
        "list",
        "Every URL, UNC path or remote template the file points to; collected, never fetched.",
    ),
    "links.on_open": _spec(
        "list",
        "What opening the file makes it contact by itself, with no click, as 'mechanism → "
        "target': linked images, remote templates, linked objects and workbooks, fetching "
        "field codes, automatic PDF actions, a page's remote images, styles and scripts. "
        "Each one tells that server who opened the file, when and from where.",
    ),
    "links.on_open_hosts": _spec(
        "list",
        "Hosts (web servers, file servers) that opening the file would contact: the "
        "machines named in links.on_open.",
    ),
    "links.network_shares": _spec(
        "list",
        "References to a Windows network share (\\\\host\\share, or file://host/share), as "
        "'mechanism → target', followed on opening or on a click ('link' when the file only "
        "mentions it); Windows may send the reader's login hash to that host.",
    ),
    # --- pdf --------------------------------------------------------------------------------------
    "pdf.version": _spec("str", "PDF header version (1.4, 1.7, 2.0)."),
    "pdf.info": _spec("list", "Info dictionary keys present."),
    "pdf.creator": _spec("str", "Info /Creator: the authoring application."),
    "pdf.xmp_present": _spec("bool", "An XMP metadata packet is present."),
    "pdf.xmp_creator_tool": _spec("str", "XMP xmp:CreatorTool."),
    "pdf.xmp_producer": _spec(
        "str", "XMP pdf:Producer; differs from Info after a partial rewrite."
    ),
    "pdf.xmp_author": _spec("str", "XMP dc:creator."),
    "pdf.xmp_title": _spec("str", "XMP dc:title."),
    "pdf.xmp_created": _spec("datetime", "XMP xmp:CreateDate, UTC."),
    "pdf.xmp_modified": _spec("datetime", "XMP xmp:ModifyDate, UTC."),
    "pdf.xmp_metadata_date": _spec("datetime", "XMP xmp:MetadataDate, UTC."),
    "pdf.xmp_created_tz_known": _spec("bool", "False when xmp:CreateDate carried no zone."),
    "pdf.xmp_modified_tz_known": _spec("bool", "False when xmp:ModifyDate carried no zone."),
    "pdf.xmp_metadata_date_tz_known": _spec("bool", "False when xmp:MetadataDate carried no zone."),
    "pdf.xmp_document_id": _spec("str", "xmpMM:DocumentID: same for every version of a document."),
    "pdf.xmp_instance_id": _spec("str", "xmpMM:InstanceID: changes at every save."),
    "pdf.xmp_original_document_id": _spec("str", "xmpMM:OriginalDocumentID."),
    "pdf.xmp_history": _spec("list", "xmpMM:History events (action, when, software agent)."),
    "pdf.incremental_updates": _spec(
        "int", "Saves appended after the first one (trailer /Prev chain)."
    ),
    "pdf.revision_count": _spec("int", "Complete revisions found (startxref/%%EOF sections)."),
    "pdf.revisions": _spec(
        "list",
        "One line per revision, oldest first: number|end byte offset|Info ModDate|Info Producer "
        "as that save wrote them (a Producer change between saves names the editing tool).",
    ),
    "pdf.last_update_bytes": _spec(
        "int", "Bytes the last save appended (a writer's own closing section is ~200 bytes)."
    ),
    "pdf.last_update_objects": _spec(
        "int", "Objects the last save added or replaced (a writer's closing section adds none)."
    ),
    "pdf.last_update_same_info": _spec(
        "bool", "The last save kept the previous revision's Info ModDate and Producer."
    ),
    "pdf.linearized": _spec(
        "bool",
        "First save was linearized ('fast web view': two xref sections, one save); stays true "
        "after later updates, where ExifTool's Linearized turns to No.",
    ),
    "pdf.revision_text_changed": _spec(
        "bool", "An earlier revision's text differs from the final."
    ),
    "pdf.revision_diff": _spec("list", "Passages that differ between the first and last revision."),
    "pdf.id_original": _spec(
        "str", "First element of the trailer /ID: set when the file was made."
    ),
    "pdf.id_current": _spec("str", "Second element of the trailer /ID: changes on every save."),
    "pdf.id_equal": _spec("bool", "Both /ID elements are equal (never re-saved, or re-generated)."),
    "pdf.fonts": _spec("list", "Font names used (subset prefix kept: ABCDEF+Arial)."),
    "pdf.fonts_not_embedded": _spec("list", "Fonts referenced but not embedded."),
    "pdf.has_javascript": _spec("bool", "JavaScript present (document or annotation actions)."),
    "pdf.has_open_action": _spec("bool", "An /OpenAction runs when the file opens."),
    "pdf.has_launch": _spec("bool", "A /Launch action that can start a program."),
    "pdf.actions": _spec(
        "list",
        "Actions that reach outside the file, as 'trigger: type → target' (OpenAction, "
        "document JavaScript, document, page and annotation /AA, link clicks; URI, Launch, "
        "SubmitForm, GoToR, GoToE, ImportData, JavaScript and the addresses its code calls).",
    ),
    "pdf.form_fields": _spec("int", "Number of form fields (widgets)."),
    "pdf.annotation_count": _spec("int", "Annotations of every kind."),
    "pdf.signature_count": _spec("int", "Digital signature fields present."),
    # Signatures verified offline (pyHanko): the lists hold one entry per signed field, in
    # signing order, "-" where a signature has no such value.
    "pdf.sig_checked": _spec("int", "Signed signature fields verified (at most 16 per file)."),
    "pdf.sig_verified": _spec(
        "int", "Signatures that still verify: intact, and the certificate valid when signed."
    ),
    "pdf.sig_whole_file_verified": _spec(
        "bool",
        "A signature that still verifies covers the whole file: nothing was added after it "
        "and its signed revision is the file as the signer's key signed it.",
    ),
    "pdf.sig_last_signed_at": _spec(
        "datetime",
        "Latest signing time, UTC: the RFC 3161 timestamp token's when there is one, else the "
        "time the signer's software wrote (which its clock or a forger sets).",
    ),
    "pdf.sig_fields": _spec("list", "Names of the signed signature fields."),
    "pdf.sig_kind": _spec(
        "list", "approval, certification (sets /DocMDP permissions) or timestamp (/DocTimeStamp)."
    ),
    "pdf.sig_signer": _spec("list", "Common name (CN) of each signer's certificate."),
    "pdf.sig_cert_subject": _spec("list", "Subject of each signer's certificate (RFC 4514)."),
    "pdf.sig_cert_issuer": _spec("list", "Issuer of each signer's certificate (RFC 4514)."),
    "pdf.sig_cert_serial": _spec("list", "Serial number of each signer's certificate, hex."),
    "pdf.sig_cert_not_before": _spec("list", "Start of each certificate's validity, UTC ISO 8601."),
    "pdf.sig_cert_not_after": _spec("list", "End of each certificate's validity, UTC ISO 8601."),
    "pdf.sig_cert_at_signing": _spec(
        "list",
        "Each certificate at the signing time: valid, expired, not yet valid, or unknown (no "
        "signing time). Expired since signing is still valid.",
    ),
    "pdf.sig_signing_time": _spec(
        "list", "Signing time each signer's software wrote (CMS signingTime or /M), UTC."
    ),
    "pdf.sig_timestamp_time": _spec(
        "list", "Time of each signature's RFC 3161 timestamp token, UTC ('-' when none)."
    ),
    "pdf.sig_byte_range": _spec("list", "Each signature's /ByteRange: the bytes it signs."),
    "pdf.sig_intact": _spec(
        "list", "true when the signed bytes still match the digest the signature carries."
    ),
    "pdf.sig_valid": _spec(
        "list",
        "true when intact, the signature verifies with the certificate's key and the "
        "certificate was within its validity at the signing time (not: trusted).",
    ),
    "pdf.sig_trusted": _spec(
        "list",
        "true when the certificate chains to a root given with --trust-roots, checked at the "
        "signing time; 'not checked' without roots (the machine's roots are never used).",
    ),
    "pdf.sig_covers_whole_file": _spec(
        "list", "true when the signature covers the whole file (nothing appended after it)."
    ),
    "pdf.sig_coverage": _spec(
        "list",
        "pyHanko's coverage level: ENTIRE_FILE, ENTIRE_REVISION (later saves follow), "
        "CONTIGUOUS_BLOCK_FROM_START or UNCLEAR.",
    ),
    "pdf.sig_modification_level": _spec(
        "list",
        "What the saves after each signature changed, per pyHanko's difference analysis: "
        "NONE, LTA_UPDATES (validation data), FORM_FILLING, ANNOTATIONS, OTHER (not allowed).",
    ),
    "pdf.sig_docmdp_ok": _spec(
        "list", "true when the later changes are within the signature's /DocMDP permissions."
    ),
    "pdf.sig_changed_objects": _spec(
        "list",
        "For a signature whose later changes pyHanko rejects: 'field, revision N: objects ...', "
        "the object numbers each later revision's cross-reference section writes or frees.",
    ),
    "pdf.sig_revocation": _spec(
        "list",
        "good or revoked from CRLs/OCSP responses the file embeds (with --trust-roots); "
        "'not checked' otherwise: nothing is fetched.",
    ),
    "pdf.embedded_files": _spec("list", "Names of embedded (attached) files."),
    "pdf.image_pages_with_text": _spec(
        "list", "Pages that are a full-page image with a text layer on top (page numbers, 1-based)."
    ),
    "pdf.encryption": _spec("str", "Encryption method, when encrypted."),
    # --- ooxml (docx / xlsx / pptx) ------------------------------------------------------------
    "ooxml.kind": _spec("str", "docx, xlsx or pptx (and macro-enabled variants)."),
    "ooxml.workbook_app": _spec(
        "str", "xl/workbook.xml fileVersion appName: 'xl' for Excel, 'Calc' for LibreOffice."
    ),
    "ooxml.heading_pairs": _spec(
        "list",
        "app.xml HeadingPairs labels: their language is the "
        "language of the Office that saved the file (Листы = Russian).",
    ),
    "ooxml.titles_of_parts": _spec("list", "app.xml TitlesOfParts (sheet names, slide titles)."),
    "ooxml.custom_properties": _spec("list", "custom.xml properties as name=value."),
    "ooxml.xml_signature_count": _spec(
        "int",
        "Office XML digital signature parts (_xmlsignatures/): present, not verified (a later "
        "change to a signed part is not detected yet).",
    ),
    "ooxml.xml_signature_signers": _spec(
        "list", "Each XML signature's signer certificate subject, as the signature states it."
    ),
    "ooxml.xml_signature_issuers": _spec(
        "list", "Each XML signature's certificate issuer, as the signature states it."
    ),
    "ooxml.xml_signature_times": _spec(
        "list",
        "Each XML signature's signing time as written (XAdES SigningTime, else the OPC "
        "SignatureTime): the signer's clock, not a trusted time.",
    ),
    "ooxml.xml_signature_comments": _spec("list", "Each XML signature's purpose comment."),
    "ooxml.zip_mtime_min": _spec(
        "datetime", "Earliest zip entry DOS time (zone-less, read as UTC)."
    ),
    "ooxml.zip_mtime_max": _spec("datetime", "Latest zip entry DOS time (zone-less, read as UTC)."),
    "ooxml.zip_order": _spec("list", "Zip member order; Office writes [Content_Types].xml first."),
    "ooxml.zip_compression": _spec("list", "Distinct compression methods used by the zip members."),
    "ooxml.zip_create_systems": _spec(
        "list", "Zip 'made by' systems (0 = MS-DOS/Office, 3 = Unix)."
    ),
    "ooxml.rsid_root": _spec("str", "w:rsidRoot: the editing session that created the document."),
    "ooxml.rsids": _spec("list", "w:rsid save-session ids; shared rsids mean shared history."),
    "ooxml.rsid_count": _spec("int", "Number of distinct save sessions recorded."),
    "ooxml.doc_id": _spec("str", "w15:docId / w14:docId document identifier."),
    "ooxml.languages": _spec("list", "w:lang proofing languages used in the text."),
    "ooxml.revision_authors": _spec("list", "Authors of tracked insertions and deletions."),
    "ooxml.comment_authors": _spec("list", "Authors of comments."),
    "ooxml.people": _spec("list", "people.xml entries: name and provider/user id."),
    "ooxml.abs_path": _spec(
        "list", "Absolute save paths (x15ac:absPath), naming a user or machine."
    ),
    "ooxml.external_targets": _spec("list", "Relationship targets with TargetMode=External."),
    "ooxml.external_relationships": _spec(
        "list",
        "Every TargetMode=External relationship as 'part: type → target', the type as the "
        "relationship names it (image, attachedTemplate, oleObject, frame, subDocument, "
        "externalLinkPath, hyperlink...).",
    ),
    "ooxml.field_codes": _spec("list", "Field codes that fetch content (INCLUDEPICTURE, LINK...)."),
    "ooxml.attached_template": _spec("str", "Attached template relationship target."),
    "ooxml.has_thumbnail": _spec("bool", "docProps/thumbnail present."),
    "ooxml.has_comments": _spec("bool", "Comments present."),
    "ooxml.has_tracked_changes": _spec("bool", "Tracked insertions or deletions present."),
    # --- ole2 (doc / xls / ppt) ----------------------------------------------------------------
    "ole.kind": _spec("str", "doc, xls, ppt, msg, ooxml_encrypted or other compound file."),
    "ole.streams": _spec("list", "Stream paths in the compound file."),
    "ole.heading_pairs": _spec("list", "DocumentSummaryInformation HeadingPairs labels."),
    "ole.titles_of_parts": _spec("list", "DocumentSummaryInformation TitlesOfParts."),
    "ole.fib_nfib": _spec("int", "Word FIB nFib: the file-format version Word wrote."),
    "ole.fib_lid": _spec("int", "Word FIB install language id (0x0419 = Russian)."),
    "ole.fib_lid_tag": _spec("str", "That language id as a tag (ru-RU)."),
    "ole.saved_by": _spec(
        "list", "Word SttbSavedBy: the last authors and save paths (author|path)."
    ),
    "ole.dir_created_min": _spec("datetime", "Earliest compound-file directory creation time."),
    "ole.dir_modified_max": _spec("datetime", "Latest compound-file directory modification time."),
    "ole.root_modified": _spec("datetime", "Root storage modification time."),
    "ole.user_defined": _spec("list", "User-defined properties as name=value."),
    "ole.fib_nfib_new": _spec(
        "int", "Word FIB nFibNew: the real version of Word 2000+ (0x0112 = Word 2007+)."
    ),
    "ole.fib_fast_saved": _spec(
        "bool", "Word fComplex: fast-saved, so earlier wording may survive in the file."
    ),
    "ole.app_user": _spec(
        "str",
        "User name of the Office install that saved last (Excel WRITEACCESS, "
        "PowerPoint Current User); a second place a forger must change.",
    ),
    "ole.biff_codepage": _spec("int", "Excel CODEPAGE record (1200 = UTF-16, 1251 = Cyrillic)."),
    # --- image -------------------------------------------------------------------------------
    "image.make": _spec("str", "Camera or scanner maker (EXIF Make)."),
    "image.model": _spec("str", "Camera model (EXIF Model)."),
    "image.software": _spec(
        "str", "Software that wrote the image (an editor on a camera original)."
    ),
    "image.serial": _spec("str", "Body serial number."),
    "image.datetime": _spec(
        "datetime",
        "EXIF DateTime (last change), local time read as UTC unless an offset is recorded.",
    ),
    "image.datetime_original": _spec(
        "datetime", "EXIF DateTimeOriginal: when the picture was taken."
    ),
    "image.datetime_digitized": _spec("datetime", "EXIF DateTimeDigitized."),
    "image.datetime_tz_known": _spec(
        "bool", "False when EXIF DateTime had no OffsetTime: local time of an unknown zone."
    ),
    "image.datetime_original_tz_known": _spec(
        "bool", "False when DateTimeOriginal had no OffsetTimeOriginal."
    ),
    "image.datetime_digitized_tz_known": _spec(
        "bool", "False when DateTimeDigitized had no OffsetTimeDigitized."
    ),
    "image.offset_time": _spec("str", "EXIF OffsetTime* recorded with the times (+02:00)."),
    "image.gps_lat": _spec("float", "GPS latitude, decimal degrees."),
    "image.gps_lon": _spec("float", "GPS longitude, decimal degrees."),
    "image.gps_datetime": _spec("datetime", "GPS date and time stamp, UTC."),
    "image.width": _spec("int", "Pixel width."),
    "image.height": _spec("int", "Pixel height."),
    "image.has_thumbnail": _spec("bool", "An embedded EXIF thumbnail is present."),
    "image.thumbnail_matches": _spec("bool", "The thumbnail shows the same picture as the image."),
    "image.thumbnail_distance": _spec(
        "int", "Perceptual-hash distance between thumbnail and image."
    ),
    "image.thumbnail_width": _spec("int", "Pixel width of the EXIF thumbnail (cameras: 160)."),
    "image.thumbnail_height": _spec("int", "Pixel height of the EXIF thumbnail (120, 106, 90)."),
    "image.thumbnail_aspect_differs": _spec(
        "bool",
        "The EXIF thumbnail's shape differs from the picture's by over 3 % (a crop, or a "
        "rotation of one and not the other); a camera's 4:3 letterbox of a wide frame is not.",
    ),
    "image.has_makernote": _spec(
        "bool", "The EXIF block has a MakerNote (the maker's private tags, written by cameras)."
    ),
    "image.xmp_history": _spec("list", "XMP editing history (action, when, software)."),
    "image.xmp_creator_tool": _spec(
        "str", "XMP xmp:CreatorTool: an editor named here on a camera original betrays a re-save."
    ),
    "image.xmp_document_id": _spec("str", "XMP xmpMM:DocumentID, shared by derived images."),
    "image.xmp_original_document_id": _spec(
        "str", "XMP xmpMM:OriginalDocumentID: the file this image was first derived from."
    ),
    "image.xmp_ancestors": _spec(
        "list", "photoshop:DocumentAncestors ids: images pasted in (composites share them)."
    ),
    "image.unique_id": _spec("str", "EXIF ImageUniqueID, set by some cameras per shot."),
    "image.owner_name": _spec("str", "EXIF CameraOwnerName: the owner set in the camera."),
    "image.host_computer": _spec("str", "EXIF HostComputer: the machine that wrote the file."),
    "image.jpeg_segments": _spec(
        "list", "JPEG APPn/COM segments in order (APP1 Exif, APP13 Photoshop 3.0): writer marks."
    ),
    "image.jpeg_first_segment": _spec(
        "str",
        "The first APPn/COM segment (APP0 JFIF from libjpeg-based editors; cameras write "
        "APP1 Exif first).",
    ),
    "image.jpeg_quant_hash": _spec(
        "str", "SHA-256 prefix of the JPEG quantisation tables: same hash, same encoder setting."
    ),
    "image.jpeg_quality": _spec(
        "int",
        "JPEG quality 1-100 on libjpeg's scale: exact for IJG or catalogued scaled tables "
        "(mozjpeg), else ImageMagick's estimate (Photoshop's 0-12 is never put here).",
    ),
    "image.jpeg_quality_estimated": _spec(
        "bool", "image.jpeg_quality is ImageMagick's approximation, not an exact table match."
    ),
    "image.jpeg_standard_tables": _spec(
        "bool",
        "The quantisation tables are exactly libjpeg's (IJG, Annex K) at image.jpeg_quality: "
        "Pillow, GIMP, ImageMagick, cjpeg and most web back ends write these.",
    ),
    "image.jpeg_encoder_family": _spec(
        "str",
        "Encoder family named by the tables or markers: libjpeg, mozjpeg, photoshop, camera, "
        "phone (rules/data/jpeg_encoders.yaml).",
    ),
    "image.jpeg_encoder": _spec(
        "str", "The program or maker, only where its tables or markers are unique to it."
    ),
    "image.jpeg_encoder_basis": _spec(
        "str", "Why the encoder was named: the table match (and its quality) or the marker."
    ),
    # --- email -------------------------------------------------------------------------------
    "email.from": _spec("str", "From header."),
    "email.to": _spec("list", "To addresses."),
    "email.cc": _spec("list", "Cc addresses."),
    "email.subject": _spec("str", "Subject header, decoded."),
    "email.date": _spec("datetime", "Date header, UTC."),
    "email.date_offset": _spec("str", "Offset the Date header was written with (+0200)."),
    "email.message_id": _spec("str", "Message-ID header."),
    "email.in_reply_to": _spec("str", "In-Reply-To header."),
    "email.references": _spec("list", "References header ids."),
    "email.x_mailer": _spec("str", "X-Mailer or User-Agent: the client that sent it."),
    "email.thread_index": _spec("str", "Outlook Thread-Index, hex."),
    "email.thread_index_time": _spec("datetime", "Time decoded from the Thread-Index header."),
    "email.thread_index_guid": _spec("str", "Conversation GUID decoded from the Thread-Index."),
    "email.received_hops": _spec("int", "Number of Received headers."),
    "email.received": _spec("list", "Received hops, newest first: by-host | from-host | time."),
    "email.received_first": _spec("datetime", "Time of the oldest Received hop, UTC."),
    "email.received_last": _spec("datetime", "Time of the newest Received hop, UTC."),
    "email.dkim_signatures": _spec("int", "Number of DKIM-Signature headers."),
    "email.dkim_domains": _spec("list", "d= domains of the DKIM signatures."),
    "email.attachments": _spec("list", "Attachment file names."),
    "email.attachment_count": _spec("int", "Number of attachments."),
    "email.message_count": _spec("int", "Messages in a mailbox file."),
    "email.thread_index_children": _spec(
        "int", "Reply blocks in the Thread-Index: the message's position in its thread."
    ),
    "email.submit_time": _spec("datetime", ".msg PR_CLIENT_SUBMIT_TIME: when the sender sent it."),
    "email.delivery_time": _spec(
        "datetime", ".msg PR_MESSAGE_DELIVERY_TIME: when it reached this mailbox."
    ),
    "email.has_transport_headers": _spec(
        "bool", ".msg carries Internet headers; a 'received' mail without them was made, not sent."
    ),
    "email.dkim_result": _spec(
        "str",
        "DKIM verdict of the signature that speaks for the message: pass (the signing domain's "
        "server sent exactly these signed headers and body), fail_body (text changed after "
        "signing), fail_signature (a signed header changed), no_key, key_revoked, unsupported, "
        "invalid.",
    ),
    "email.dkim_reason": _spec("str", "Why the DKIM verification ended as it did, in words."),
    "email.dkim_verdicts": _spec(
        "list", "Every DKIM-Signature in header order: 'd=domain s=selector: result'."
    ),
    "email.dkim_domain": _spec(
        "str", "d= of that signature: the domain that vouches for the mail."
    ),
    "email.dkim_selector": _spec("str", "s= of that signature: which of the domain's keys signed."),
    "email.dkim_algorithm": _spec("str", "a= of that signature (rsa-sha256; rsa-sha1 is weak)."),
    "email.dkim_key_bits": _spec(
        "int", "Size of the public key used; under 1024 bits it can be factored and forged."
    ),
    "email.dkim_signed_headers": _spec(
        "list", "h=: the headers the signature covers; any other header can be changed freely."
    ),
    "email.dkim_body_length": _spec("int", "l=: only this many body bytes are signed.", "bytes"),
    "email.dkim_unsigned_bytes": _spec(
        "int",
        "Body bytes after the l= limit: text that could have been appended after signing.",
        "bytes",
    ),
    "email.dkim_signed_at": _spec("datetime", "t=: when the server signed, UTC."),
    "email.dkim_expires": _spec("datetime", "x=: when the signature was meant to expire, UTC."),
    "email.dkim_headers_valid": _spec(
        "bool",
        "For a body-hash failure: the signed headers still verify, so only the body changed.",
    ),
    "email.dkim_warnings": _spec(
        "list",
        "What weakens the signature as evidence: unsigned_header:subject, body_length:N, "
        "unsigned_tail:N, weak_key:512, sha1, expired_before_date, mbox_from_unescaped.",
    ),
    "email.dkim_grade": _spec(
        "str", "For a pass: strong, or weak when a warning says the pass proves less."
    ),
    "email.arc_result": _spec(
        "str", "ARC chain (RFC 8617) verification: pass, fail, no_key, or none (ended upstream)."
    ),
    "email.arc_instances": _spec("int", "Number of ARC sets (forwarding hops that sealed it)."),
    "email.arc_reason": _spec("str", "Why the ARC verification ended as it did."),
    "email.arc_domains": _spec("list", "Domains that signed the ARC sets."),
    "email.received_offsets": _spec(
        "list", "Distinct UTC offsets the Received stamps were written with, oldest hop first."
    ),
    "email.received_max_backstep_s": _spec(
        "int",
        "Largest step back in time between consecutive Received hops, in seconds.",
        "seconds",
    ),
    "email.maildir_flags": _spec(
        "str",
        "Maildir flags from the file name (D draft, F flagged, R replied, S seen, T trashed).",
    ),
    # --- odf / rtf / html --------------------------------------------------------------------
    "odf.platform": _spec(
        "str", "Platform in meta:generator (Win32, Linux_X86_64): the OS the suite ran on."
    ),
    "odf.printed_by": _spec("str", "meta:printed-by: the account that last printed the file."),
    "odf.user_defined": _spec("list", "meta:user-defined properties as name=value."),
    "odf.annotation_authors": _spec("list", "Authors of comments (office:annotation dc:creator)."),
    "odf.change_authors": _spec("list", "Authors of tracked changes (text:changed-region)."),
    "odf.linked_content": _spec(
        "list",
        "Content linked from outside the package, as 'element → target' (draw:image, "
        "draw:object, text:section-source, table:table-source...); loaded when the file opens.",
    ),
    "rtf.internal_version": _spec(
        "int", "RTF \\vern: internal build number of the Word or writer that saved the file."
    ),
    "rtf.user_properties": _spec("list", "RTF \\userprops custom properties as name=value."),
    "rtf.field_codes": _spec(
        "list", "Field instructions that fetch or run something (INCLUDEPICTURE, LINK, DDEAUTO)."
    ),
    "html.remote_images": _spec(
        "list", "Remote <img> sources of a page or HTML mail body: loaded when it is shown."
    ),
    "html.tracking_pixels": _spec(
        "list", "Remote images sized 1x1/2x2 or hidden: web bugs that report who opened the file."
    ),
    "html.remote_resources": _spec(
        "list",
        "Remote resources loaded with the page or mail body, as 'element attribute → URL' "
        "(img src, CSS url(), link stylesheet, background, iframe, script...).",
    ),
    # --- yara: a newsroom's own byte patterns -----------------------------------------------
    "yara.matches": _spec(
        "list",
        "Newsroom YARA rules (--yara) that matched, as rule|where: raw bytes, zip:<part>, "
        "pdf-stream:<xref> or mail-part:<n>:<type> (decompressed).",
    ),
}


ZONE_FACTS: dict[str, str] = {
    **{
        name: f"{name}_tz_known"
        for name, field_spec in FIELDS.items()
        if field_spec.type == "datetime" and f"{name}_tz_known" in FIELDS
    },
    "archive.member_mtime_min": "archive.member_mtime_tz_known",
    "archive.member_mtime_max": "archive.member_mtime_tz_known",
}
"""Time fields -> the bool fact that says whether the time was written with a zone."""
ZONELESS: frozenset[str] = frozenset({"ooxml.zip_mtime_min", "ooxml.zip_mtime_max"})
"""Time fields that never carry a zone (zip DOS times): local wall-clock read as UTC."""


def spec(name: str) -> FieldSpec:
    """Return a field's spec; raise KeyError for a name outside the catalogue."""
    return FIELDS[name]


def is_known(name: str) -> bool:
    """True when ``name`` is a catalogue field."""
    return name in FIELDS
