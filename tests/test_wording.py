"""Numbers in words: durations, sizes and shares as rule messages show them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leaktriage.rules import render_message
from leaktriage.rules.engine import show_value
from leaktriage.wording import DAY, HOUR, MONTH, YEAR, duration, in_words, share, size


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (1, "1 s"),
        (38, "38 s"),
        (60, "1 min"),
        (61, "1 min 1 s"),
        (47 * 60, "47 min"),
        (47 * 60 + 10, "47 min 10 s"),
        (HOUR, "1 h"),
        (5 * HOUR + 12 * 60, "5 h 12 min"),
        (5 * HOUR + 12 * 60 + 59, "5 h 12 min"),
        (DAY, "1 day"),
        (3 * DAY + 4 * HOUR, "3 days 4 h"),
        (45 * DAY, "1 month 14 days"),
        (364 * DAY, "11 months 29 days"),
        (YEAR, "1 year"),
        (2 * YEAR + 3 * MONTH, "2 years 3 months"),
        (187_608_704, "5 years 11 months"),
        (12.6, "13 s"),
        (-90, "minus 1 min 30 s"),
    ],
)
def test_durations_read_as_a_person_writes_them(seconds: float, words: str) -> None:
    assert duration(seconds) == words


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1 kB"),
        (1534, "1.5 kB"),
        (9_940, "9.9 kB"),
        (9_960, "10 kB"),
        (153_400, "153 kB"),
        (999_999, "1 MB"),
        (12_345_678, "12 MB"),
        (3_000_000_000, "3 GB"),
    ],
)
def test_sizes_in_decimal_units(count: int, words: str) -> None:
    assert size(count) == words


@pytest.mark.parametrize(
    ("fraction", "words"),
    [(0.0, "0 %"), (0.001, "1 %"), (0.5, "50 %"), (0.9734, "97 %"), (0.9999, "99 %"), (1, "100 %")],
)
def test_shares_as_whole_percentages_never_rounded_to_certainty(
    fraction: float, words: str
) -> None:
    assert share(fraction) == words


def test_in_words_dispatches_on_the_unit() -> None:
    assert (in_words(3720, "seconds"), in_words(2048, "bytes"), in_words(0.9, "fraction")) == (
        "1 h 2 min",
        "2 kB",
        "90 %",
    )


def test_messages_show_catalogue_units_in_words_and_evidence_stays_exact() -> None:
    facts = {
        "doc.edit_time_s": 187_608_704,
        "doc.created": datetime(2017, 5, 1, 9, 0, tzinfo=UTC),
        "email.received_max_backstep_s": 2820,
        "email.dkim_unsigned_bytes": 1534,
        "text.language_confidence": 0.9734,
        "doc.revision": 3,
    }
    template = (
        "{doc.edit_time_s} of editing since {doc.created}; {email.received_max_backstep_s} back;"
        " {email.dkim_unsigned_bytes} unsigned; {text.language_confidence} sure; revision"
        " {doc.revision}"
    )
    assert render_message(template, facts) == (
        "5 years 11 months of editing since 2017-05-01T09:00:00Z; 47 min back; 1.5 kB unsigned;"
        " 97 % sure; revision 3"
    )
    assert show_value(187_608_704) == "187608704"
    assert show_value(True, "seconds") == "true"
