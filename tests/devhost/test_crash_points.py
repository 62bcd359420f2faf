"""devhost's crash points: armed only by DEVHOST_CRASH_AT, by a known name (tests/reliability uses them)."""

from __future__ import annotations

import pytest

from devhost.crash_points import POINTS, SETTING, CrashPoints, armed_point


def test_unset_means_no_crash_point_and_reaching_a_point_does_nothing():
    assert armed_point({}) is None and armed_point({SETTING: ""}) is None
    CrashPoints(None).reach("continue_as_new:before_commit", "run-1")  # returns: this process lives on
    CrashPoints("continue_as_new:after_commit").reach("continue_as_new:before_commit", "run-1")


def test_an_unknown_point_is_refused_at_start_naming_the_known_ones():
    with pytest.raises(ValueError, match="continue_as_new:before_commit"):
        armed_point({SETTING: "continue_as_new"})
    assert all(armed_point({SETTING: point}) == point for point in POINTS)
