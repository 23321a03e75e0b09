"""VWAP: the parent spread over time like the market's volume (see ``scheduled``).

The volume profile's buckets cut the parent's horizon into equal parts, each taking its
weight of the quantity (linearly within a bucket). Build the profile from history with
:func:`~omoitrade.execution.algos.profile.volume_profile_from_bars`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omoitrade.execution.algos.profile import VolumeProfile
from omoitrade.execution.algos.scheduled import ScheduledAlgorithm, ScheduleParams


@dataclass(frozen=True, slots=True, kw_only=True)
class VwapParams(ScheduleParams):
    """Volume-weighted: ``profile`` says how much of the parent each bucket takes."""

    profile: VolumeProfile


class Vwap(ScheduledAlgorithm[VwapParams]):
    name = "VWAP"

    def _weights(self) -> tuple[Decimal, ...]:
        return self.params.profile.weights
