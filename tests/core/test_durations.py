from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.durations import START_TIMEOUT, TIMEOUT, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT6H", timedelta(hours=6)),
        ("P1D", timedelta(days=1)),
        ("PT90M", timedelta(minutes=90)),
        ("P1DT2H30M15S", timedelta(days=1, hours=2, minutes=30, seconds=15)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT1,25S", timedelta(seconds=1.25)),
        ("PT0.0000005S", timedelta(0)),  # rounds half to even at microseconds
        ("PT0.0000015S", timedelta(microseconds=2)),
        ("P2W", timedelta(days=14)),
        ("pt6h", timedelta(hours=6)),
        ("PT36H", timedelta(hours=36)),
        ("PT0S", timedelta(0)),
    ],
)
def test_parse_examples(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "ISO 8601 duration"),
        ("P", "ISO 8601 duration"),
        ("PT", "ISO 8601 duration"),
        ("P1DT", "ISO 8601 duration"),
        ("6H", "ISO 8601 duration"),
        ("PT1.5H", "ISO 8601 duration"),
        ("P1W2D", "ISO 8601 duration"),
        (" PT6H", "ISO 8601 duration"),
        ("PT\u0666H", "ISO 8601 duration"),  # an Arabic-Indic digit is not a digit here
        ("PT1234567890S", "ISO 8601 duration"),
        ("P1Y", "years or months"),
        ("P2M", "years or months"),
        ("P1Y2M3DT4H", "years or months"),
        ("-PT6H", "signed"),
        ("+PT6H", "signed"),
        ("P" + "1" * 80 + "D", "at most 64"),
        ("P999999999W", "too long"),
    ],
)
def test_parse_refusals_say_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_duration(text)


def test_parse_refuses_non_strings():
    with pytest.raises(ValueError, match="string"):
        parse_duration(3600)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(hours=6), "PT6H"),
        (timedelta(days=1), "P1D"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(days=1, seconds=1.5), "P1DT1.5S"),
        (timedelta(microseconds=1), "PT0.000001S"),
    ],
)
def test_format_is_canonical(value, text):
    assert format_duration(value) == text


def test_format_refuses_negative():
    with pytest.raises(ValueError):
        format_duration(timedelta(seconds=-1))


@settings(max_examples=1000, deadline=None)
@given(st.timedeltas(min_value=timedelta(0), max_value=TIMEOUT.maximum))
def test_format_then_parse_round_trips(value):
    assert parse_duration(format_duration(value)) == value


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=20) | st.from_regex(r"[Pp]([0-9]{1,3}[YMWD])?(T[0-9.,]{1,4}[HMS]){0,3}", fullmatch=True))
def test_parse_either_returns_or_raises_value_error(text):
    try:
        value = parse_duration(text)
    except ValueError as error:
        assert str(error)
    else:
        assert value >= timedelta(0)


def test_bounds_and_defaults():
    assert (TIMEOUT.default, START_TIMEOUT.default) == (timedelta(hours=24), timedelta(hours=6))
    assert TIMEOUT.parse("PT1M") == timedelta(minutes=1)
    assert TIMEOUT.parse("P30D") == timedelta(days=30)
    assert START_TIMEOUT.parse("P7D") == timedelta(days=7)
    with pytest.raises(ValueError, match="between PT1M and P30D"):
        TIMEOUT.parse("PT59S")
    with pytest.raises(ValueError, match="between PT1M and P7D"):
        START_TIMEOUT.parse("P8D")
