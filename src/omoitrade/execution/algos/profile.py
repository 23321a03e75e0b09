"""Volume profiles for VWAP: how a day's volume is spread over a time-of-day window.

:func:`volume_profile_from_bars` sums historical bar volumes (from the bar catalog, say:
``ParquetCatalog.read_bars``) into equal buckets of a window of the day, over as many
days as the bars cover; a VWAP parent spreads its quantity over its own horizon with
those weights, bucket for bucket.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.execution.algos.schedule import normalized
from omoitrade.model.market_data import Bar

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    """The share of volume in each of consecutive equal buckets (normalized to sum to one)."""

    weights: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", normalized(self.weights))

    @classmethod
    def of(cls, weights: Sequence[Decimal | int | str]) -> VolumeProfile:
        """A profile from raw weights (volumes or shares; only their ratios matter)."""
        return cls(tuple(Decimal(w) for w in weights))

    @classmethod
    def uniform(cls, buckets: int) -> VolumeProfile:
        if buckets < 1:
            raise ValidationError("buckets", "must be at least 1", buckets)
        return cls((Decimal(1),) * buckets)

    def __len__(self) -> int:
        return len(self.weights)


def volume_profile_from_bars(
    bars: Iterable[Bar],
    buckets: int,
    *,
    window_start: time = time(0),
    window: timedelta = _DAY,
) -> VolumeProfile:
    """The profile of ``bars`` over the window ``[window_start, window_start + window)``
    of each day (UTC; it may cross midnight), cut into ``buckets`` equal buckets.

    A bar counts whole in the bucket holding its timestamp (its start); bars outside
    the window are ignored. Raises ValidationError if no bar in the window has volume.
    """
    if buckets < 1:
        raise ValidationError("buckets", "must be at least 1", buckets)
    if not timedelta(0) < window <= _DAY:
        raise ValidationError("window", "must be longer than zero and at most a day", window)
    if window_start.tzinfo is not None:
        raise ValidationError("window_start", "must be a naive time of day (UTC)", window_start)
    origin = timedelta(
        hours=window_start.hour,
        minutes=window_start.minute,
        seconds=window_start.second,
        microseconds=window_start.microsecond,
    )
    volumes = [Decimal(0)] * buckets
    for bar in bars:
        moment = bar.timestamp
        of_day = timedelta(
            hours=moment.hour,
            minutes=moment.minute,
            seconds=moment.second,
            microseconds=moment.microsecond,
        )
        offset = (of_day - origin) % _DAY
        if offset >= window:
            continue
        volumes[offset * buckets // window] += bar.volume
    if not any(volumes):
        raise ValidationError("bars", "have no volume inside the window")
    return VolumeProfile(tuple(volumes))
