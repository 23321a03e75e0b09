"""The validation phase: the risk engine's verdict on the order a signal would make, and
the gates that stop it for a person (high value, unusual) or raise an alert (a risk
limit 80% full). Each gate's decision and reason go into the signal's
``validation_result``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.identifiers import ClientOrderId, InstrumentId, OrderId, StrategyId
from omoitrade.model.instruments import Instrument
from omoitrade.model.orders import Order
from omoitrade.model.signals import Signal
from omoitrade.signals.plan import ExecutionPlan, SettingsBook, SignalSettings
from omoitrade.signals.ports import MarketView, RiskPreview
from omoitrade.signals.unusual import RollingStats

HIGH_VALUE = "high_value"
UNUSUAL = "unusual_signal"
_PREVIEW_ID = ClientOrderId("signal-preview")
_PREVIEW_ORDER_ID = OrderId(int=0)  # a previewed order is never stored: one id serves all


class Verdict(NamedTuple):
    """What validation found: a rejection, or the gates that want a person, or a pass.

    (A named tuple: made for every signal, it is built faster than a frozen dataclass.)
    """

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
        if refused is not None:
            code, reason = refused
            result["gates"] = {"risk": {"passed": False, "code": code, "reason": reason}}
            return _reject(result, code, reason, quantity, price)
        notional = quantity * price
        threshold = settings.high_value_notional
        high = threshold is not None and notional > threshold
        unusual = self._unusual(signal, price, settings)
        usage, pause = self._limit_usage(plan, settings.limit_alert_usage)
        result["gates"] = {
            "risk": {"passed": True},
            HIGH_VALUE: {
                "passed": not high,
                "notional": str(notional),
                "threshold": None if threshold is None else str(threshold),
            },
            UNUSUAL: unusual,
            "risk_limit_usage": usage,
        }
        wanting: tuple[str, ...] = (HIGH_VALUE,) if high else ()
        if not unusual["passed"]:
            wanting += (UNUSUAL,)
        return Verdict(
            result,
            quantity,
            price,
            approval_gates=wanting,
            pause_reason=pause if settings.pause_strategy_on_limit_alert else None,
        )

    def _unusual(self, signal: Signal, price: Decimal, settings: SignalSettings) -> dict[str, Any]:
        """The unusual gate's checks against the strategy's recent signals, which then take
        this one in (its strength, and its price in the instrument)."""
        history = self._history.get(signal.strategy_id)
        known = history is not None
        if history is None:
            history = self._history[signal.strategy_id] = _History(
                RollingStats(settings.unusual_window)
            )
        strengths, strength, level = history.strength, float(signal.strength), float(price)
        prices = history.prices.get(signal.instrument_id)
        sigma, minimum = settings.unusual_sigma, settings.unusual_min_history
        checks: dict[str, Any] = {"passed": True, "sigma": sigma}
        if not known or len(strengths) < minimum:
            checks["reason"] = f"fewer than {minimum} earlier signals: nothing is unusual yet"
        else:
            off: list[str] = []
            deviation = strengths.deviation(strength)
            checks["strength_deviation"] = _rounded(deviation)
            if deviation is not None and deviation > sigma:
                off.append(f"strength {signal.strength} is {_off(deviation)}")
            if prices is not None and len(prices) >= minimum:
                deviation = prices.deviation(level)
                checks["price_deviation"] = _rounded(deviation)
                if deviation is not None and deviation > sigma:
                    off.append(f"price {price} is {_off(deviation)}")
            if off:
                checks["passed"] = False
                checks["reason"] = "; ".join(off)
        strengths.add(strength)
        if prices is None:
            prices = history.prices[signal.instrument_id] = RollingStats(settings.unusual_window)
        prices.add(level)
        return checks

    def _limit_usage(
        self, plan: ExecutionPlan, alert_at: float
    ) -> tuple[dict[str, Any], str | None]:
        """The limit-usage gate's checks, and the reason to pause when a limit is nearly full."""
        full = [
            (name, used)
            for name, used in self.market.limit_usage(plan.portfolio_id)
            if used >= alert_at
        ]
        if not full:
            return {"passed": True, "alert_at": alert_at, "limits": {}}, None
        usage = {
            "passed": False,
            "alert_at": alert_at,
            "limits": {name: round(used, 4) for name, used in full},
        }
        named = ", ".join(f"{name} at {used:.0%}" for name, used in full)
        return usage, f"risk limits nearly full: {named}"


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
