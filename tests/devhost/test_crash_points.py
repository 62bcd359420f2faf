"""devhost's crash points: armed only by DEVHOST_CRASH_AT, by well-formed names (tests/reliability uses them)."""

from __future__ import annotations

import pytest

from devhost.crash_points import SETTING, CrashPoints, armed_points


def test_unset_means_no_crash_point_and_reaching_an_unarmed_point_does_nothing():
    assert armed_points({}) == frozenset() and armed_points({SETTING: ""}) == frozenset()
    CrashPoints(frozenset()).reach("continue_as_new:before_commit", "run-1")  # returns: this process lives on
    CrashPoints(frozenset({"continue_as_new:after_commit"})).reach("activity_done:submit_run", "run-1")
    CrashPoints(frozenset({"activity_done:submit_run@abacus"})).reach("activity_done:submit_run", "run-1-aml")


def test_several_points_may_be_armed_and_a_malformed_one_is_refused_at_start():
    armed = armed_points({SETTING: "continue_as_new:before_commit, activity_done:submit_run"})
    assert armed == {"continue_as_new:before_commit", "activity_done:submit_run"}
    assert armed_points({SETTING: "activity_done:cancel_run@abacus"}) == {"activity_done:cancel_run@abacus"}
    for wrong in ("continue_as_new", "activity_done:", "activity_done:a b", "anywhere", "activity_done:x@"):
        with pytest.raises(ValueError, match="is not a crash point"):
            armed_points({SETTING: wrong})
