"""How often the JPEG table matcher names the encoder family and the quality of re-saves.

    python benchmarks/bench_jpeg_encoders.py PHOTOS_DIR [--qualities 50,75,85,95]
        [--convert /usr/bin/convert] [--cjpeg /usr/bin/cjpeg] [--mozjpeg PATH]
        [--max-side 1024] [--json OUT.json]

Takes the real camera photos under ``PHOTOS_DIR`` (every ``*.jpg``/``*.jpeg`` whose EXIF names
a Make; generated pictures are not camera photos), re-saves each with every encoder at each
quality, runs leaktriage's JPEG extractor on the originals and the re-saves, and prints, per
encoder, how often the family is named right and how often the quality is exact and within
+/-1. Encoders: Pillow (its bundled libjpeg), ImageMagick ``convert -quality N``,
libjpeg-turbo's ``cjpeg -quality N`` and mozjpeg's ``cjpeg -quality N`` (each skipped when its
program is not given or not found). The picture is reduced to ``--max-side`` pixels first
(tables do not depend on the size; it keeps the run short). Each photo's sha256 is printed
(and written with ``--json``), so a run can be repeated on the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from leaktriage import detect
from leaktriage.extractors import Source
from leaktriage.extractors.image.jpeg import extract

Encoder = Callable[[Image.Image, int, Path], bytes]


@dataclass
class Tally:
    """One encoder's counts over every photo and quality."""

    runs: int = 0
    family_right: int = 0
    exact: int = 0
    within_one: int = 0
    standard: int = 0
    misses: Counter[str] = field(default_factory=Counter)


def facts_of(data: bytes, name: str) -> dict[str, object]:
    """The extractor's facts for one JPEG (empty when it is refused)."""
    source = Source(name=name, mime=detect.sniff(data), size=len(data), data=data)
    try:
        return dict(extract(source).fields)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, never stops
        return {"error": f"{type(exc).__name__}: {exc}"}


def pillow(picture: Image.Image, quality: int, work: Path) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _program(argv: list[str], picture: Image.Image, work: Path) -> bytes:
    """Run an encoder on a PPM of ``picture`` and return what it wrote."""
    source, target = work / "in.ppm", work / "out.jpg"
    picture.save(source, "PPM")
    target.unlink(missing_ok=True)
    command = [part.replace("{in}", str(source)).replace("{out}", str(target)) for part in argv]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return target.read_bytes()


def program_encoder(argv: list[str]) -> Encoder:
    def encode(picture: Image.Image, quality: int, work: Path) -> bytes:
        return _program([a.replace("{q}", str(quality)) for a in argv], picture, work)

    return encode


def version(argv: list[str]) -> str:
    """The first line a program prints about its version (stdout or stderr)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except OSError as exc:
        return f"unavailable ({exc})"
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else "?"


def camera_photos(folder: Path) -> list[tuple[Path, bytes, dict[str, object]]]:
    """The JPEGs under ``folder`` whose EXIF names a camera make, sorted by path."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg") or not path.is_file():
            continue
        data = path.read_bytes()
        facts = facts_of(data, path.name)
        if facts.get("image.make"):
            found.append((path, data, facts))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--qualities", default="50,75,85,95")
    parser.add_argument("--convert", default="/usr/bin/convert")
    parser.add_argument("--cjpeg", default="/usr/bin/cjpeg")
    parser.add_argument("--mozjpeg", default=None, help="mozjpeg's cjpeg")
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    qualities = [int(q) for q in args.qualities.split(",")]

    encoders: dict[str, tuple[str, Encoder]] = {"pillow": ("libjpeg", pillow)}
    versions = {"pillow": f"Pillow {Image.__version__}"}
    tools = [
        ("imagemagick", args.convert, ["-quality", "{q}", "{in}", "{out}"], "libjpeg"),
        ("libjpeg-turbo cjpeg", args.cjpeg, ["-quality", "{q}", "-outfile", "{out}", "{in}"],
         "libjpeg"),
        ("mozjpeg cjpeg", args.mozjpeg, ["-quality", "{q}", "-outfile", "{out}", "{in}"],
         "mozjpeg"),
    ]  # fmt: skip
    for name, program, argv, family in tools:
        if program and (Path(program).is_file() or shutil.which(program)):
            encoders[name] = (family, program_encoder([program, *argv]))
            flag = "-version" if "cjpeg" in name else "--version"
            versions[name] = version([program, flag])

    photos = camera_photos(args.photos)
    print(f"machine: {platform.platform()}, Python {platform.python_version()}")
    for name, text in versions.items():
        print(f"encoder {name}: {text}")
    print(f"{len(photos)} camera photos under {args.photos}")

    originals: Counter[str] = Counter()
    tallies = {name: Tally() for name in encoders}
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_jpeg_") as scratch:
        work = Path(scratch)
        for path, data, facts in photos:
            digest = hashlib.sha256(data).hexdigest()
            family = str(facts.get("image.jpeg_encoder_family", "none"))
            originals[family] += 1
            record = {"path": str(path.relative_to(args.photos)), "sha256": digest,
                      "make": facts.get("image.make"), "original_family": family,
                      "original_quality": facts.get("image.jpeg_quality")}  # fmt: skip
            print(f"photo {digest} {record['path']} family={family}")
            try:
                with Image.open(io.BytesIO(data)) as opened:
                    picture = opened.convert("RGB")
                picture.thumbnail((args.max_side, args.max_side))
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                print(f"  not decodable: {exc}")
                continue
            for name, (expected, encode) in encoders.items():
                tally = tallies[name]
                for quality in qualities:
                    out = facts_of(encode(picture, quality, work), "resave.jpg")
                    got = out.get("image.jpeg_quality")
                    tally.runs += 1
                    tally.family_right += out.get("image.jpeg_encoder_family") == expected
                    tally.exact += got == quality
                    tally.within_one += isinstance(got, int) and abs(got - quality) <= 1
                    tally.standard += out.get("image.jpeg_standard_tables") is True
                    if out.get("image.jpeg_encoder_family") != expected:
                        tally.misses[f"{out.get('image.jpeg_encoder_family')}@{quality}"] += 1
            records.append(record)

    print()
    print("originals by family named: " + ", ".join(f"{k} {v}" for k, v in originals.most_common()))
    print()
    header = (
        f"{'encoder':22s} {'runs':>5s} {'family':>8s} {'exact q':>8s} {'q+/-1':>7s} {'IJG':>5s}"
    )
    print(header)
    for name, tally in tallies.items():
        runs = max(tally.runs, 1)
        print(
            f"{name:22s} {tally.runs:5d} {tally.family_right / runs:8.1%} "
            f"{tally.exact / runs:8.1%} {tally.within_one / runs:7.1%} {tally.standard:5d}"
        )
        if tally.misses:
            print(f"  {'':20s} misses: {dict(sorted(tally.misses.items()))}")
    if args.json:
        summary = {name: vars(t) | {"misses": dict(t.misses)} for name, t in tallies.items()}
        args.json.write_text(
            json.dumps({"versions": versions, "photos": records, "encoders": summary}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
