"""Iceberg: show only ``display_quantity`` at the parent's limit, one child at a time.

The visible child is a limit order at the parent's limit price; when it has filled
completely the next one is placed, until the parent is done. A partly filled child
stays as it is (the book shows less than the display quantity, never more).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.execution.algos.base import ExecutionAlgorithm
from omoitrade.execution.algos.params import AlgoParams
from omoitrade.execution.algos.parent import AlgoTrigger
from omoitrade.model.enums import OrderType
from omoitrade.model.money import ZERO, to_decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class IcebergParams(AlgoParams):
    display_quantity: Decimal

    def __post_init__(self) -> None:
        AlgoParams.__post_init__(self)
        if to_decimal("display_quantity", self.display_quantity) <= 0:
            raise ValidationError("display_quantity", "must be greater than 0")


class Iceberg(ExecutionAlgorithm[IcebergParams]):
    name = "ICEBERG"

    def _check(self) -> None:
        if self.parent.limit_price is None:
            raise ValidationError("limit_price", "is required by an iceberg")
        rule = self.instrument.quantity_rule(self.params.display_quantity)
        if rule is not None:
            raise ValidationError("display_quantity", rule, self.params.display_quantity)

    def _begin(self) -> None:
        end = self.parent.end_ns
        if end is not None:
            self._alarm("end", end, lambda _: self._stop(AlgoTrigger.EXPIRE, "end time reached"))

    def _work(self) -> None:
        if self.children.open():
            return
        free, minimum = self.unworked_quantity, self._minimum
        quantity = min(self.params.display_quantity, free)
        rest = free - quantity
        if ZERO < rest < minimum and quantity - (minimum - rest) >= minimum:
            quantity -= minimum - rest  # leave a sendable rest rather than show more
        if quantity >= minimum:
            self._send(quantity, OrderType.LIMIT, self.parent.limit_price)
