"""devhost's memoized SDK timestamp parsing gives exactly what the SDK's own parser gives."""

from __future__ import annotations

from datetime import datetime, timezone

from dateutil.parser import parse as dateutil_parse

from devhost import sdk_speedups
from devhost.history import format_time
from devhost.host import DevHost

from .conftest import SAMPLE_APP

SAMPLES = ["2026-03-01T00:02:20.251432Z", "2026-03-01T00:02:20.2514320+00:00", "2026-12-06T06:17:03.520803Z",
           "2026-03-01T00:00:00Z", "2026-03-01 10:00:00", "0001-01-01T00:00:00Z"]


def test_each_parse_equals_dateutils_and_repeats_return_the_same_value():
    for text in SAMPLES:
        first = sdk_speedups._memoized_parse(text)
        assert first == dateutil_parse(text) and first.tzinfo == dateutil_parse(text).tzinfo
        assert sdk_speedups._memoized_parse(text) is first  # parsed once


def test_calls_the_cache_cannot_key_go_to_dateutil_unchanged():
    assert sdk_speedups._memoized_parse("01/02/2026", dayfirst=True) == dateutil_parse("01/02/2026", dayfirst=True)


def test_devhost_installs_it_and_the_sdks_own_parser_can_be_restored(tmp_path):
    sdk_speedups.uninstall()
    assert not sdk_speedups.installed()
    host = DevHost(SAMPLE_APP, db_path=str(tmp_path / "devhost.sqlite"))
    try:
        assert sdk_speedups.installed()
    finally:
        host.stop()
    stamp = format_time(datetime(2026, 3, 1, 0, 2, 20, 251432, tzinfo=timezone.utc))  # devhost's own format
    assert sdk_speedups._memoized_parse(stamp) == dateutil_parse(stamp)
