"""Market data values: bars (the specification's MarketData), quotes, trade ticks, books."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, Timeframe
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import BarId, InstrumentId, VenueTradeId
from omoitrade.model.money import require_non_negative, require_positive
from omoitrade.model.timestamps import require_utc


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV over one ``timeframe`` starting at ``timestamp`` (UTC), with the closing bid/ask."""

    id: BarId
    instrument_id: InstrumentId
    timestamp: datetime
    timeframe: Timeframe
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_utc("timestamp", self.timestamp)
        for name in ("open", "high", "low", "close"):
            require_positive(name, getattr(self, name))
        require_non_negative("volume", self.volume)
        if self.high < max(self.open, self.close, self.low):
            raise ValidationError("high", "must be at least open, close and low", self.high)
        if self.low > min(self.open, self.close):
            raise ValidationError("low", "must be at most open and close", self.low)
        if self.bid is not None and self.ask is not None and self.bid > self.ask:
            raise ValidationError("bid", "must not exceed ask", self.bid)


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and offer with their sizes at one moment."""

    instrument_id: InstrumentId
    timestamp: datetime
    bid_price: Decimal
    ask_price: Decimal
    bid_size: Decimal
    ask_size: Decimal

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_utc("timestamp", self.timestamp)
        require_positive("bid_price", self.bid_price)
        require_positive("ask_price", self.ask_price)
        require_non_negative("bid_size", self.bid_size)
        require_non_negative("ask_size", self.ask_size)

    @property
    def mid(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2

    @property
    def spread(self) -> Decimal:
        return self.ask_price - self.bid_price


@dataclass(frozen=True, slots=True)
class TradeTick:
    """One trade printed by a venue."""

    instrument_id: InstrumentId
    timestamp: datetime
    price: Decimal
    size: Decimal
    trade_id: VenueTradeId
    aggressor_side: OrderSide | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_utc("timestamp", self.timestamp)
        require_positive("price", self.price)
        require_positive("size", self.size)


@dataclass(frozen=True, slots=True)
class BookLevel:
    """One price level of a book: the price, the resting size and how many orders."""

    price: Decimal
    size: Decimal
    order_count: int = 1

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_positive("price", self.price)
        require_positive("size", self.size)


@dataclass(frozen=True, slots=True)
class OrderBook:
    """An L2 snapshot: bids best (highest) first, asks best (lowest) first.

    A crossed or locked book is representable on purpose: anomaly detection
    must be able to see and flag it.
    """

    instrument_id: InstrumentId
    timestamp: datetime
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    def __post_init__(self) -> None:
        require_utc("timestamp", self.timestamp)
        _require_sorted("bids", [level.price for level in self.bids], descending=True)
        _require_sorted("asks", [level.price for level in self.asks], descending=False)

    @property
    def best_bid(self) -> BookLevel | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> BookLevel | None:
        return self.asks[0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if not self.bids or not self.asks:
            return None
        return (self.bids[0].price + self.asks[0].price) / 2


def _require_sorted(field: str, prices: list[Decimal], *, descending: bool) -> None:
    for better, worse in pairwise(prices):
        if (better <= worse) if descending else (better >= worse):
            order = "strictly descending" if descending else "strictly ascending"
            raise ValidationError(field, f"prices must be {order}", worse)
