"""Settings of the pre-trade checks that are not :class:`~omoitrade.model.risk.RiskLimit` rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.identifiers import InstrumentId

SECOND_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Per-portfolio check settings; ``None`` turns a check off.

    - ``price_collar``: the largest allowed distance of a limit or stop price from the
      reference price, as a fraction (``Decimal("0.05")`` = 5%).
    - ``max_net_exposure``: bound on ``|sum of signed position values|`` in quote currency.
    - ``max_open_orders``: working orders allowed at once, this order included.
    - ``check_buying_power``: orders that open exposure must be covered by the balance.
    - ``duplicate_window_ns``: an order equal to one accepted this recently is a duplicate.
    - ``restricted_instruments``: instruments no order may trade.
    - ``warning_threshold``: the share of a limit at which a warning fires.
    """

    price_collar: Decimal | None = Decimal("0.10")
    max_net_exposure: Decimal | None = None
    max_open_orders: int | None = None
    check_buying_power: bool = True
    duplicate_window_ns: int | None = SECOND_NS
    restricted_instruments: frozenset[InstrumentId] = field(default_factory=frozenset)
    warning_threshold: Decimal = Decimal("0.8")

    def __post_init__(self) -> None:
        if self.price_collar is not None and self.price_collar <= 0:
            raise ValidationError("price_collar", "must be greater than 0", self.price_collar)
        if self.max_net_exposure is not None and self.max_net_exposure <= 0:
            raise ValidationError(
                "max_net_exposure", "must be greater than 0", self.max_net_exposure
            )
        if self.max_open_orders is not None and self.max_open_orders < 1:
            raise ValidationError("max_open_orders", "must be at least 1", self.max_open_orders)
        if self.duplicate_window_ns is not None and self.duplicate_window_ns <= 0:
            raise ValidationError(
                "duplicate_window_ns", "must be greater than 0", self.duplicate_window_ns
            )
        if not 0 < self.warning_threshold < 1:
            raise ValidationError(
                "warning_threshold", "must be between 0 and 1", self.warning_threshold
            )


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """The repeated-execution throttle: ``max_executions`` automated executions of one
    strategy within ``window_ns`` disable it (see :class:`~omoitrade.risk.ExecutionThrottle`)."""

    max_executions: int = 20
    window_ns: int = 600 * SECOND_NS

    def __post_init__(self) -> None:
        if self.max_executions < 1:
            raise ValidationError("max_executions", "must be at least 1", self.max_executions)
        if self.window_ns <= 0:
            raise ValidationError("window_ns", "must be greater than 0", self.window_ns)
