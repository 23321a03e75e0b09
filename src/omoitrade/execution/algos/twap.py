"""TWAP: the parent spread evenly over time, sliced every interval (see ``scheduled``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omoitrade.execution.algos.scheduled import ScheduledAlgorithm, ScheduleParams


@dataclass(frozen=True, slots=True, kw_only=True)
class TwapParams(ScheduleParams):
    """Time-weighted: the same quantity in every interval of the horizon."""


class Twap(ScheduledAlgorithm[TwapParams]):
    name = "TWAP"

    def _weights(self) -> tuple[Decimal, ...]:
        return (Decimal(1),)
