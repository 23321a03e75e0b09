"""Python strategies: the ``Strategy`` base class, the context it acts through, and the runner.

A strategy reaches the world only through a :class:`StrategyContext`, which the runtime
implements by routing signals to the signal pipeline and order intents to the order
manager, where risk checks apply. A strategy never holds a venue or an order manager.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields, is_dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Protocol, get_type_hints

from omoitrade.core.clock import Clock
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, OrderType, SignalType, TimeInForce
from omoitrade.model.events import OrderEvent, OrderFillEvent
from omoitrade.model.identifiers import ClientOrderId, InstrumentId, SignalId
from omoitrade.model.market_data import Bar, Quote, TradeTick
from omoitrade.strategy.indicators.base import StreamingIndicator
from omoitrade.strategy.indicators.registry import INDICATORS


class StrategyParameterError(ValidationError):
    """A strategy parameter is unknown, missing or of the wrong type."""

    code = "strategy-parameter-error"


class StrategyState(StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order a strategy asks for; the order manager and risk checks decide its fate."""

    instrument_id: InstrumentId
    side: OrderSide
    quantity: Decimal
    order_type: OrderType = OrderType.MARKET
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    client_tag: str | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValidationError("quantity", "must be positive", self.quantity)
        needs_price = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_price != (self.price is not None):
            rule = "required" if needs_price else "not allowed"
            raise ValidationError("price", f"{rule} for a {self.order_type} order", self.price)
        if needs_stop != (self.stop_price is not None):
            rule = "required" if needs_stop else "not allowed"
            raise ValidationError(
                "stop_price", f"{rule} for a {self.order_type} order", self.stop_price
            )
        for name in ("price", "stop_price"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValidationError(name, "must be positive", value)


@dataclass(frozen=True, slots=True)
class BracketIntent:
    """An entry order with a take-profit and a stop-loss exit on the other side."""

    entry: OrderIntent
    take_profit: Decimal
    stop_loss: Decimal

    def __post_init__(self) -> None:
        reference = self.entry.price if self.entry.price is not None else self.entry.stop_price
        long = self.entry.side is OrderSide.BUY
        if self.take_profit <= 0 or self.stop_loss <= 0:
            raise ValidationError("bracket", "take profit and stop loss must be positive")
        if (self.take_profit <= self.stop_loss) if long else (self.take_profit >= self.stop_loss):
            raise ValidationError("take_profit", "must be beyond the stop loss in profit")
        if reference is not None and not (
            (self.stop_loss < reference < self.take_profit)
            if long
            else (self.take_profit < reference < self.stop_loss)
        ):
            raise ValidationError("bracket", "entry price must lie between stop and target")


@dataclass(frozen=True, slots=True)
class SignalTerms:
    """How a signal's trade is to be sized and managed.

    ``quantity`` fixes the size; else ``sizer`` gives it from the price when the entry is
    sent (after an approval, at that moment's price); with neither the runtime sizes by
    the strategy's risk parameters. ``trailing_stop`` is a fraction (0.02 = 2% behind
    the best price); ``max_holding_ns`` closes the trade after that long; ``limit_entry``
    enters with a limit order at the signal's entry price instead of at market.
    """

    quantity: Decimal | None = None
    sizer: Callable[[Decimal], Decimal] | None = None
    trailing_stop: Decimal | None = None
    max_holding_ns: int | None = None
    limit_entry: bool = False

    def __post_init__(self) -> None:
        if self.quantity is not None and self.sizer is not None:
            raise ValidationError("terms", "give a quantity or a sizer, not both")
        if self.quantity is not None and self.quantity <= 0:
            raise ValidationError("quantity", "must be positive", self.quantity)


class StrategyContext(Protocol):
    """Everything a strategy may do or see; the runtime routes it through risk checks."""

    @property
    def clock(self) -> Clock: ...

    def emit_signal(
        self,
        instrument_id: InstrumentId,
        signal_type: SignalType,
        strength: float = 1.0,
        *,
        entry_price: Decimal | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        terms: SignalTerms | None = None,
    ) -> SignalId:
        """Hand a signal to the pipeline; ``terms`` say how to size and manage its trade
        (without them the runtime sizes by the strategy's own risk parameters)."""
        ...

    def submit(self, intent: OrderIntent) -> ClientOrderId: ...

    def bracket(self, intent: BracketIntent) -> ClientOrderId: ...

    def cancel(self, client_order_id: ClientOrderId) -> None: ...

    def close_position(self, instrument_id: InstrumentId) -> None: ...

    def position(self, instrument_id: InstrumentId) -> Decimal:
        """Signed quantity held (negative when short)."""
        ...

    def equity(self) -> Decimal: ...

    def cash(self) -> Decimal: ...

    def lot_size(self, instrument_id: InstrumentId) -> Decimal: ...


def validate_parameters(params_type: type[Any], values: Mapping[str, Any]) -> Any:
    """Build ``params_type`` (a dataclass) from ``values``, naming the first bad field."""
    if not is_dataclass(params_type):
        raise TypeError(f"{params_type.__name__} must be a dataclass")
    hints = get_type_hints(params_type)
    declared = {f.name: f for f in fields(params_type)}
    for key in values:
        if key not in declared:
            raise StrategyParameterError(key, "unknown parameter", values[key])
    converted: dict[str, Any] = {}
    for name, spec in declared.items():
        if name not in values:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise StrategyParameterError(name, "required")
            continue
        converted[name] = _convert(name, hints[name], values[name])
    try:
        return params_type(**converted)
    except ValidationError as exc:
        raise StrategyParameterError(exc.field, exc.rule, exc.value) from exc
    except (TypeError, ValueError) as exc:
        raise StrategyParameterError("parameters", str(exc)) from exc


def _convert(name: str, expected: Any, value: Any) -> Any:
    if not isinstance(expected, type):
        return value  # unions, literals: left to the dataclass's own checks
    if (
        expected is Decimal
        and isinstance(value, int | str | Decimal)
        and not isinstance(value, bool)
    ):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            raise StrategyParameterError(name, "must be a decimal number", value) from None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and expected is not bool:
        raise StrategyParameterError(name, f"must be {expected.__name__}", value)
    if not isinstance(value, expected):
        raise StrategyParameterError(name, f"must be {expected.__name__}", value)
    return value


@dataclass(frozen=True, slots=True)
class StrategyFailure:
    """Why a strategy was paused: the handler, the error and a short traceback."""

    handler: str
    error: str
    traceback: str


class Strategy:
    """Base of Python strategies: override the ``on_*`` handlers, act through the helpers."""

    params_type: ClassVar[type[Any] | None] = None

    def __init__(
        self,
        context: StrategyContext,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self._context = context
        self.name = name or type(self).__name__
        values = dict(params or {})
        if self.params_type is None:
            if values:
                key = next(iter(values))
                raise StrategyParameterError(key, "unknown parameter", values[key])
            self.params: Any = None
        else:
            self.params = validate_parameters(self.params_type, values)
        self.state = StrategyState.CREATED
        self.failure: StrategyFailure | None = None

    # Handlers (override what you need).
    def on_start(self) -> None:
        """Called once before any event."""

    def on_bar(self, bar: Bar) -> None:
        """A closed bar."""

    def on_quote(self, quote: Quote) -> None:
        """A top-of-book quote."""

    def on_trade_tick(self, tick: TradeTick) -> None:
        """A trade printed on the venue."""

    def on_order_event(self, event: OrderEvent) -> None:
        """Any event about one of this strategy's orders."""

    def on_fill(self, fill: OrderFillEvent) -> None:
        """A (partial) fill of one of this strategy's orders."""

    def on_stop(self) -> None:
        """Called once when the strategy stops."""

    # What the strategy can see.
    @property
    def clock(self) -> Clock:
        return self._context.clock

    def position(self, instrument_id: InstrumentId) -> Decimal:
        """Signed quantity held (negative when short)."""
        return self._context.position(instrument_id)

    def equity(self) -> Decimal:
        return self._context.equity()

    def cash(self) -> Decimal:
        return self._context.cash()

    def indicator(self, name: str, **params: Any) -> StreamingIndicator:
        """A fresh streaming indicator from the registry; feed it and read ``.value``."""
        return INDICATORS[name].create(**params)

    # What the strategy can do (all through the context).
    def emit_signal(
        self,
        instrument_id: InstrumentId,
        signal_type: SignalType,
        strength: float = 1.0,
        *,
        entry_price: Decimal | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        terms: SignalTerms | None = None,
    ) -> SignalId:
        """Hand a signal to the signal pipeline (validated and risk-checked there)."""
        return self._context.emit_signal(
            instrument_id,
            signal_type,
            strength,
            entry_price=entry_price,
            stop_loss=stop_loss,
            take_profit=take_profit,
            terms=terms,
        )

    def submit_market(
        self, instrument_id: InstrumentId, side: OrderSide, quantity: Decimal, **extra: Any
    ) -> ClientOrderId:
        return self._context.submit(OrderIntent(instrument_id, side, quantity, **extra))

    def submit_limit(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal,
        **extra: Any,
    ) -> ClientOrderId:
        intent = OrderIntent(instrument_id, side, quantity, OrderType.LIMIT, price, **extra)
        return self._context.submit(intent)

    def submit_stop(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Decimal,
        stop_price: Decimal,
        **extra: Any,
    ) -> ClientOrderId:
        intent = OrderIntent(
            instrument_id, side, quantity, OrderType.STOP, stop_price=stop_price, **extra
        )
        return self._context.submit(intent)

    def submit_stop_limit(
        self,
        instrument_id: InstrumentId,
        side: OrderSide,
        quantity: Decimal,
        stop_price: Decimal,
        price: Decimal,
        **extra: Any,
    ) -> ClientOrderId:
        intent = OrderIntent(
            instrument_id, side, quantity, OrderType.STOP_LIMIT, price, stop_price, **extra
        )
        return self._context.submit(intent)

    def submit_bracket(
        self, entry: OrderIntent, take_profit: Decimal, stop_loss: Decimal
    ) -> ClientOrderId:
        return self._context.bracket(BracketIntent(entry, take_profit, stop_loss))

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self._context.cancel(client_order_id)

    def close_position(self, instrument_id: InstrumentId) -> None:
        self._context.close_position(instrument_id)

    # Lifecycle with error isolation.
    @property
    def active(self) -> bool:
        return self.state is StrategyState.RUNNING

    def start(self) -> None:
        """Run ``on_start``; the strategy then receives events unless it fails."""
        if self.state is StrategyState.CREATED:
            self.state = StrategyState.RUNNING
            self.dispatch("on_start")

    def stop(self) -> None:
        """Run ``on_stop`` (unless paused by an error) and stop receiving events."""
        if self.state is StrategyState.RUNNING:
            self.dispatch("on_stop")
        self.state = StrategyState.STOPPED

    def resume(self) -> None:
        """Deliver events again after a pause (the failure stays recorded)."""
        if self.state is StrategyState.PAUSED:
            self.state = StrategyState.RUNNING

    def dispatch(self, handler: str, *args: Any) -> bool:
        """Call a handler if running; an exception pauses the strategy. True if it ran cleanly."""
        if self.state is not StrategyState.RUNNING:
            return False
        try:
            getattr(self, handler)(*args)
        except Exception as exc:  # isolation: any strategy error pauses only this strategy
            self._record_failure(handler, exc)
            return False
        return True

    def _record_failure(self, handler: str, exc: Exception) -> None:
        """Pause the strategy: ``handler`` raised ``exc`` (recorded as its failure)."""
        summary = "".join(traceback.format_exception(exc, limit=-5))
        self.failure = StrategyFailure(handler, f"{type(exc).__name__}: {exc}", summary)
        self.state = StrategyState.PAUSED


_RUNNING = StrategyState.RUNNING


class StrategyRunner:
    """Delivers events to several strategies; one failing does not stop the others.

    A strategy added with ``instruments`` gets only their market data (a rule strategy
    picks its own instruments; a Python strategy would see every bar otherwise).
    """

    def __init__(self, strategies: Iterable[Strategy] = ()) -> None:
        self._routes: list[tuple[Strategy, frozenset[InstrumentId] | None]] = []
        for strategy in strategies:
            self.add(strategy)

    @property
    def strategies(self) -> list[Strategy]:
        """The strategies, in the order they were added."""
        return [strategy for strategy, _ in self._routes]

    def add(self, strategy: Strategy, instruments: Iterable[InstrumentId] | None = None) -> None:
        self._routes.append((strategy, None if instruments is None else frozenset(instruments)))

    def start(self) -> None:
        for strategy in self.strategies:
            strategy.start()

    def stop(self) -> None:
        for strategy in self.strategies:
            strategy.stop()

    def on_bar(self, bar: Bar) -> None:
        self._broadcast("on_bar", bar)

    def on_quote(self, quote: Quote) -> None:
        self._broadcast("on_quote", quote)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self._broadcast("on_trade_tick", tick)

    def on_order_event(self, strategy: Strategy, event: OrderEvent) -> None:
        """An event about ``strategy``'s order; fills also reach ``on_fill``."""
        if strategy.dispatch("on_order_event", event) and isinstance(event, OrderFillEvent):
            strategy.dispatch("on_fill", event)

    def paused(self) -> list[Strategy]:
        return [s for s in self.strategies if s.state is StrategyState.PAUSED]

    def instruments_of(self, strategy: Strategy) -> frozenset[InstrumentId] | None:
        """The instruments whose market data ``strategy`` gets (None: all)."""
        return next(only for s, only in self._routes if s is strategy)

    def _broadcast(self, handler: str, event: Any) -> None:
        """``dispatch`` to each strategy, inlined: this runs on every bar, quote and trade."""
        for strategy, only in self._routes:
            if strategy.state is _RUNNING and (only is None or event.instrument_id in only):
                try:
                    getattr(strategy, handler)(event)
                except Exception as exc:  # isolation, as in ``Strategy.dispatch``
                    strategy._record_failure(handler, exc)
