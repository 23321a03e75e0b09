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

_TRADE, _BUY = ExecType.TRADE, OrderSide.BUY  # bound once: reading them off the enum is slow


class _Holding:
    __slots__ = ("average_price", "quantity")

    def __init__(self) -> None:
        self.quantity = ZERO
        self.average_price: Decimal | None = None

    def apply(self, signed_quantity: Decimal, price: Decimal) -> None:
        # (comparing with the Decimal ZERO spares converting an int 0 at every test)
        before = self.quantity
        after = before + signed_quantity
        if not after:
            self.average_price = None
        elif not before or (before > ZERO) != (after > ZERO):  # opened, or flipped through zero
            self.average_price = price
        elif (before > ZERO) == (signed_quantity > ZERO):  # added to the same side
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
        left = self._locked[currency] - amount
        self._locked[currency] = left if left > ZERO else ZERO  # max(ZERO, left)

    def relock(self, held: tuple[str, Decimal] | None, hold: tuple[str, Decimal] | None) -> None:
        """``unlock(*held)`` then ``lock(*hold)``, either may be None: an order's lock moved."""
        locked = self._locked
        if held is not None:
            currency, amount = held
            left = locked[currency] - amount
            locked[currency] = left if left > ZERO else ZERO
        if hold is not None:
            currency, amount = hold
            locked[currency] += amount

    def apply_fill(self, report: ExecutionReport, instrument: Instrument) -> None:
        """Book a TRADE report: cash in both currencies, commission, and the position."""
        if report.exec_type is not _TRADE:
            return
        quantity, price = report.last_quantity, report.last_price
        assert quantity is not None and price is not None
        # the same arithmetic as sign * price * quantity and sign * quantity, without
        # multiplying by 1 or -1: -x equals -1 * x, and 1 * x is x for the engine's
        # prices and quantities (they are within the context's precision)
        if report.side is _BUY:
            signed_price, signed_quantity = price, quantity
        else:
            signed_price, signed_quantity = -price, -quantity
        cash, quote = self._cash, instrument.quote_currency
        cash[quote] -= signed_price * quantity
        cash[instrument.base_currency] += signed_quantity
        cash[report.commission_currency or quote] -= report.commission
        holding = self._holdings.get(instrument.id)
        if holding is None:
            holding = self._holdings[instrument.id] = _Holding()
        holding.apply(signed_quantity, price)

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
