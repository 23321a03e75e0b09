"""Typed identifiers of the trading domain.

UUID-valued ones are time-ordered (UUIDv7) because they index tables, except
:class:`InstrumentId`, which is derived from the venue and symbol (UUIDv5) so
that every normalizer maps ``("SIM", "BTC/USD")`` to the same identifier.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import ClassVar

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import StrIdentifier, UuidIdentifier

_INSTRUMENT_NAMESPACE = uuid.UUID("6f6d6f69-7472-6164-6500-696e73747275")


class OrganizationId(UuidIdentifier):
    __slots__ = ()


class UserId(UuidIdentifier):
    __slots__ = ()


class PortfolioId(UuidIdentifier):
    __slots__ = ()


class InstrumentId(UuidIdentifier):
    __slots__ = ()

    @classmethod
    def of(cls, exchange: str, symbol: str) -> InstrumentId:
        """The identifier of ``symbol`` on ``exchange``; the same inputs give the same id
        (the same object, even: dictionaries keyed by it then match it by identity)."""
        return _instrument_id(exchange.upper(), symbol)


class BarId(UuidIdentifier):
    __slots__ = ()


class StrategyId(UuidIdentifier):
    __slots__ = ()


class SignalId(UuidIdentifier):
    __slots__ = ()


class StrategyVersionId(UuidIdentifier):
    __slots__ = ()


class BacktestRunId(UuidIdentifier):
    __slots__ = ()


class StrategyPerformanceId(UuidIdentifier):
    __slots__ = ()


class OrderId(UuidIdentifier):
    __slots__ = ()


class TradeId(UuidIdentifier):
    __slots__ = ()


class PositionId(UuidIdentifier):
    __slots__ = ()


class RiskLimitId(UuidIdentifier):
    __slots__ = ()


class AgentId(UuidIdentifier):
    __slots__ = ()


class TaskId(UuidIdentifier):
    __slots__ = ()


class EventId(UuidIdentifier):
    __slots__ = ()


class ClientOrderId(StrIdentifier):
    """The caller's own id for an order: the key of idempotent submission."""

    __slots__ = ()
    max_length: ClassVar[int] = 64
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[A-Za-z0-9._:\-]+")
    rule: ClassVar[str] = "letters, digits and . _ : -"


# A parent order's children (an execution algorithm's slices) are ``PARENT:N``: the order
# manager, the risk engine and the algorithms all read the convention from here.
CHILD_SEPARATOR = ":"


def child_order_id(parent: str, sequence: int) -> ClientOrderId:
    """The client order id of child number ``sequence`` (from 1) of ``parent``."""
    if sequence < 1:
        raise ValidationError("sequence", "must be at least 1", sequence)
    return ClientOrderId(f"{parent}{CHILD_SEPARATOR}{sequence}")


def parent_order_of(client_order_id: str) -> str | None:
    """The parent a child's client order id names (``PARENT:N``), None for other orders."""
    head, separator, tail = client_order_id.rpartition(CHILD_SEPARATOR)
    return head if separator and head and tail.isdigit() else None


class VenueOrderId(StrIdentifier):
    """The order id a venue assigned."""

    __slots__ = ()


class VenueTradeId(StrIdentifier):
    """The trade (execution) id a venue assigned; the key for applying a fill once."""

    __slots__ = ()


class AccountId(StrIdentifier):
    """An account at a venue; self-trade prevention and balances are per account."""

    __slots__ = ()
    max_length: ClassVar[int] = 64


@functools.lru_cache(maxsize=65_536)
def _instrument_id(exchange: str, symbol: str) -> InstrumentId:
    return InstrumentId(int=uuid.uuid5(_INSTRUMENT_NAMESPACE, f"{exchange}:{symbol}").int)
