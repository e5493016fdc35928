"""Email: RFC 822 messages (.eml), mbox mailboxes, Outlook .msg and .pst files, one module per
format, each registered on its own (their records all say ``email@1``).

A message gives its header facts and hands every attachment back to the pipeline as a child
item; a mailbox hands back each message. Header decoding (``headers``), the Received chain
(``received``), DKIM/ARC (``dkim``), the MIME tree (``mime``, ``attachments``) and the MAPI
property reader (``mapi``) are shared by the formats that need them.

Common facts, since ExifTool reads none of these formats (it types .eml as TXT and .msg as
FPX, with no metadata): see ``headers`` (.eml and transport headers) and ``msg``.
"""

from leaktriage.extractors.email import eml, mbox, msg, pst

__all__ = ["eml", "mbox", "msg", "pst"]
