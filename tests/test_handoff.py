"""What the scan process holds while workers parse: bytes past HANDOFF_BYTES reach a worker
on this machine as a path, never as bytes kept in the scanning process."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from leaktriage.config import ScanConfig
from leaktriage.extractors import Child, Extraction, Source
from leaktriage.model import Status
from leaktriage.pipeline.extract import Outcome
from leaktriage.pipeline.items import HANDOFF_BYTES, Pipeline

BIG = b"Ordre du jour du conseil, version longue.\n" * 2_600  # 109,200 bytes
SMALL = b"Liste des invites au point presse du 3 mai.\n"
NOTE = b"Liste des journalistes accredites.\n"
ATTACHED = b"Tableau des depenses de deplacement, avril.\n" * 1_000  # 44,000 bytes


class _RecordingPool:
    """Answers every job at once; the first one with one large and one small inner item."""

    busy = 0

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self._done: list[tuple[int, Outcome]] = []

    def submit(self, job_id: int, source: Source) -> None:
        data = source.read()
        self.sources.append(
            Source(
                name=source.name,
                mime=source.mime,
                size=source.size,
                data=source.data,
                path=source.path,
                text_sample_bytes=len(data),  # the bytes the worker could read, kept here
            )
        )
        children = []
        if source.name == "mail.eml":
            children = [
                Child("attachment:depenses.txt", ATTACHED),
                Child("attachment:liste.txt", NOTE),
            ]
        self._done.append(
            (job_id, (Extraction(children=children), "test@1", Status.OK, "text/plain"))
        )

    def finished(self, block: bool = False) -> list[tuple[int, Outcome]]:
        done, self._done = self._done, []
        return done


def test_a_local_worker_is_handed_paths_past_the_handoff_size(tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "conseil.txt").write_bytes(BIG)
    (dump / "invites.txt").write_bytes(SMALL)
    (dump / "mail.eml").write_bytes(SMALL + b"\n")
    temp = tmp_path / "temp"
    temp.mkdir()
    pool = _RecordingPool()
    pipeline = Pipeline(ScanConfig(workers=1), temp, pool=pool)  # type: ignore[arg-type]
    assert pipeline.limits.memory_spool_bytes == HANDOFF_BYTES == 32 * 1024
    records = sorted(pipeline.records(dump), key=lambda r: r.path)
    assert [(r.path, r.size, r.status) for r in records] == [
        ("dump/conseil.txt", 109_200, Status.OK),
        ("dump/invites.txt", 44, Status.OK),
        ("dump/mail.eml", 45, Status.OK),
        ("dump/mail.eml!attachment:depenses.txt", 44_000, Status.OK),
        ("dump/mail.eml!attachment:liste.txt", 35, Status.OK),
    ]
    handed = {s.name: (s.data is not None, s.path, s.text_sample_bytes) for s in pool.sources}
    # The dump's own large file: its path in the dump, no bytes held.
    assert handed["conseil.txt"] == (False, dump / "conseil.txt", 109_200)
    assert handed["invites.txt"][0] is True
    # The large attachment went straight to a private temp file, removed once parsed.
    held, path, read = handed["attachment:depenses.txt"]
    assert (held, read) == (False, 44_000)
    assert path is not None and path.parent == temp and not path.exists()
    assert handed["attachment:liste.txt"][0] is True
    assert list(temp.iterdir()) == []


def test_a_remote_cluster_still_gets_bytes_up_to_the_spool_limit(tmp_path: Path) -> None:
    class _Remote(_RecordingPool):
        remote = True

    pipeline = Pipeline(ScanConfig(workers=1), tmp_path, pool=_Remote())  # type: ignore[arg-type]
    assert pipeline.limits.memory_spool_bytes == 64 * 1024 * 1024


def test_a_worker_hands_large_inner_items_back_as_files(tmp_path: Path) -> None:
    from email.message import EmailMessage

    from leaktriage.pipeline.extract import SPILL_BYTES, extract_item

    message = EmailMessage()
    message["From"] = "Julien Marchetti <julien.marchetti@campagne-exemple.fr>"
    message["To"] = "Camille Durand-Lefort <camille.durand-lefort@campagne-exemple.fr>"
    message["Subject"] = "Depenses d'avril"
    message["Date"] = "Tue, 02 May 2017 10:15:00 +0200"
    message.set_content("Voici les deux tableaux.")
    message.add_attachment(ATTACHED, maintype="text", subtype="plain", filename="depenses.txt")
    message.add_attachment(NOTE, maintype="text", subtype="plain", filename="liste.txt")
    data = message.as_bytes()
    spill = tmp_path / "temp"
    spill.mkdir()
    source = Source(name="avril.eml", mime="message/rfc822", size=len(data), data=data)
    extraction, _, status, _ = extract_item(replace(source, spill_dir=spill))
    assert status is Status.OK and len(ATTACHED) > SPILL_BYTES >= len(NOTE)
    big, small = extraction.children
    assert (big.name, big.data, big.size) == ("attachment:depenses.txt", b"", 44_000)
    assert big.path is not None and big.path.parent == spill
    assert big.path.read_bytes() == ATTACHED
    assert (small.name, small.data, small.path) == ("attachment:liste.txt", NOTE, None)
    # Without a folder (the scan's own process, or a remote cluster) the bytes stay in place.
    extraction, _, _, _ = extract_item(source)
    assert [c.data for c in extraction.children] == [ATTACHED, NOTE]
