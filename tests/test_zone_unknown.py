"""Times written without a zone are compared with zoned ones within ±14 h, never as UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import leaktriage
from corpus_fixtures.builders import image as fixtures
from leaktriage.model import FieldValue, FileRecord, Finding
from leaktriage.rules.engine import ZONE_NOTE, Context, Leaf, evaluate, zone_known

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TAKEN = datetime(2017, 5, 5, 23, 0, tzinfo=UTC)
"""EXIF DateTimeOriginal 2017:05:05 23:00:00 without OffsetTimeOriginal, read as UTC."""
XMP_MODIFIED = datetime(2017, 5, 5, 21, 30, tzinfo=UTC)
"""A zoned time, 2017-05-05T21:30:00+00:00."""


def _ctx(leak: date | None = None) -> Context:
    return Context(leak, NOW, {})


def _photo(taken: str, modified: str, offset: str | None, leak: date | None) -> FileRecord:
    data = fixtures.photo_times(taken, modified, offset)
    return leaktriage.triage_file(data, name="photo.jpg", workers=0, leak_date=leak)[0]


def _finding(record: FileRecord, rule: str) -> Finding | None:
    return next((f for f in record.findings if f.rule_id == rule), None)


def test_exif_times_without_offset_say_their_zone_is_unknown() -> None:
    record = _photo("2017:05:05 23:00:00", "2017:05:05 21:30:00", "+00:00", None)
    f = record.fields
    assert f["image.datetime_original"] == TAKEN
    assert f["image.datetime_original_tz_known"] is False
    assert f["image.datetime"] == XMP_MODIFIED
    assert f["image.datetime_tz_known"] is True


def test_zone_less_original_an_hour_and_a_half_after_a_zoned_modify_is_no_finding() -> None:
    record = _photo("2017:05:05 23:00:00", "2017:05:05 21:30:00", "+00:00", None)
    assert _finding(record, "image-original-after-modified") is None


def test_zone_less_original_three_days_after_a_zoned_modify_is_a_finding() -> None:
    record = _photo("2017:05:08 23:00:00", "2017:05:05 21:30:00", "+00:00", None)
    found = _finding(record, "image-original-after-modified")
    assert found is not None
    notes = {e.field: (e.value, e.note) for e in found.evidence}
    assert notes["image.datetime_original"] == ("2017-05-08T23:00:00Z", ZONE_NOTE)
    assert notes["image.datetime"] == ("2017-05-05T21:30:00Z", "")


def test_two_zone_less_times_of_one_camera_compare_as_they_are() -> None:
    record = _photo("2017:05:05 23:00:00", "2017:05:05 21:30:00", None, None)
    found = _finding(record, "image-original-after-modified")
    assert found is not None
    assert all(e.note == "" for e in found.evidence)


def test_zone_less_photo_time_on_the_leak_day_boundary_is_no_finding() -> None:
    # 10:00 on the day after the leak day, read as UTC; in UTC-10 it was still the leak day.
    record = _photo("2017:05:06 10:00:00", "2017:05:06 10:00:00", None, date(2017, 5, 5))
    assert _finding(record, "image-time-after-leak-date") is None
    record = _photo("2017:05:05 23:00:00", "2017:05:05 23:00:00", None, date(2017, 5, 5))
    assert _finding(record, "image-time-after-leak-date") is None


def test_zone_less_photo_time_three_days_after_the_leak_is_a_finding() -> None:
    record = _photo("2017:05:08 23:00:00", "2017:05:08 23:00:00", None, date(2017, 5, 5))
    found = _finding(record, "image-time-after-leak-date")
    assert found is not None
    notes = {e.field: (e.value, e.note) for e in found.evidence}
    assert notes["image.datetime_original"] == ("2017-05-08T23:00:00Z", ZONE_NOTE)


def test_engine_orders_a_zone_less_time_against_a_zoned_one_within_14_hours() -> None:
    facts: dict[str, FieldValue] = {
        "image.datetime_original": TAKEN,
        "image.datetime_original_tz_known": False,
        "doc.modified": XMP_MODIFIED,
        "doc.modified_tz_known": True,
    }
    after = Leaf("image.datetime_original", "after_field", "doc.modified")
    before = Leaf("doc.modified", "before_field", "image.datetime_original")
    equal = Leaf("image.datetime_original", "equals_field", "doc.modified")
    differs = Leaf(
        "image.datetime_original", "differs_by_more_than", {"field": "doc.modified", "hours": 1}
    )
    assert evaluate(after, facts, _ctx()) == (False, [])
    assert evaluate(before, facts, _ctx()) == (False, [])
    assert evaluate(differs, facts, _ctx()) == (False, [])
    ok, read = evaluate(equal, facts, _ctx())
    assert ok is True
    assert ("image.datetime_original", TAKEN, ZONE_NOTE) in read
    # Zoned on both sides, the same 1 h 30 min is an order and a difference.
    zoned = {**facts, "image.datetime_original_tz_known": True}
    assert evaluate(after, zoned, _ctx())[0] is True
    assert evaluate(differs, zoned, _ctx())[0] is True
    assert evaluate(equal, zoned, _ctx())[0] is False


def test_engine_three_days_apart_is_an_order_whatever_the_zone() -> None:
    later = TAKEN + timedelta(days=3)
    facts: dict[str, FieldValue] = {
        "image.datetime_original": later,
        "image.datetime_original_tz_known": False,
        "doc.modified": XMP_MODIFIED,
    }
    ok, read = evaluate(
        Leaf("image.datetime_original", "after_field", "doc.modified"), facts, _ctx()
    )
    assert ok is True
    assert read == [
        ("image.datetime_original", later, ""),
        ("doc.modified", XMP_MODIFIED, ""),
        ("image.datetime_original", later, ZONE_NOTE),
    ]


def test_engine_leak_date_and_literals_against_a_zone_less_time() -> None:
    facts: dict[str, FieldValue] = {"ooxml.zip_mtime_max": datetime(2017, 5, 6, 13, tzinfo=UTC)}
    leak = _ctx(date(2017, 5, 5))  # the leak day ends 2017-05-06T00:00Z
    gt_leak = Leaf("ooxml.zip_mtime_max", "gt", "$leak_date")
    assert evaluate(gt_leak, facts, leak)[0] is False  # 13 h after the day's end: no
    facts["ooxml.zip_mtime_max"] = datetime(2017, 5, 6, 14, 1, tzinfo=UTC)
    assert evaluate(gt_leak, facts, leak)[0] is True
    facts["ooxml.zip_mtime_max"] = datetime(2017, 5, 6, 13, 59, tzinfo=UTC)
    assert evaluate(gt_leak, facts, leak)[0] is False
    assert (
        evaluate(Leaf("ooxml.zip_mtime_max", "lt", "2017-05-07T03:00:00Z"), facts, leak)[0] is False
    )
    assert (
        evaluate(Leaf("ooxml.zip_mtime_max", "lt", "2017-05-07T04:00:00Z"), facts, leak)[0] is True
    )
    equals = Leaf("ooxml.zip_mtime_max", "equals", "2017-05-06T04:00:00Z")
    assert evaluate(equals, facts, leak)[0] is True


def test_zone_knowledge_comes_from_the_companion_facts_and_the_catalogue() -> None:
    assert zone_known("doc.created", {"doc.created_tz_known": False}) is False
    assert zone_known("doc.created", {"doc.created_tz_known": True}) is True
    assert zone_known("doc.created", {}) is True
    assert zone_known("ooxml.zip_mtime_max", {}) is False  # DOS times never have a zone
    assert zone_known("archive.member_mtime_max", {"archive.member_mtime_tz_known": False}) is False
    assert zone_known("file.mtime", {"file.mtime_tz_known": False}) is False
    assert zone_known("ole.root_modified", {}) is True  # FILETIME: UTC
    assert zone_known(None, {}) is True
