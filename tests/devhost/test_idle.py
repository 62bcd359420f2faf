"""wait_idle's test of idleness does not race the dispatcher: an episode that takes the last visible message
between its reads (and hands an activity out) must not make the host look idle."""

from __future__ import annotations

from datetime import datetime, timezone

from devhost.host import DevHost
from devkit.clock import VirtualClock

from .conftest import SAMPLE_APP


def test_a_change_between_the_reads_is_not_idle(tmp_path, monkeypatch):
    host = DevHost(SAMPLE_APP, db_path=str(tmp_path / "devhost.sqlite"),
                   clock=VirtualClock(datetime(2026, 3, 1, tzinfo=timezone.utc)))
    try:
        assert host._idle()  # nothing started, nothing due

        def taken_meanwhile():  # the dispatcher ran an episode while _idle was reading: no message left
            host._changes += 1
            return None

        monkeypatch.setattr(host, "_next_due", taken_meanwhile)
        assert not host._idle()
        monkeypatch.setattr(host, "_next_due", lambda: None)
        assert host._idle()
    finally:
        host.stop()
