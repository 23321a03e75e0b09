"""Accounts at the simulated exchange: cash per currency and net positions, moved by fills.

A buy of ``q`` at ``p`` moves ``p * q`` plus commission out of the quote
currency and ``q`` into the base currency; a sell the reverse. Positions are
net (positive long, negative short) with a volume-weighted average price that
resets when a position flips through zero. Funds held for working orders are
``locked``; ``free = total - locked``.

A **margin account** (``short_margin`` set) may also sell what it does not hold: the
base balance goes negative (a short), the proceeds are credited to the quote currency,
and while the short is open the account reserves in the quote currency the proceeds
plus ``short_margin`` times the short's value at its average entry price (rounded up to
the instrument's money step): with 1, a short needs its full value in the account's own
cash, as a long does. The reserve is fixed at entry (not marked to market; no margin
calls). A buy that covers a short needs only its cost less the reserve it releases; buys
working at once share the reserve: each releases only what the short left after the buys
before it holds (the exchange says which are before). A spot account (the default) never
sells more than it holds when balances are enforced.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_CEILING, Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import ExecType, OrderSide
from omoitrade.model.identifiers import AccountId, InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO
from omoitrade.model.venue import Balance, ExecutionReport, VenuePosition

_TRADE, _BUY = ExecType.TRADE, OrderSide.BUY  # bound once: reading them off the enum is slow
_ONE = Decimal(1)

Lock = tuple[tuple[str, Decimal], ...]  # what an order holds: (currency, amount) pairs


class _Holding:
    __slots__ = ("average_price", "quantity", "reserve")

    def __init__(self) -> None:
        self.quantity = ZERO
        self.average_price: Decimal | None = None
        self.reserve = ZERO  # held in the quote currency against a short (margin accounts)

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

    def __init__(self, account_id: AccountId, short_margin: Decimal | None = None) -> None:
        """``short_margin``: None for a spot account, else a margin account's rate (> 0)."""
        if short_margin is not None and not short_margin > ZERO:
            raise ValidationError("short_margin", "must be greater than 0", short_margin)
        self.account_id = account_id
        self.short_margin = short_margin
        self._cash: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._locked: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self._reserved: dict[str, Decimal] = {}  # against shorts (margin accounts only)
        self._holdings: dict[InstrumentId, _Holding] = {}

    def is_short(self, instrument_id: InstrumentId) -> bool:
        """Whether the account holds a short position in the instrument."""
        holding = self._holdings.get(instrument_id)
        return holding is not None and holding.quantity < ZERO

    def deposit(self, currency: str, amount: Decimal) -> None:
        self._cash[currency] += amount

    def free(self, currency: str) -> Decimal:
        free = self._cash[currency] - self._locked[currency]
        reserved = self._reserved.get(currency)
        return free if reserved is None else free - reserved

    def needs(
        self,
        instrument: Instrument,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal | None,
        held: Lock = (),
        ahead: Decimal = ZERO,
    ) -> Lock:
        """What an order holds while it works: base for a sell of what the account has,
        quote for a buy (less the short reserve it releases) and for a short's margin.
        ``held`` counts as free (the reservation the order shares or replaces); a price
        of None (a market order) needs no quote. ``ahead``: the quantity of the account's
        buys of the instrument already counted before this one (a buy releases only the
        reserve of the short they leave)."""
        quote, rate = instrument.quote_currency, self.short_margin
        if side is not _BUY:
            base = instrument.base_currency
            if rate is None:
                return ((base, quantity),)
            own = self.free(base) + lock_amount(held, base)
            covered = quantity if own >= quantity else own if own > ZERO else ZERO
            lock: Lock = ((base, covered),) if covered else ()
            if covered != quantity and price is not None:
                lock += ((quote, rate * price * (quantity - covered)),)
            return lock
        if price is None:
            return ()
        cost = price * quantity
        if rate is not None:
            cost -= self._released(instrument, quantity, ahead)
        return ((quote, cost),) if cost > ZERO else ()

    def shortfall(self, need: Lock, held: Lock = ()) -> tuple[str, Decimal, Decimal] | None:
        """The first (currency, needed, free) that ``need`` exceeds the free funds in,
        counting ``held`` as free; None when the account can hold it."""
        for currency, amount in need:
            free = self.free(currency) + lock_amount(held, currency)
            if amount > free:
                return currency, amount, free
        return None

    def hold(self, lock: Lock) -> None:
        """Lock every (currency, amount) of ``lock``."""
        locked = self._locked
        for currency, amount in lock:
            locked[currency] += amount

    def release(self, lock: Lock) -> None:
        """Unlock every (currency, amount) of ``lock``, never below zero."""
        locked = self._locked
        for currency, amount in lock:
            left = locked[currency] - amount
            locked[currency] = left if left > ZERO else ZERO  # max(ZERO, left)

    def lock(self, currency: str, amount: Decimal) -> None:
        self.hold(((currency, amount),))

    def unlock(self, currency: str, amount: Decimal) -> None:
        self.release(((currency, amount),))

    def relock(self, held: tuple[str, Decimal] | None, hold: tuple[str, Decimal] | None) -> None:
        """``unlock(*held)`` then ``lock(*hold)``, either may be None: an order's lock moved."""
        if held is not None:
            self.release((held,))
        if hold is not None:
            self.hold((hold,))

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
        if self.short_margin is not None:
            reserve = self._reserve(instrument, holding.quantity, holding.average_price)
            self._reserved[quote] = self._reserved.get(quote, ZERO) + reserve - holding.reserve
            holding.reserve = reserve

    def _reserve(
        self, instrument: Instrument, quantity: Decimal, average_price: Decimal | None
    ) -> Decimal:
        """What a position of ``quantity`` reserves: the proceeds and the margin of a short."""
        if quantity >= ZERO or average_price is None or self.short_margin is None:
            return ZERO
        value = (_ONE + self.short_margin) * -quantity * average_price
        step = instrument.tick_size * instrument.lot_size
        return value.quantize(step, rounding=ROUND_CEILING)

    def _released(self, instrument: Instrument, quantity: Decimal, ahead: Decimal) -> Decimal:
        """The short reserve a buy of ``quantity`` would release once buys of ``ahead``
        have covered their part of the short (what they leave is what it can release)."""
        holding = self._holdings.get(instrument.id)
        if holding is None or holding.quantity >= ZERO:
            return ZERO
        before = holding.quantity + ahead
        if before >= ZERO:
            return ZERO
        average = holding.average_price
        reserve = holding.reserve if not ahead else self._reserve(instrument, before, average)
        return reserve - self._reserve(instrument, min(before + quantity, ZERO), average)

    def balances(self) -> list[Balance]:
        """Per currency; ``locked`` counts what working orders hold and short reserves."""
        currencies = sorted(set(self._cash) | set(self._locked) | set(self._reserved))
        balances = []
        for c in currencies:
            held = self._locked[c] + self._reserved[c] if c in self._reserved else self._locked[c]
            balances.append(Balance(c, self._cash[c], self._cash[c] - held, held))
        return balances

    def positions(self) -> list[VenuePosition]:
        return [
            VenuePosition(instrument_id, holding.quantity, holding.average_price)
            for instrument_id, holding in sorted(self._holdings.items(), key=lambda kv: str(kv[0]))
            if holding.quantity != 0
        ]


def lock_amount(lock: Lock, currency: str) -> Decimal:
    """What ``lock`` holds of ``currency``."""
    for held_currency, amount in lock:
        if held_currency == currency:
            return amount
    return ZERO
