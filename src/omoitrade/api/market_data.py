"""``/api/v1/market-data``: the latest quote, trade, bar and book of an instrument."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import TypeAdapter

from omoitrade.core.errors import NotFound, OmoiError
from omoitrade.model import Bar, InstrumentId, OrderBook, Quote, Timeframe, TradeTick
from omoitrade.runtime.paper import PaperMarket

router = APIRouter(prefix="/api/v1/market-data", tags=["market data"])

_ADAPTERS: dict[type, TypeAdapter[Any]] = {
    kind: TypeAdapter(kind) for kind in (Quote, TradeTick, Bar, OrderBook)
}


def _json(item: Quote | TradeTick | Bar | OrderBook | None) -> Any:
    """The item as JSON data (Decimals as strings), or None."""
    return None if item is None else _ADAPTERS[type(item)].dump_python(item, mode="json")


class MarketDataUnavailable(OmoiError):
    """The server was started without a running market."""

    code = "market-data-unavailable"


def _market(request: Request) -> PaperMarket:
    market: PaperMarket | None = request.app.state.market
    if market is None:
        raise MarketDataUnavailable("no market is running in this server")
    return market


@router.get("")
async def instruments(request: Request) -> list[dict[str, Any]]:
    """The instruments with live market data."""
    return [
        {"id": str(i.id), "symbol": i.symbol, "exchange": i.exchange, "type": i.instrument_type}
        for i in _market(request).instruments
    ]


@router.get("/{instrument_id}")
async def latest(instrument_id: UUID, request: Request) -> dict[str, Any]:
    """The latest clean quote, trade, one-minute bar and book (Decimals as strings), and how
    many updates of each anomaly kind were kept out so far."""
    market = _market(request)
    key = InstrumentId(int=instrument_id.int)
    try:
        instrument = market.instrument(key)
    except NotFound:
        raise NotFound("Instrument", instrument_id) from None
    pipeline = market.pipeline
    return {
        "instrument_id": str(key),
        "symbol": instrument.symbol,
        "quote": _json(pipeline.latest_quote(key)),
        "last_trade": _json(pipeline.latest_trade(key)),
        "bar_1m": _json(pipeline.latest_bar(key, Timeframe.M1)),
        "book": _json(pipeline.latest_book(key)),
        "anomalies": market.detector.counts(key),
    }
