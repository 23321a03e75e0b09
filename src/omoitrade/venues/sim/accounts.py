"""Accounts at the simulated exchange: cash per currency and net positions, moved by fills.

A buy of ``q`` at ``p`` moves ``p * q`` plus commission out of the quote
currency and ``q`` into the base currency; a sell the reverse. Positions are
net (positive long, negative short) with a volume-weighted average price that
resets when a position flips through zero. Funds held for working orders are
``locked``; ``free = total - locked``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from omoitrade.model.enums import ExecType, OrderSide
from omoitrade.model.identifiers import AccountId, InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO
from omoitrade.model.venue import Balance, ExecutionReport, VenuePosition


class _Holding:
    __slots__ = ("average_price", "quantity")

    def __init__(self) -> None:
        self.quantity = ZERO
        self.average_price: Decimal | None = None

    def apply(self, signed_quantity: Decimal, price: Decimal) -> None:
        before = self.quantity
        after = before + signed_quantity
        if after == 0:
            self.average_price = None
        elif before == 0 or (before > 0) != (after > 0):  # opened, or flipped through zero
            self.average_price = price
        elif (before > 0) == (signed_quantity > 0):  # added to the same side
            assert self.average_price is not None
            self.average_price = (self.average_price * before + price * signed_quantity) / after
        self.quantity = after


class SimAccount:
    """One account's cash, locks and positions."""

    def __init__(self, account_id: AccountId) -> None:
        self.account_id = account_id
        self._cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._locked: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._holdings: dict[InstrumentId, _Holding] = {}

    def deposit(self, currency: str, amount: Decimal) -> None:
        self._cash[currency] += amount

    def free(self, currency: str) -> Decimal:
        return self._cash[currency] - self._locked[currency]

    def lock(self, currency: str, amount: Decimal) -> None:
        self._locked[currency] += amount

    def unlock(self, currency: str, amount: Decimal) -> None:
        self._locked[currency] = max(ZERO, self._locked[currency] - amount)

    def apply_fill(self, report: ExecutionReport, instrument: Instrument) -> None:
        """Book a TRADE report: cash in both currencies, commission, and the position."""
        if report.exec_type is not ExecType.TRADE:
            return
        quantity, price = report.last_quantity, report.last_price
        assert quantity is not None and price is not None
        sign = 1 if report.side is OrderSide.BUY else -1
        self._cash[instrument.quote_currency] -= sign * price * quantity
        self._cash[instrument.base_currency] += sign * quantity
        self._cash[report.commission_currency or instrument.quote_currency] -= report.commission
        holding = self._holdings.setdefault(instrument.id, _Holding())
        holding.apply(sign * quantity, price)

    def balances(self) -> list[Balance]:
        currencies = sorted(set(self._cash) | set(self._locked))
        return [
            Balance(c, self._cash[c], self._cash[c] - self._locked[c], self._locked[c])
            for c in currencies
        ]

    def positions(self) -> list[VenuePosition]:
        return [
            VenuePosition(instrument_id, holding.quantity, holding.average_price)
            for instrument_id, holding in sorted(self._holdings.items(), key=lambda kv: str(kv[0]))
            if holding.quantity != 0
        ]
