import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.status import ACTIVE, TERMINAL, ErrorCode, RunStatus, is_terminal, map_status

TABLE = {
    "NotStarted": RunStatus.STARTING,
    "Queued": RunStatus.STARTING,
    "Running": RunStatus.RUNNING,
    "Completed": RunStatus.SUCCESS,
    "Failed": RunStatus.FAILED,
    "Canceled": RunStatus.CANCELLED,
}


@pytest.mark.parametrize("status", list(RunStatus))
def test_every_status_is_in_exactly_one_group(status):
    assert (status in TERMINAL) != (status in ACTIVE)


def test_groups_cover_the_enum_and_unknown_keeps_polling():
    assert set(RunStatus) == TERMINAL | ACTIVE
    assert RunStatus.UNKNOWN in ACTIVE
    assert not is_terminal(RunStatus.UNKNOWN)
    assert [s for s in RunStatus if is_terminal(s)] == [RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED]


def test_statuses_are_their_wire_spellings():
    assert [s.value for s in RunStatus] == ["Starting", "Running", "Success", "Failed", "Cancelled", "Unknown"]
    assert str(RunStatus.RUNNING) == "Running"
    assert json.dumps({"status": RunStatus.FAILED, "code": ErrorCode.TIMEOUT}) == (
        '{"status": "Failed", "code": "Timeout"}'
    )


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("Completed", RunStatus.SUCCESS),
        ("completed", RunStatus.SUCCESS),
        ("CANCELED", RunStatus.CANCELLED),
        (" Running ", RunStatus.RUNNING),
        ("Finalizing", RunStatus.UNKNOWN),
        ("", RunStatus.UNKNOWN),
        (None, RunStatus.UNKNOWN),
    ],
)
def test_map_status_matches_exactly_then_ignoring_case(remote, expected):
    assert map_status(TABLE, remote) is expected


def test_exact_key_wins_over_a_case_variant():
    table = {"paused": RunStatus.RUNNING, "Paused": RunStatus.FAILED}
    assert map_status(table, "Paused") is RunStatus.FAILED
    assert map_status(table, "paused") is RunStatus.RUNNING


def test_case_variants_that_disagree_are_unknown_not_a_guess():
    table = {"paused": RunStatus.RUNNING, "Paused": RunStatus.FAILED}
    assert map_status(table, "PAUSED") is RunStatus.UNKNOWN


@settings(max_examples=500, deadline=None)
@given(remote=st.one_of(st.none(), st.text(), st.integers(), st.lists(st.text())))
def test_map_status_never_raises(remote):
    assert map_status(TABLE, remote) in set(RunStatus)


def test_error_codes_are_distinct_camel_case_words():
    values = [c.value for c in ErrorCode]
    assert len(set(values)) == len(values)
    assert all(v[0].isupper() and v.isalpha() for v in values)


def test_a_throttled_remote_failure_has_its_own_code_so_a_scheduler_can_retry_it():
    assert ErrorCode.RATE_LIMITED.value == "RateLimited"
    assert ErrorCode.RATE_LIMITED is not ErrorCode.REMOTE_FAILED
