"""The validation phase: the risk engine's verdict on the order a signal would make, and
the gates that stop it for a person (high value, unusual) or raise an alert (a risk
limit 80% full). Each gate's decision and reason go into the signal's
``validation_result``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.identifiers import ClientOrderId, InstrumentId, OrderId, StrategyId
from omoitrade.model.instruments import Instrument
from omoitrade.model.orders import Order
from omoitrade.model.signals import Signal
from omoitrade.signals.plan import ExecutionPlan, SettingsBook
from omoitrade.signals.ports import MarketView, RiskPreview
from omoitrade.signals.unusual import RollingStats

HIGH_VALUE = "high_value"
UNUSUAL = "unusual_signal"
_PREVIEW_ID = ClientOrderId("signal-preview")
_PREVIEW_ORDER_ID = OrderId(int=0)  # a previewed order is never stored: one id serves all


@dataclass(frozen=True, slots=True)
class Verdict:
    """What validation found: a rejection, or the gates that want a person, or a pass."""

    result: dict[str, Any]
    quantity: Decimal = Decimal(0)
    price: Decimal | None = None
    rejection: str | None = None
    approval_gates: tuple[str, ...] = ()
    pause_reason: str | None = None


@dataclass(slots=True)
class _History:
    strength: RollingStats
    prices: dict[InstrumentId, RollingStats] = field(default_factory=dict)


class Validator:
    """Judges entry signals; remembers each strategy's recent signals for the unusual gate."""

    def __init__(
        self,
        risk: RiskPreview,
        market: MarketView,
        settings: SettingsBook,
        ids: IdGenerator,
    ) -> None:
        self.risk, self.market, self.settings, self.ids = risk, market, settings, ids
        self._history: dict[StrategyId, _History] = {}

    def judge(
        self, signal: Signal, plan: ExecutionPlan, instrument: Instrument, side: OrderSide
    ) -> Verdict:
        settings = self.settings.of(plan.portfolio_id)
        price = signal.entry_price or self.market.price(instrument.id)
        if price is None:
            return _reject({}, "no_reference_price", f"no price for {instrument.symbol} yet")
        quantity = plan.size(
            price, instrument.lot_size, instrument.min_quantity, settings.sizing_fee_rate
        )
        result: dict[str, Any] = {"price": str(price), "quantity": str(quantity)}
        if quantity <= 0:
            return _reject(result, "sized_to_zero", "the sizing gives less than one lot")
        order = Order(
            id=_PREVIEW_ORDER_ID,
            portfolio_id=plan.portfolio_id,
            instrument_id=instrument.id,
            client_order_id=_PREVIEW_ID,
            order_type=plan.entry_type,
            side=side,
            quantity=quantity,
            created_at=signal.created_at,
            price=signal.entry_price if plan.entry_type is OrderType.LIMIT else None,
            signal_id=signal.id,
        )
        refused = self.risk(order, signal.strategy_id)
        gates: dict[str, Any] = {}
        result["gates"] = gates
        if refused is not None:
            gates["risk"] = {"passed": False, "code": refused[0], "reason": refused[1]}
            return _reject(result, refused[0], refused[1], quantity, price)
        gates["risk"] = {"passed": True}
        wanting: list[str] = []
        notional = quantity * price
        threshold = settings.high_value_notional
        high = threshold is not None and notional > threshold
        gates[HIGH_VALUE] = {
            "passed": not high,
            "notional": str(notional),
            "threshold": None if threshold is None else str(threshold),
        }
        if high:
            wanting.append(HIGH_VALUE)
        unusual = self._unusual(signal, price, settings.unusual_sigma, settings.unusual_min_history)
        gates[UNUSUAL] = unusual
        if not unusual["passed"]:
            wanting.append(UNUSUAL)
        self._remember(signal, price, settings.unusual_window)
        pause = self._limit_usage(plan, settings.limit_alert_usage, gates)
        return Verdict(
            result,
            quantity,
            price,
            approval_gates=tuple(wanting),
            pause_reason=pause if settings.pause_strategy_on_limit_alert else None,
        )

    def _unusual(
        self, signal: Signal, price: Decimal, sigma: float, minimum: int
    ) -> dict[str, Any]:
        history = self._history.get(signal.strategy_id)
        checks: dict[str, Any] = {"passed": True, "sigma": sigma}
        if history is None or len(history.strength) < minimum:
            checks["reason"] = f"fewer than {minimum} earlier signals: nothing is unusual yet"
            return checks
        off: list[str] = []
        strength = history.strength.deviation(float(signal.strength))
        checks["strength_deviation"] = _rounded(strength)
        if strength is not None and strength > sigma:
            off.append(f"strength {signal.strength} is {_off(strength)}")
        prices = history.prices.get(signal.instrument_id)
        if prices is not None and len(prices) >= minimum:
            deviation = prices.deviation(float(price))
            checks["price_deviation"] = _rounded(deviation)
            if deviation is not None and deviation > sigma:
                off.append(f"price {price} is {_off(deviation)}")
        if off:
            checks["passed"] = False
            checks["reason"] = "; ".join(off)
        return checks

    def _remember(self, signal: Signal, price: Decimal, window: int) -> None:
        history = self._history.get(signal.strategy_id)
        if history is None:
            history = self._history[signal.strategy_id] = _History(RollingStats(window))
        history.strength.add(float(signal.strength))
        prices = history.prices.get(signal.instrument_id)
        if prices is None:
            prices = history.prices[signal.instrument_id] = RollingStats(window)
        prices.add(float(price))

    def _limit_usage(
        self, plan: ExecutionPlan, alert_at: float, gates: dict[str, Any]
    ) -> str | None:
        full = [
            (name, used)
            for name, used in self.market.limit_usage(plan.portfolio_id)
            if used >= alert_at
        ]
        gates["risk_limit_usage"] = {
            "passed": not full,
            "alert_at": alert_at,
            "limits": {name: round(used, 4) for name, used in full},
        }
        if not full:
            return None
        named = ", ".join(f"{name} at {used:.0%}" for name, used in full)
        return f"risk limits nearly full: {named}"


def _reject(
    result: dict[str, Any],
    code: str,
    reason: str,
    quantity: Decimal = Decimal(0),
    price: Decimal | None = None,
) -> Verdict:
    result = result | {"rejected": {"code": code, "reason": reason}}
    return Verdict(result, quantity, price, rejection=f"{code}: {reason}")


def _rounded(value: float | None) -> float | None:
    """For the JSON result: None when undefined or infinite (a constant history)."""
    return None if value is None or math.isinf(value) else round(value, 3)


def _off(deviation: float) -> str:
    if math.isinf(deviation):
        return "unlike every earlier one (they were all equal)"
    return f"{deviation:.1f} std devs from the recent mean"
