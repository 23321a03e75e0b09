"""The portfolio ledger: cash, positions, P&L, equity and margin of many portfolios.

Positions are built only from fills (:meth:`PortfolioLedger.apply_fill`), by
average cost (see :mod:`omoitrade.portfolio.books`). Marks revalue only the open
positions in the marked instrument, through an index, and move each portfolio's
per-currency balances by the change, so equity is always current without summing
positions. Equity and the other totals are reported in the portfolio's base
currency, converting each currency at the latest FX rate (:mod:`omoitrade.portfolio.fx`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, getcontext, localcontext, setcontext

from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.events import (
    DomainEvent,
    OrderFillEvent,
    PositionChanged,
    PositionClosed,
    PositionOpened,
)
from omoitrade.model.fields import require_timestamp
from omoitrade.model.identifiers import (
    EventId,
    InstrumentId,
    PortfolioId,
    StrategyId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Quote
from omoitrade.model.money import (
    EXACT,
    MAX_EXPONENT,
    ZERO,
    require_non_negative,
    require_positive,
    to_decimal,
)
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.positions import Position
from omoitrade.portfolio import analytics
from omoitrade.portfolio.accounts import PortfolioAccount, PortfolioSnapshot, RealizedPnl
from omoitrade.portfolio.books import PositionBook
from omoitrade.portfolio.fx import FxRates
from omoitrade.portfolio.lots import FifoLotReport


class _Market:
    """One instrument in the ledger: its latest mark and the open books in it."""

    __slots__ = ("books", "mark")

    def __init__(self) -> None:
        self.mark: Decimal | None = None
        self.books: dict[PortfolioId, PositionBook] = {}


class PortfolioLedger:
    """Holds many portfolios; applies fills, marks, cash movements and FX rates.

    ``ids`` makes position and event ids (pass a seeded one for reproducible
    backtests); ``fifo_lots`` also keeps FIFO lots per position for
    :meth:`fifo_report`.
    """

    def __init__(self, ids: IdGenerator | None = None, fifo_lots: bool = False) -> None:
        self._ids = ids
        self._fifo = fifo_lots
        self._accounts: dict[PortfolioId, PortfolioAccount] = {}
        # The account last looked up, with the very id object it was asked for: the order
        # path asks for one portfolio again and again, and an id's hash is a Python call.
        # One tuple, replaced whole, so a reader in another thread never sees a mixed pair;
        # accounts are never removed, so it cannot go stale.
        self._recent: tuple[object, PortfolioAccount | None] = (None, None)
        self._markets: dict[InstrumentId, _Market] = {}  # latest marks and open books
        self.rates = FxRates()

    # --- portfolios and cash ------------------------------------------------------------------
    def open_portfolio(
        self, portfolio_id: PortfolioId, base_currency: str, cash: Decimal = ZERO
    ) -> None:
        """Start keeping ``portfolio_id`` with ``cash`` in its base currency."""
        if portfolio_id in self._accounts:
            raise Conflict(f"portfolio {portfolio_id} is already in the ledger")
        if len(base_currency) < 3:
            raise ValidationError("base_currency", "must be a currency code", base_currency)
        cash = to_decimal("cash", cash)
        require_non_negative("cash", cash)
        account = self._accounts[portfolio_id] = PortfolioAccount(portfolio_id, base_currency)
        account.balance(base_currency).cash = cash

    def open_from(self, portfolio: Portfolio) -> None:
        """Start keeping a :class:`Portfolio` entity with its cash."""
        self.open_portfolio(portfolio.id, portfolio.base_currency, portfolio.cash)

    def deposit(self, portfolio_id: PortfolioId, currency: str, amount: Decimal) -> Decimal:
        """Add ``amount`` of ``currency`` to cash; returns the new cash in that currency."""
        amount = to_decimal("amount", amount)
        require_positive("amount", amount)
        balance = self._account(portfolio_id).balance(currency)
        with localcontext(EXACT):
            balance.cash += amount
        return balance.cash

    def withdraw(self, portfolio_id: PortfolioId, currency: str, amount: Decimal) -> Decimal:
        """Take ``amount`` of ``currency`` out of cash; refused beyond the cash held."""
        amount = to_decimal("amount", amount)
        require_positive("amount", amount)
        balance = self._account(portfolio_id).balance(currency)
        if amount > balance.cash:
            raise Conflict(f"cannot withdraw {amount} {currency}: cash is {balance.cash}")
        with localcontext(EXACT):
            balance.cash -= amount
        return balance.cash

    def set_rate(self, base: str, quote: str, rate: Decimal, at: datetime | None = None) -> None:
        """One ``base`` is worth ``rate`` ``quote`` (see :class:`FxRates`)."""
        self.rates.set_rate(base, quote, rate, at)

    # --- fills and marks ----------------------------------------------------------------------
    def apply_fill(
        self,
        event: OrderFillEvent,
        instrument: Instrument,
        strategy_id: StrategyId | None = None,
    ) -> list[PositionChanged]:
        """Apply a fill to its portfolio's position; returns the position events.

        A fill already applied (same ``exchange_trade_id`` for the same portfolio
        and instrument) changes nothing and returns no events.
        """
        instrument_id = instrument.id
        if event.instrument_id is not instrument_id and event.instrument_id != instrument_id:
            raise ValidationError("instrument", "must be the instrument of the fill", instrument)
        quantity = event.fill_quantity
        price = event.fill_price
        if not (  # the common case at once: plain, finite, bounded, positive Decimals
            type(quantity) is Decimal
            and type(price) is Decimal
            and quantity.is_finite()
            and price.is_finite()
            and quantity > ZERO
            and price > ZERO
            and -MAX_EXPONENT <= quantity.adjusted() <= MAX_EXPONENT
            and -MAX_EXPONENT <= price.adjusted() <= MAX_EXPONENT
        ):
            require_positive("fill_quantity", quantity)  # raises as it always did, or passes
            require_positive("fill_price", price)
        portfolio_id = event.portfolio_id
        recent_id, account = self._recent
        if recent_id is not portfolio_id or account is None:
            account = self._account(portfolio_id)
        book = account.books.get(instrument_id)
        if book is None:
            balance = account.balance(instrument.quote_currency)
            book = PositionBook(account.portfolio_id, instrument, balance, self._fifo, self._ids)
            account.books[instrument_id] = book
        trade_ids = book.trade_ids
        trade_id = event.exchange_trade_id
        if trade_id in trade_ids:
            return []
        was_open = bool(book.signed_quantity)
        at = event.occurred_at
        commission = event.commission
        market = self._markets.get(instrument_id)
        mark = price if market is None or market.mark is None else market.mark
        saved = getcontext()
        setcontext(_EXACT)  # see _EXACT
        try:
            result = book.fill(event.side, quantity, price, commission, mark, at)
        finally:
            setcontext(saved)
        if result.opened is None and self._ids is not None:
            # Every fill used to draw a position id whether it opened a position or not;
            # draw it still, so that a seeded generator keeps giving the same ids.
            self._ids.next_int()
        trade_ids.add(trade_id)
        if bool(book.signed_quantity) is not was_open:  # an open book stays indexed
            self._index(book)
        account.note_pnl(
            (
                account.portfolio_id,
                instrument_id,
                strategy_id,
                event.trade_id,
                at,
                instrument.quote_currency,
                result.realized_pnl,
                commission,
            )
        )
        events: list[PositionChanged] = []
        if result.closed is not None:
            events.append(self._event(PositionClosed, result.closed, at))
        if result.opened is not None:
            events.append(self._event(PositionOpened, result.opened, at))
        if result.changed is not None:
            events.append(self._event(PositionChanged, result.changed, at))
        return events

    def mark(self, instrument_id: InstrumentId, price: Decimal, at: datetime) -> int:
        """Revalue the open positions in ``instrument_id`` at ``price``; returns how many."""
        if not (  # the common case at once: a plain, finite, bounded, positive Decimal in UTC
            type(price) is Decimal
            and price.is_finite()
            and price > ZERO
            and -MAX_EXPONENT <= price.adjusted() <= MAX_EXPONENT
            and type(at) is datetime
            and at.tzinfo is UTC
        ):
            price = to_decimal("price", price)
            require_positive("price", price)
            require_timestamp("at", at)
        market = self._markets.get(instrument_id)
        if market is None:
            market = self._markets[instrument_id] = _Market()
        market.mark = price
        books = market.books
        if not books:
            return 0
        saved = getcontext()
        setcontext(_EXACT)  # see _EXACT
        try:
            for book in books.values():
                book.revalue(price, at)
        finally:
            setcontext(saved)
        return len(books)

    def mark_quote(self, quote: Quote) -> int:
        """Revalue at the quote's mid price."""
        return self.mark(quote.instrument_id, quote.mid, quote.timestamp)

    def last_mark(self, instrument_id: InstrumentId) -> Decimal | None:
        market = self._markets.get(instrument_id)
        return None if market is None else market.mark

    # --- queries ------------------------------------------------------------------------------
    def portfolio_ids(self) -> list[PortfolioId]:
        return list(self._accounts)

    def base_currency(self, portfolio_id: PortfolioId) -> str:
        return self._account(portfolio_id).base_currency

    def position(self, portfolio_id: PortfolioId, instrument_id: InstrumentId) -> Position | None:
        """A copy of the position in ``instrument_id`` (FLAT once closed; None if never held)."""
        book = self._account(portfolio_id).books.get(instrument_id)
        return None if book is None else book.snapshot()

    def positions(self, portfolio_id: PortfolioId) -> list[Position]:
        """Copies of the open positions of ``portfolio_id``."""
        books = self._account(portfolio_id).books.values()
        return [p for b in books if b.is_open and (p := b.snapshot()) is not None]

    def signed_quantities(self, portfolio_id: PortfolioId) -> dict[InstrumentId, Decimal]:
        """Open positions as signed quantities (long > 0), without copying positions."""
        books = self._account(portfolio_id).books
        return {i: b.signed_quantity for i, b in books.items() if b.signed_quantity}

    def book(self, portfolio_id: PortfolioId, instrument_id: InstrumentId) -> PositionBook:
        """The live book of one position (cost basis, commissions, lots); do not modify it."""
        book = self._account(portfolio_id).books.get(instrument_id)
        if book is None:
            raise NotFound("position", (portfolio_id, instrument_id))
        return book

    def instruments(self, portfolio_id: PortfolioId) -> dict[InstrumentId, Instrument]:
        """The instruments the portfolio has traded."""
        return {i: b.instrument for i, b in self._account(portfolio_id).books.items()}

    def cash(self, portfolio_id: PortfolioId, currency: str | None = None) -> Decimal:
        """Cash in ``currency``, or all cash in the base currency when None."""
        account = self._account(portfolio_id)
        if currency is not None:
            balance = account.balances.get(currency)
            return ZERO if balance is None else balance.cash
        return self._total(account, "cash")

    def cash_balances(self, portfolio_id: PortfolioId) -> dict[str, Decimal]:
        return {c: b.cash for c, b in self._account(portfolio_id).balances.items()}

    def equity(self, portfolio_id: PortfolioId) -> Decimal:
        """Cash plus holdings, in the base currency."""
        recent_id, account = self._recent
        if recent_id is not portfolio_id or account is None:
            account = self._account(portfolio_id)
        balance = account.sole_balance
        if balance is not None:  # read on every order: _total's sum without the loop
            # 0 + value, as _total adds up from ZERO: the same Decimal, exponent included
            equity = _add(balance.cash, balance.holdings)
            return _add(ZERO, equity) if equity else ZERO
        return self._total(account, "equity")

    def unrealized_pnl(self, portfolio_id: PortfolioId) -> Decimal:
        return self._total(self._account(portfolio_id), "unrealized_pnl")

    def realized_pnl(self, portfolio_id: PortfolioId) -> Decimal:
        """Realized P&L by average cost, before commissions, in the base currency."""
        return self._total(self._account(portfolio_id), "realized_pnl")

    def commission(self, portfolio_id: PortfolioId) -> Decimal:
        return self._total(self._account(portfolio_id), "commission")

    def margin_used(self, portfolio_id: PortfolioId) -> Decimal:
        return self._total(self._account(portfolio_id), "margin_used")

    def margin_available(self, portfolio_id: PortfolioId) -> Decimal:
        """Equity less margin used less the gross value of fully funded positions."""
        recent_id, account = self._recent
        if recent_id is not portfolio_id or account is None:
            account = self._account(portfolio_id)
        balance = account.sole_balance
        if balance is not None:  # read on every order: _total's sums without the loops
            # each 0 + value as in _total; the subtractions in the caller's context, as ever
            equity = _add(balance.cash, balance.holdings)
            used = balance.margin_used
            funded = balance.funded_value
            return (
                (_add(ZERO, equity) if equity else ZERO)
                - (_add(ZERO, used) if used else ZERO)
                - (_add(ZERO, funded) if funded else ZERO)
            )
        return (
            self._total(account, "equity")
            - self._total(account, "margin_used")
            - self._total(account, "funded_value")
        )

    def snapshot(self, portfolio_id: PortfolioId) -> PortfolioSnapshot:
        account = self._account(portfolio_id)
        equity = self._total(account, "equity")
        margin_used = self._total(account, "margin_used")
        return PortfolioSnapshot(
            portfolio_id=portfolio_id,
            base_currency=account.base_currency,
            cash=self._total(account, "cash"),
            equity=equity,
            unrealized_pnl=self._total(account, "unrealized_pnl"),
            realized_pnl=self._total(account, "realized_pnl"),
            commission=self._total(account, "commission"),
            margin_used=margin_used,
            margin_available=equity - margin_used - self._total(account, "funded_value"),
        )

    def pnl_records(self, portfolio_id: PortfolioId) -> list[RealizedPnl]:
        """The realized P&L and commission of every applied fill, in order."""
        return list(self._account(portfolio_id).pnl)

    def fifo_report(self, portfolio_id: PortfolioId, instrument_id: InstrumentId) -> FifoLotReport:
        """Open lots and FIFO realized P&L (the ledger must keep ``fifo_lots``)."""
        fifo = self.book(portfolio_id, instrument_id).fifo
        if fifo is None:
            raise Conflict("FIFO lots are not kept: create the ledger with fifo_lots=True")
        return fifo.report()

    def exposure(self, portfolio_id: PortfolioId) -> analytics.ExposureReport:
        """Gross and net notional exposure by instrument and instrument type, in base."""
        account = self._account(portfolio_id)
        return analytics.exposure(
            self.positions(portfolio_id),
            self.instruments(portfolio_id),
            account.base_currency,
            self.rates.convert,
        )

    def pnl_by_strategy(
        self, portfolio_id: PortfolioId
    ) -> dict[StrategyId | None, analytics.PnlSummary]:
        """Realized P&L and commissions per strategy, in base at the latest rates."""
        account = self._account(portfolio_id)
        return analytics.pnl_by_strategy(account.pnl, account.base_currency, self.rates.convert)

    def pnl_by_day(self, portfolio_id: PortfolioId) -> dict[date, analytics.PnlSummary]:
        """Realized P&L and commissions per UTC day, in base at the latest rates."""
        account = self._account(portfolio_id)
        return analytics.pnl_by_day(account.pnl, account.base_currency, self.rates.convert)

    def convert(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        return self.rates.convert(amount, from_currency, to_currency)

    def open_books(self, instrument_id: InstrumentId) -> Iterator[PositionBook]:
        """The open books in ``instrument_id`` (the index marks use)."""
        market = self._markets.get(instrument_id)
        return iter(({} if market is None else market.books).values())

    # --- internals ----------------------------------------------------------------------------
    def _account(self, portfolio_id: PortfolioId) -> PortfolioAccount:
        account = self._accounts.get(portfolio_id)
        if account is None:
            raise NotFound("portfolio", portfolio_id)
        self._recent = (portfolio_id, account)
        return account

    def _total(self, account: PortfolioAccount, name: str) -> Decimal:
        base = account.base_currency
        convert = self.rates.convert
        total = ZERO
        with localcontext(EXACT):
            for currency, balance in account.balances.items():
                value: Decimal = getattr(balance, name)
                if value:
                    total += convert(value, currency, base)
        return total

    def _index(self, book: PositionBook) -> None:
        instrument_id = book.instrument.id
        market = self._markets.get(instrument_id)
        if book.is_open:
            if market is None:
                market = self._markets[instrument_id] = _Market()
            market.books[book.portfolio_id] = book
        elif market is not None:
            market.books.pop(book.portfolio_id, None)

    def _event(
        self, kind: type[PositionChanged], position: Position, at: datetime
    ) -> PositionChanged:
        """The ``kind`` event of ``position`` as it is now.

        Its fields come from the book: typed ids (a :class:`Position` holds them
        normalized), an enum side and a fill's checked UTC time. So the event is made
        without ``__post_init__``'s normalizing and checks, which would pass and cost
        more than the fill, unless a Decimal is out of the range they allow (then the
        checking constructor raises, as it always did).
        """
        event_id = EventId.new(self._ids)
        quantity = position.quantity
        average = position.average_entry_price
        realized = position.realized_pnl
        # the bounds the checks enforce (the book's arithmetic makes only finite values)
        if not (  # zeros first: a closed position has no quantity, a new one no P&L yet
            (not quantity or -MAX_EXPONENT <= quantity.adjusted() <= MAX_EXPONENT)
            and (average is None or -MAX_EXPONENT <= average.adjusted() <= MAX_EXPONENT)
            and (not realized or -MAX_EXPONENT <= realized.adjusted() <= MAX_EXPONENT)
        ):
            return kind(
                event_id=event_id,
                occurred_at=at,
                position_id=position.id,
                portfolio_id=position.portfolio_id,
                instrument_id=position.instrument_id,
                side=position.side,
                quantity=quantity,
                average_entry_price=average,
                realized_pnl=realized,
            )
        made: PositionChanged = _new(kind)
        _set_event_id(made, event_id)
        _set_occurred_at(made, at)
        _set_position_id(made, position.id)
        _set_portfolio_id(made, position.portfolio_id)
        _set_instrument_id(made, position.instrument_id)
        _set_side(made, position.side)
        _set_quantity(made, quantity)
        _set_average_entry_price(made, average)
        _set_realized_pnl(made, realized)
        return made


_new = object.__new__


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """Sets the slot ``name`` of ``cls`` (and its subclasses), frozen or not.

    Events are frozen: their slots are set through the slot descriptors, which
    costs half of ``object.__setattr__`` (no lookup by name)."""
    setter: Callable[[object, object], None] = cls.__dict__[name].__set__
    return setter


_set_event_id = _slot_setter(DomainEvent, "event_id")
_set_occurred_at = _slot_setter(DomainEvent, "occurred_at")
_set_position_id = _slot_setter(PositionChanged, "position_id")
_set_portfolio_id = _slot_setter(PositionChanged, "portfolio_id")
_set_instrument_id = _slot_setter(PositionChanged, "instrument_id")
_set_side = _slot_setter(PositionChanged, "side")
_set_quantity = _slot_setter(PositionChanged, "quantity")
_set_average_entry_price = _slot_setter(PositionChanged, "average_entry_price")
_set_realized_pnl = _slot_setter(PositionChanged, "realized_pnl")


_add = EXACT.add  # exact sums outside a local context
# The context fills and marks compute in: made current and restored around them, which
# costs less than half of ``localcontext(EXACT)`` (that copies the context every time).
# Its flags may collect signals across calls; nothing reads them, and traps do not
# depend on them.
_EXACT = EXACT.copy()
