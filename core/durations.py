"""ISO 8601 durations for `timeout` and `startTimeout`, and the bounds each may take.

Accepted: `PnW` alone, or `PnDTnHnMnS` with any components present (`PT6H`, `P1D`, `PT90M`,
`P1DT2H30M`, `PT0.5S`). A fraction is allowed on seconds only (`.` or `,`), rounded to microseconds.
Designators may be lower case (`pt6h`). Refused: years and months (not fixed lengths: use days), signs,
`P` or `PT` with nothing after them, spaces, and more than nine digits in a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

_NUMBER = r"[0-9]{1,9}"
_GRAMMAR = re.compile(
    rf"P(?:(?P<weeks>{_NUMBER})W"
    rf"|(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?=[0-9])(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?"
    rf"(?:(?P<seconds>{_NUMBER}(?:[.,]{_NUMBER})?)S)?)?)"
)
_YEARS_OR_MONTHS = re.compile(r"P(?:[0-9]+(?:[.,][0-9]+)?[YMW])*[0-9]+(?:[.,][0-9]+)?[YM]")
_MAX_TEXT = 64
_MICROSECOND = Decimal("0.000001")
_SECONDS = {"weeks": 604_800, "days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}
# Far beyond any bound we apply, and well inside what timedelta can hold.
_LONGEST = timedelta(days=365 * 100)


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 duration (see the module docstring); raise ValueError with a reason."""
    if not isinstance(text, str):
        raise ValueError("must be an ISO 8601 duration string such as PT6H")
    if len(text) > _MAX_TEXT:
        raise ValueError(f"must be at most {_MAX_TEXT} characters")
    upper = text.upper()
    if upper.startswith(("-", "+")):
        raise ValueError("must not be signed")
    if _YEARS_OR_MONTHS.match(upper):
        raise ValueError("must not use years or months (not fixed lengths); use days, e.g. P30D")
    match = _GRAMMAR.fullmatch(upper)
    if match is None or not any(match.groupdict().values()):
        raise ValueError("must be an ISO 8601 duration such as PT6H, P1D or PT90M")
    total = Decimal(0)
    for unit, amount in match.groupdict().items():
        if amount is not None:
            total += Decimal(amount.replace(",", ".")) * _SECONDS[unit]
    micros = int((total / _MICROSECOND).to_integral_value(ROUND_HALF_EVEN))
    if micros > _LONGEST // timedelta(microseconds=1):
        raise ValueError("is too long")
    return timedelta(microseconds=micros)


def format_duration(value: timedelta) -> str:
    """Render a non-negative timedelta in the canonical form `parse_duration` reads back exactly."""
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError("a duration must not be negative")
    days, micros = divmod(micros, 86_400_000_000)
    hours, micros = divmod(micros, 3_600_000_000)
    minutes, micros = divmod(micros, 60_000_000)
    seconds, micros = divmod(micros, 1_000_000)
    text = f"P{days}D" if days else "P"
    clock = ""
    if hours:
        clock += f"{hours}H"
    if minutes:
        clock += f"{minutes}M"
    if seconds or micros:
        clock += f"{seconds}.{micros:06d}".rstrip("0").rstrip(".") + "S"
    if clock:
        text += "T" + clock
    return text if text != "P" else "PT0S"


@dataclass(frozen=True)
class DurationBounds:
    """The default and the allowed range of one duration field."""

    default: timedelta
    minimum: timedelta
    maximum: timedelta

    def parse(self, text: str) -> timedelta:
        """Parse `text` and check it lies within the bounds; raise ValueError with a reason."""
        value = parse_duration(text)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"must be between {format_duration(self.minimum)} and {format_duration(self.maximum)}")
        return value


# `timeout` bounds the run once it is Running. A day by default: long enough for most training
# pipelines, short enough that a forgotten job does not burn compute for a week; up to 30 days.
TIMEOUT = DurationBounds(default=timedelta(hours=24), minimum=timedelta(minutes=1), maximum=timedelta(days=30))
# `startTimeout` bounds the time from submit to the first Running (queueing, compute provisioning).
# Six hours by default, for low-priority clusters that scale from zero; up to 7 days.
START_TIMEOUT = DurationBounds(default=timedelta(hours=6), minimum=timedelta(minutes=1), maximum=timedelta(days=7))
