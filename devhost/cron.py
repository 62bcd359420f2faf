"""NCRONTAB schedules (`{second} {minute} {hour} {day} {month} {day-of-week}`) for timer triggers."""

from __future__ import annotations

from datetime import datetime, timedelta

_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
          "oct": 10, "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


class Schedule:
    """A parsed six-field NCRONTAB expression."""

    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) != 6:
            raise ValueError(f"timer schedule {expression!r} must have six fields (second first)")
        self.expression = expression
        self.sets = [_parse_field(text, low, high) for text, (low, high) in zip(fields, _RANGES, strict=True)]

    def next_after(self, after: datetime) -> datetime:
        """The first time strictly after `after` that the schedule matches."""
        when = after.replace(microsecond=0) + timedelta(seconds=1)
        seconds, minutes, hours, days, months, weekdays = self.sets
        for _ in range(366 * 24 * 60):  # at most a year of minutes
            if when.month not in months:
                when = (when.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
                continue
            if when.day not in days or (when.isoweekday() % 7) not in weekdays:
                when = when.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if when.hour not in hours:
                when = when.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if when.minute not in minutes:
                when = when.replace(second=0) + timedelta(minutes=1)
                continue
            later = [s for s in seconds if s >= when.second]
            if later:
                return when.replace(second=later[0])
            when = when.replace(second=0) + timedelta(minutes=1)
        raise ValueError(f"timer schedule {self.expression!r} never fires")


def _parse_field(text: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a), _value(b)
        else:
            start = _value(part)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"timer schedule field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _value(text: str) -> int:
    return _NAMES[text] if text in _NAMES else int(text)
