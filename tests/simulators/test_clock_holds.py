"""devkit.clock.VirtualClock holds: time may reach a held moment but not pass it until the holder moves or drops it."""

from datetime import timedelta

from devkit.clock import VirtualClock


def test_a_hold_stops_jumps_at_its_moment_until_moved_or_dropped():
    clock = VirtualClock()
    start = clock.now()
    clock.set_hold("sim", start + timedelta(seconds=10))
    assert clock.advance(60) == start + timedelta(seconds=10)
    assert clock.advance(60) == start + timedelta(seconds=10)  # held there, however often asked
    clock.set_hold("sim", start + timedelta(seconds=30))  # moved in one step
    assert clock.advance(60) == start + timedelta(seconds=30)
    clock.set_hold("sim", None)
    assert clock.advance(60) == start + timedelta(seconds=90)


def test_the_earliest_of_several_holds_and_the_limit_wins():
    clock = VirtualClock()
    start = clock.now()
    clock.limit = start + timedelta(seconds=50)
    clock.set_hold("a", start + timedelta(seconds=40))
    clock.set_hold("b", start + timedelta(seconds=20))
    assert clock.advance_to(start + timedelta(hours=1)) == start + timedelta(seconds=20)
    clock.set_hold("b", None)
    assert clock.advance_to(start + timedelta(hours=1)) == start + timedelta(seconds=40)
    clock.set_hold("a", None)
    assert clock.advance_to(start + timedelta(hours=1)) == start + timedelta(seconds=50)
