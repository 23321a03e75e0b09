"""The simulated exchange: a complete :class:`VenueAdapter` with no network.

It routes each instrument's orders to a worker — the L3 :class:`MatchingEngine`
(``book`` mode: the synthetic market, paper trading, tick backtests) or the
:class:`BarExecutionSimulator` (``bars`` mode: bar backtests) — keeps account
balances and positions from the fills (what working orders lock:
:mod:`~omoitrade.venues.sim.reservations`), applies latency through the clock, and
publishes market data: trade ticks and top-of-book quotes as they change, L2
book snapshots on a timer, and bars in ``bars`` mode. Everything is driven by
the clock and the calls it receives, so the same inputs give the same reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, time
from decimal import Decimal
from enum import StrEnum
from itertools import count
from types import MemberDescriptorType
from typing import Protocol

from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import Conflict, NotFound
from omoitrade.model.enums import ExecType, Liquidity
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Bar, BookLevel, OrderBook, Quote, TradeTick
from omoitrade.model.money import ZERO
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandFailed,
    ExecutionReport,
    MarketData,
    MarketDataHandler,
    ReportHandler,
    SubmitOrder,
    VenuePosition,
    VenueReport,
)
from omoitrade.venues.sim.accounts import SimAccount
from omoitrade.venues.sim.bar_fills import BarExecutionSimulator, BarFillConfig
from omoitrade.venues.sim.funding import Funding
from omoitrade.venues.sim.latency import DelayLine, LatencyModel
from omoitrade.venues.sim.matching import MatchingEngine
from omoitrade.venues.sim.reports import command_refused, order_rejected

_DAY_NS = 86_400 * 1_000_000_000
# enum members bound once: reading one off its class costs more than the test that uses it
_TRADE, _TAKER, _REJECTED = ExecType.TRADE, Liquidity.TAKER, ExecType.REJECTED


class ExchangeMode(StrEnum):
    BOOK = "book"
    BARS = "bars"


@dataclass(frozen=True, slots=True)
class SimExchangeConfig:
    """Everything that makes one simulated exchange differ from another."""

    venue: str = "SIM"
    mode: ExchangeMode = ExchangeMode.BOOK
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    latency: LatencyModel = field(default_factory=LatencyModel)
    bar_fills: BarFillConfig = field(default_factory=BarFillConfig)
    session_close: time = time(0, 0)  # UTC; book mode expires DAY orders here daily
    book_depth: int = 10
    book_interval_ns: int = 1_000_000_000  # L2 snapshots at most this often, when changed
    enforce_balances: bool = False  # refuse orders the account cannot pay for


class _OrderWorker(Protocol):
    def submit(self, command: SubmitOrder, at: datetime) -> Sequence[VenueReport]: ...
    def cancel(self, command: CancelOrder, at: datetime) -> Sequence[VenueReport]: ...
    def amend(self, command: AmendOrder, at: datetime) -> Sequence[VenueReport]: ...


class _Book:
    """One instrument's book in ``book`` mode: its engine, the top (best bid and ask) last
    published, and whether it changed since the last L2 snapshot."""

    __slots__ = ("dirty", "engine", "top")

    def __init__(self, engine: MatchingEngine) -> None:
        self.engine = engine
        self.top: tuple[object, object] | None = None
        self.dirty = False


class SimulatedExchange:
    """A venue in memory, trading the instruments it was given."""

    def __init__(
        self, clock: Clock, instruments: Sequence[Instrument], config: SimExchangeConfig
    ) -> None:
        self.clock = clock
        self.config = config
        self._instruments = {i.id: i for i in instruments}
        self._accounts: dict[AccountId, SimAccount] = {}
        self._report_handlers: list[ReportHandler] = []
        self._data_handlers: list[MarketDataHandler] = []
        self._fills: list[ExecutionReport] = []
        self._latest: dict[tuple[AccountId, ClientOrderId], ExecutionReport] = {}  # per order
        self._background: set[AccountId] = set()
        report_ids = self._report_ids = count(1).__next__
        self._engines: dict[InstrumentId, MatchingEngine] = {}
        self._bar_workers: dict[InstrumentId, BarExecutionSimulator] = {}
        self._funding = Funding(
            config.venue, self._accounts, self._instruments, self._engines, self._bar_workers,
            self._latest,
        )  # fmt: skip
        self._reservations = self._funding.reservations  # what working orders lock
        for instrument in instruments:
            prefix = f"{config.venue}-{instrument.symbol}"
            if config.mode is ExchangeMode.BOOK:
                self._engines[instrument.id] = MatchingEngine(
                    instrument,
                    maker_fee=config.maker_fee,
                    taker_fee=config.taker_fee,
                    id_prefix=prefix,
                    next_report_id=report_ids,
                )
            else:
                bar_config = config.bar_fills
                worker = BarExecutionSimulator(
                    instrument, bar_config, id_prefix=prefix, next_report_id=report_ids
                )
                worker.booking = self._book_account  # each report booked as the bar makes it
                if config.enforce_balances:  # a market order's price is known as it trades
                    worker.funding = self._funding.fill
                self._bar_workers[instrument.id] = worker
        # the config is frozen: what the order path needs of it is read once, here
        latency = config.latency
        self._ack_ns, self._fill_ns, self._data_ns = (
            latency.order_ack_ns,
            latency.fill_ns,
            latency.market_data_ns,
        )
        self._enforce_balances = config.enforce_balances
        self._to_venue = DelayLine(clock, f"{config.venue}-orders")
        self._to_client = DelayLine(clock, f"{config.venue}-reports")
        self._data_out = DelayLine(clock, f"{config.venue}-data")
        self._books = {instrument_id: _Book(e) for instrument_id, e in self._engines.items()}
        self._last_instrument: Instrument | None = None  # of the latest report booked
        if config.mode is ExchangeMode.BOOK:
            self._schedule_timers()

    # --- VenueAdapter -----------------------------------------------------------------------
    @property
    def venue(self) -> str:
        return self.config.venue

    def instruments(self) -> list[Instrument]:
        return list(self._instruments.values())

    def on_report(self, handler: ReportHandler) -> None:
        self._report_handlers.append(handler)

    def on_market_data(self, handler: MarketDataHandler) -> None:
        self._data_handlers.append(handler)

    def instrument(self, instrument_id: InstrumentId) -> Instrument:
        try:
            return self._instruments[instrument_id]
        except KeyError:
            raise NotFound("instrument", instrument_id) from None

    def act(self, command: SubmitOrder | CancelOrder | AmendOrder) -> None:
        """Apply a command now, without latency: the simulated market's own participants."""
        if isinstance(command, SubmitOrder):
            self._submit(command)
        else:
            self._route("cancel" if isinstance(command, CancelOrder) else "amend", command)

    def submit(self, command: SubmitOrder) -> None:
        if self._ack_ns <= 0:  # the order path's hot case: no delay line at all
            if self._enforce_balances or command.oco_group is not None:
                self._submit(command)
            else:
                self._route("submit", command)  # (what _submit comes to: no check, no group)
        else:
            self._to_venue.call(self._ack_ns, self._submit, command)

    def cancel(self, command: CancelOrder) -> None:
        self._to_venue.call(self._ack_ns, self._cancel, command)

    def amend(self, command: AmendOrder) -> None:
        self._to_venue.call(self._ack_ns, self._amend, command)

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        latest = self._latest.get((account_id, client_order_id))
        if latest is None:
            return None
        return latest._replace(
            report_id=self._report_ids(),
            exec_type=ExecType.STATUS,
            timestamp=self.clock.utc_now(),
            last_quantity=None,
            last_price=None,
            trade_id=None,
            liquidity=None,
            commission=ZERO,
            commission_currency=None,
        )

    async def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        at = self.clock.utc_now()
        reports: list[ExecutionReport] = []
        for engine in self._engines.values():
            reports += engine.open_orders(account_id)
        for worker in self._bar_workers.values():
            reports += worker.open_orders(account_id, at)
        return reports

    async def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        return [f for f in self._fills if f.account_id == account_id and f.timestamp >= since]

    async def balances(self, account_id: AccountId) -> list[Balance]:
        return self.account(account_id).balances()

    async def positions(self, account_id: AccountId) -> list[VenuePosition]:
        return self.account(account_id).positions()

    # --- accounts ---------------------------------------------------------------------------
    def open_account(
        self,
        account_id: AccountId,
        deposits: dict[str, Decimal],
        *,
        background: bool = False,
        short_margin: Decimal | None = None,
    ) -> SimAccount:
        """Create an account with starting cash; a second open of the same id is a Conflict.

        A ``background`` account belongs to the simulated market itself: its
        reports are booked but not sent to report handlers. ``short_margin`` makes it a
        margin account that may sell short (see :class:`SimAccount`); None: spot.
        """
        if account_id in self._accounts:
            raise Conflict(f"account {account_id} is already open at {self.venue}")
        account = SimAccount(account_id, short_margin)
        self._accounts[account_id] = account
        if background:
            self._background.add(account_id)
        for currency, amount in deposits.items():
            account.deposit(currency, amount)
        return account

    def account(self, account_id: AccountId) -> SimAccount:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise NotFound("account", account_id) from None

    # --- market data in ---------------------------------------------------------------------
    def process_bar(self, bar: Bar) -> None:
        """Bars mode: fill working orders on ``bar``, then publish it."""
        worker = self._bar_workers.get(bar.instrument_id)
        if worker is None:
            raise NotFound("instrument", bar.instrument_id)
        self._deliver(worker.on_bar(bar), booked=True)
        for _ in range(8):  # orders sent as the bar was worked (a bracket after its entry)
            rest = worker.on_rest_of_bar(bar)
            if not rest:
                break
            self._deliver(rest)
        self._publish(bar)

    def engine(self, instrument_id: InstrumentId) -> MatchingEngine:
        """Book mode: the matching engine of one instrument (for simulated liquidity)."""
        try:
            return self._engines[instrument_id]
        except KeyError:
            raise NotFound("instrument", instrument_id) from None

    def book(self, instrument_id: InstrumentId) -> OrderBook:
        """An L2 snapshot of one instrument's book now."""
        bids, asks = self.engine(instrument_id).depth(self.config.book_depth)
        return OrderBook(
            instrument_id=instrument_id,
            timestamp=self.clock.utc_now(),
            bids=tuple(BookLevel(p, s, n) for p, s, n in bids),
            asks=tuple(BookLevel(p, s, n) for p, s, n in asks),
        )

    # --- internals --------------------------------------------------------------------------
    def _submit(self, command: SubmitOrder) -> None:
        group = command.oco_group
        if group is not None and command.instrument_id in self._instruments:
            self._reservations.joining((command.account_id, command.client_order_id), group)
        problem = self._funding.new_order(command) if self._enforce_balances else None
        if problem is not None:
            at = self.clock.utc_now()
            self._deliver([order_rejected(self._report_ids(), command, problem, at)])
            return
        self._route("submit", command)

    def _cancel(self, command: CancelOrder) -> None:
        self._route("cancel", command)

    def _amend(self, command: AmendOrder) -> None:
        problem = self._funding.amend(command) if self._enforce_balances else None
        if problem is not None:
            latest = self._latest.get((command.account_id, command.client_order_id))
            status = None if latest is None else latest.order_status
            at = self.clock.utc_now()
            self._deliver([command_refused(self._report_ids(), command, problem, status, at)])
            return
        self._route("amend", command)

    def _route(self, action: str, command: SubmitOrder | CancelOrder | AmendOrder) -> None:
        instrument_id = command.instrument_id
        book = self._books.get(instrument_id)
        worker: _OrderWorker = book.engine if book is not None else self._worker(instrument_id)
        operation: Callable[..., Sequence[VenueReport]] = getattr(worker, action)
        # one reading of the clock per command: its reports and the quote it moves share it
        at = self.clock.utc_now()
        self._deliver(operation(command, at))
        if book is not None:
            self._after_book_change(instrument_id, book, at)

    def _worker(self, instrument_id: InstrumentId) -> MatchingEngine | BarExecutionSimulator:
        worker = self._engines.get(instrument_id) or self._bar_workers.get(instrument_id)
        if worker is None:
            raise NotFound("instrument", instrument_id)
        return worker

    def _deliver(self, reports: Sequence[VenueReport], booked: bool = False) -> None:
        """Book each report (unless ``booked`` in the accounts already), then send it to the
        report handlers (unless it is a background account's), after the fill or the ack
        latency: called at once when that is zero."""
        background, handlers = self._background, self._report_handlers
        for report in reports:
            if isinstance(report, ExecutionReport):
                self._book_keeping(report, booked)
                delay = self._fill_ns if report.exec_type is _TRADE else self._ack_ns
            elif isinstance(report, CommandFailed):
                continue
            else:
                delay = self._ack_ns
            if report.account_id in background:
                continue
            if delay <= 0:
                for handler in handlers:
                    handler(report)
            else:
                self._to_client.call(delay, self._emit_report, report)

    def _emit_report(self, report: VenueReport) -> None:
        for handler in self._report_handlers:
            handler(report)

    def _book_keeping(self, report: ExecutionReport, booked: bool = False) -> None:
        """Keep the fill, publish its trade tick, and (unless ``booked`` already) move the
        account's cash, position and locks."""
        if report.exec_type is _TRADE:
            self._fills.append(report)
            if report.liquidity is _TAKER and (self._data_handlers or self._data_ns > 0):
                self._publish(_trade_tick(report))  # nobody to see it: not built
        if not booked:
            self._book_account(report)

    def _book_account(self, report: ExecutionReport) -> None:
        """Move the account's cash, position and locks; note the order's latest report."""
        # the reports of one command are all of one instrument, and carry the very same
        # id object: an identity test saves hashing the UUID for each of them
        instrument = self._last_instrument
        if instrument is None or instrument.id is not report.instrument_id:
            instrument = self._last_instrument = self._instruments[report.instrument_id]
        trade = report.exec_type is _TRADE
        account = self._accounts.get(report.account_id)
        if account is None:
            return
        key = (report.account_id, report.client_order_id)
        if report.exec_type is _REJECTED:  # a refused new order never worked: it neither
            self._latest.setdefault(key, report)  # replaces nor unlocks one of the same id
            self._reservations.refused(key)
            return
        self._latest[key] = report
        if trade:
            account.apply_fill(report, instrument)
        self._reservations.book(account, key, report, instrument)

    def _after_book_change(self, instrument_id: InstrumentId, book: _Book, at: datetime) -> None:
        """Mark the book for the next snapshot; publish a quote (at ``at``) if the top moved."""
        book.dirty = True
        engine = book.engine
        bid, ask = top = (engine.best_bid(), engine.best_ask())
        if bid is None or ask is None or top == book.top:
            return
        book.top = top
        if self._data_handlers or self._data_ns > 0:
            self._publish(_quote(instrument_id, at, bid, ask))

    def _publish(self, item: MarketData) -> None:
        """Send ``item`` to the market data handlers after the market data latency."""
        if self._data_ns <= 0:
            for handler in self._data_handlers:
                handler(item)
        else:
            self._data_out.call(self._data_ns, self._send_data, item)

    def _send_data(self, item: MarketData) -> None:
        for handler in self._data_handlers:
            handler(item)

    def _schedule_timers(self) -> None:
        now = self.clock.timestamp_ns()
        close = self.config.session_close
        offset = ((close.hour * 60 + close.minute) * 60 + close.second) * 1_000_000_000
        first_close = now - now % _DAY_NS + offset
        if first_close <= now:
            first_close += _DAY_NS
        prefix = self.config.venue
        self.clock.set_timer(
            f"{prefix}-session-close", _DAY_NS, self._close_session, start_ns=first_close - _DAY_NS
        )
        self.clock.set_timer(f"{prefix}-books", self.config.book_interval_ns, self._snapshot_books)

    def _close_session(self, event: TimeEvent) -> None:
        at = self.clock.utc_now()
        for instrument_id, book in self._books.items():
            self._deliver(book.engine.expire_day_orders(at))
            self._after_book_change(instrument_id, book, at)

    def _snapshot_books(self, event: TimeEvent) -> None:
        dirty = []
        for instrument_id, book in self._books.items():
            if book.dirty:
                dirty.append(instrument_id)
                book.dirty = False
        for instrument_id in sorted(dirty, key=str):
            self._publish(self.book(instrument_id))


