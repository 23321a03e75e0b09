"""Bus topics of market data: where each kind of clean update is published.

Topics carry the instrument's UUID text (``data.quotes.<uuid>``), so a
subscriber can take one instrument or, with a wildcard (``data.quotes.*``),
all of them. Held-back updates are announced as :class:`MarketDataAnomaly`
events on their own topic, ``events.data.anomaly``.
"""

from __future__ import annotations

from omoitrade.model.enums import Timeframe
from omoitrade.model.events import MarketDataAnomaly
from omoitrade.model.identifiers import InstrumentId

__all__ = [
    "ALL_BARS",
    "ALL_BOOKS",
    "ALL_QUOTES",
    "ALL_TRADES",
    "ANOMALY_TOPIC",
    "bars_topic",
    "books_topic",
    "quotes_topic",
    "trades_topic",
]

ALL_QUOTES = "data.quotes.*"
ALL_TRADES = "data.trades.*"
ALL_BOOKS = "data.books.*"
ALL_BARS = "data.bars.*"
ANOMALY_TOPIC = MarketDataAnomaly.topic


def quotes_topic(instrument_id: InstrumentId) -> str:
    """``data.quotes.<instrument>``: best bid and offer."""
    return f"data.quotes.{instrument_id}"


def trades_topic(instrument_id: InstrumentId) -> str:
    """``data.trades.<instrument>``: trade prints."""
    return f"data.trades.{instrument_id}"


def books_topic(instrument_id: InstrumentId) -> str:
    """``data.books.<instrument>``: L2 snapshots."""
    return f"data.books.{instrument_id}"


def bars_topic(instrument_id: InstrumentId, timeframe: Timeframe) -> str:
    """``data.bars.<instrument>.<timeframe>``, e.g. ``data.bars.<uuid>.1m``."""
    return f"data.bars.{instrument_id}.{timeframe.value}"
