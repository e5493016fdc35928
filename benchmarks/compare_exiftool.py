"""Agreement of leaktriage's extracted facts with ExifTool, field by field.

    python benchmarks/compare_exiftool.py DIR [--show 20] [--json OUT.json]

Runs ``exiftool -j -G1 -r`` and leaktriage (in-process) over the same files on disk (archive
members are left out: ExifTool does not read inside archives) and, for author,
last-modified-by, application, producer, created, modified and title, counts how often the
two agree where ExifTool reports the field. Strings are compared after Unicode and
white-space normalization; times are compared as instants when both sides carry a zone and
as wall-clock readings when ExifTool's value has none. Disagreements are listed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import leaktriage

# leaktriage field -> ExifTool "Group1:Tag" names, by preference (first one present is used).
TAGS: dict[str, tuple[str, ...]] = {
    "doc.author": (
        "PDF:Author",
        "XML:Creator",
        "FlashPix:Author",
        "RTF:Author",
        "HTML:Author",
        "XML:InitialCreator",
        "IFD0:Artist",
    ),
    "doc.last_modified_by": (
        "XML:LastModifiedBy",
        "FlashPix:LastModifiedBy",
        "RTF:LastModifiedBy",
        "XML:Creator",
    ),
    "doc.application": (
        "PDF:Creator",
        "XML:Application",
        "FlashPix:Software",
        "XML:Generator",
        "IFD0:Software",
        "HTML:Generator",
    ),
    "doc.producer": ("PDF:Producer",),
    "doc.created": (
        "PDF:CreateDate",
        "XML:CreateDate",
        "FlashPix:CreateDate",
        "RTF:CreateDate",
        "XML:CreationDate",
        "ExifIFD:DateTimeOriginal",
    ),
    "doc.modified": (
        "PDF:ModifyDate",
        "XML:ModifyDate",
        "FlashPix:ModifyDate",
        "RTF:ModifyDate",
        "XML:Date",
        "IFD0:ModifyDate",
    ),
    "doc.title": (
        "PDF:Title",
        "XML:Title",
        "FlashPix:Title",
        "RTF:Title",
        "HTML:Title",
        "IFD0:ImageDescription",
    ),
}

# Where ExifTool names a tag the same in two families with different meanings, the file's
# ExifTool FileType decides which leaktriage field it is compared with.
ODF_TYPES = {"ODT", "ODS", "ODP", "ODG", "ODF", "ODB", "ODI", "ODC"}
ODF_TAGS: dict[str, tuple[str, ...]] = {
    "doc.author": ("XML:InitialCreator",),
    "doc.last_modified_by": ("XML:Creator",),
    "doc.application": ("XML:Generator",),
    "doc.created": ("XML:CreationDate",),
    "doc.modified": ("XML:Date",),
    "doc.title": ("XML:Title",),
    "doc.producer": (),
}

_EXIF_TIME = re.compile(
    r"^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def _norm_text(value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = unicodedata.normalize("NFC", str(value))
    return " ".join(text.replace("\x00", "").split()).casefold()


def _texts_agree(mine: str, theirs: str) -> bool:
    """Equal, where a ``?`` in ExifTool's output stands for a character it could not decode."""
    if mine == theirs:
        return True
    if "?" not in theirs:
        return False
    pattern = "".join("." if ch == "?" else re.escape(ch) for ch in theirs)
    return re.fullmatch(pattern, mine, flags=re.DOTALL) is not None


def _exif_time(text: str) -> tuple[datetime, bool] | None:
    """ExifTool's time as (datetime, has_zone); a zone-less one is a naive wall clock."""
    match = _EXIF_TIME.match(str(text).strip())
    if not match:
        return None
    parts = [int(x) for x in match.groups()[:6]]
    try:
        value = datetime(*parts)  # noqa: DTZ001 - compared as wall clock when zone-less
    except ValueError:
        return None
    zone = match.group(7)
    if not zone:
        return value, False
    if zone == "Z":
        return value.replace(tzinfo=UTC), True
    digits = zone[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
    return value.replace(tzinfo=timezone(-delta if zone[0] == "-" else delta)), True


def _times_agree(ours: str, offset: str | None, theirs: str) -> bool:
    parsed = _exif_time(theirs)
    if parsed is None:
        return False
    value, has_zone = parsed
    mine = datetime.fromisoformat(ours.replace("Z", "+00:00"))
    if has_zone:
        return abs((mine - value).total_seconds()) < 2
    # ExifTool shows no zone: compare wall clocks, ours shifted back to its recorded offset.
    if offset:
        sign = -1 if offset.startswith("-") else 1
        hours, minutes = offset[1:].split(":")
        mine = mine + sign * timedelta(hours=int(hours), minutes=int(minutes))
    return abs((mine.replace(tzinfo=None) - value).total_seconds()) < 2


def compare(folder: Path, show: int) -> dict[str, Any]:
    """Run both tools on ``folder`` and return per-field agreement and disagreements."""
    if shutil.which("exiftool") is None:
        raise SystemExit("exiftool not found (Debian package libimage-exiftool-perl)")
    done = subprocess.run(
        ["exiftool", "-j", "-G1", "-r", "-q", "-q", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    exif = {
        str(Path(entry["SourceFile"]).resolve()): entry for entry in json.loads(done.stdout or "[]")
    }
    ours: dict[str, dict[str, Any]] = {}
    base = folder.resolve()
    for record in leaktriage.scan(folder, workers=2, max_depth=0):
        if record.depth != 0:
            continue
        relative = record.path.split("/", 1)[1] if "/" in record.path else ""
        key = str((base / relative).resolve()) if relative else str(base)
        ours[key] = record.to_json()["fields"]
    agree: Counter[str] = Counter()
    total: Counter[str] = Counter()
    misses: dict[str, list[str]] = defaultdict(list)
    for path, tags in sorted(exif.items()):
        fields = ours.get(path)
        if fields is None:
            continue
        table = ODF_TAGS if tags.get("File:FileType") in ODF_TYPES else TAGS
        for field, candidates in table.items():
            tag = next((t for t in candidates if t in tags and str(tags[t]).strip()), None)
            if tag is None:
                continue
            theirs = tags[tag]
            total[field] += 1
            mine = fields.get(field)
            if mine is None:
                ok = False
            elif field in ("doc.created", "doc.modified"):
                ok = _times_agree(str(mine), fields.get(field + "_offset"), str(theirs))
            else:
                ok = _texts_agree(_norm_text(mine), _norm_text(theirs))
            if ok:
                agree[field] += 1
            elif len(misses[field]) < show:
                misses[field].append(f"{path}: {tag}={theirs!r} vs {field}={mine!r}")
    return {
        "files_compared": len([p for p in exif if p in ours]),
        "fields": {
            field: {
                "agree": agree[field],
                "total": total[field],
                "rate": round(agree[field] / total[field], 4) if total[field] else None,
            }
            for field in TAGS
        },
        "disagreements": dict(misses),
    }


def main() -> int:
    """Print the agreement table and the disagreements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--show", type=int, default=20, help="disagreements listed per field")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args()
    result = compare(args.folder, args.show)
    print(f"files compared: {result['files_compared']}")
    print(f"{'field':<24} {'agree':>7} {'of':>7} {'rate':>8}")
    for field, row in result["fields"].items():
        rate = f"{row['rate']:.2%}" if row["rate"] is not None else "-"
        print(f"{field:<24} {row['agree']:>7} {row['total']:>7} {rate:>8}")
    for field, lines in result["disagreements"].items():
        print(f"\n{field}:")
        for line in lines:
            print(f"  {line}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