# Market data built from values the matching engine has already checked (its reports and its
# book hold positive, finite, exact Decimals, UTC times and typed ids), so without re-running
# the model's validation, which costs more than the rest of publishing them: the fields are
# written straight through their slots (which a frozen dataclass's __setattr__ would refuse).
# Should either class change its fields, these fall back to the validating constructor.
_Setter = Callable[[object, object], None]


def _slot_setters(cls: type, names: tuple[str, ...]) -> tuple[_Setter, ...] | None:
    """Writers of ``names`` into the slots of ``cls``, if those are exactly its fields."""
    slots = [vars(cls).get(name) for name in names]
    if tuple(f.name for f in fields(cls)) != names or not all(
        isinstance(slot, MemberDescriptorType) for slot in slots
    ):
        return None
    return tuple(slot.__set__ for slot in slots)  # type: ignore[union-attr]


_TICK_SETTERS = _slot_setters(
    TradeTick, ("instrument_id", "timestamp", "price", "size", "trade_id", "aggressor_side")
)
_QUOTE_SETTERS = _slot_setters(
    Quote, ("instrument_id", "timestamp", "bid_price", "ask_price", "bid_size", "ask_size")
)


def _trade_tick(report: ExecutionReport) -> TradeTick:
    """The trade tick of a taker's TRADE report."""
    price, size, trade_id = report.last_price, report.last_quantity, report.trade_id
    assert price is not None and size is not None and trade_id is not None
    if _TICK_SETTERS is None:
        return TradeTick(report.instrument_id, report.timestamp, price, size, trade_id, report.side)
    tick: TradeTick = object.__new__(TradeTick)
    set_instrument, set_time, set_price, set_size, set_trade, set_side = _TICK_SETTERS
    set_instrument(tick, report.instrument_id)
    set_time(tick, report.timestamp)
    set_price(tick, price)
    set_size(tick, size)
    set_trade(tick, trade_id)
    set_side(tick, report.side)
    return tick


def _quote(
    instrument_id: InstrumentId,
    at: datetime,
    bid: tuple[Decimal, Decimal],
    ask: tuple[Decimal, Decimal],
) -> Quote:
    """The quote of a top of book: (price, size) of the best bid and ask."""
    if _QUOTE_SETTERS is None:
        return Quote(instrument_id, at, bid[0], ask[0], bid[1], ask[1])
    quote: Quote = object.__new__(Quote)
    set_instrument, set_time, set_bid, set_ask, set_bid_size, set_ask_size = _QUOTE_SETTERS
    set_instrument(quote, instrument_id)
    set_time(quote, at)
    set_bid(quote, bid[0])
    set_ask(quote, ask[0])
    set_bid_size(quote, bid[1])
    set_ask_size(quote, ask[1])
    return quote
