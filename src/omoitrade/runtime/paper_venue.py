"""The paper session's simulated exchange, keeping our accounts in its own file.

Matching runs in memory, in the paper market's exchange, against the background
liquidity (which is not journaled: it is the market, not an account). Our account's
commands and reports go to the exchange's own SQLite file (the command journal and
reports of :mod:`omoitrade.venues.sim.journal`) before they take effect. On a restart the
venue rebuilds our accounts (fills, positions, balances, the latest state of every order)
from that file and puts the working orders back in the fresh books, with their ids and
filled quantities; the node then reconciles against it, not against its own memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from itertools import count
from pathlib import Path

from omoitrade.model import Instrument
from omoitrade.model.enums import ExecType, OrderStatus
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    MarketDataHandler,
    ReportHandler,
    SubmitOrder,
    VenuePosition,
    VenueReport,
)
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.accounts import SimAccount
from omoitrade.venues.sim.exchange import SimulatedExchange
from omoitrade.venues.sim.journal import Journal

STARTING_CASH = {"USD": Decimal("1000000")}  # the exchange account's own starting cash
_WORKING = (OrderStatus.SUBMITTED, OrderStatus.PARTIAL)


@dataclass(slots=True)
class _Restored:
    """An order put back in the fresh books after a restart: what it was before."""

    venue_order_id: VenueOrderId | None
    quantity: Decimal
    filled: Decimal


class PaperVenue:
    """A :class:`~omoitrade.model.venue.VenueAdapter`: the synthetic market's exchange for
    matching, our accounts' history in the exchange's own file.

    Commands are journaled (committed) before they reach the books; every report for our
    accounts is stored before it is delivered, with ids of this file (report ids, and
    venue order and trade ids prefixed by the start's number, so they never repeat across
    restarts). Commands that arrive while the exchange is busy (a strategy reacting to
    market data the exchange is publishing) wait until it is done: nothing re-enters the
    matching engine.
    """

    def __init__(self, exchange: SimulatedExchange, path: Path) -> None:
        self.exchange = exchange
        self.path = path
        self.journal = Journal(path)
        self._report_handlers: list[ReportHandler] = []
        self._latest: dict[tuple[AccountId, ClientOrderId], ExecutionReport] = {}
        self._fills: list[ExecutionReport] = []
        self._accounts: dict[AccountId, SimAccount] = {}
        self._restored: dict[tuple[AccountId, ClientOrderId], _Restored] = {}
        self._restoring = False
        self._busy = False
        self._waiting: deque[Callable[[], None]] = deque()
        self.prices: dict[InstrumentId, Decimal] = {}
        self._load()
        self.start_number = self.journal.append(self._now(), [{"kind": "start"}])[0].sequence
        self._report_ids = count(self.journal.last_report_id() + 1)
        exchange.on_report(self._on_report)

    def _now(self) -> int:
        return self.exchange.clock.timestamp_ns()

    def _load(self) -> None:
        """Our accounts as the file has them: fills, latest order states, prices."""
        for entry in self.journal.entries():
            if entry.payload.get("kind") == "prices":
                self.prices = {
                    InstrumentId.parse(k): Decimal(v) for k, v in entry.payload["prices"].items()
                }
        after = 0
        while True:
            page = self.journal.reports_after(after, 1000)
            if not page:
                break
            for data in page:
                report = wire.decode_report(data)
                after = report.report_id
                if isinstance(report, ExecutionReport):
                    self._book(report)

    def _book(self, report: ExecutionReport) -> None:
        key = (report.account_id, report.client_order_id)
        if report.exec_type is ExecType.REJECTED and key in self._latest:
            return
        self._latest[key] = report
        if report.exec_type is ExecType.TRADE:
            self._fills.append(report)
            instrument = self.exchange.instrument(report.instrument_id)
            self._account(report.account_id).apply_fill(report, instrument)

    def _account(self, account_id: AccountId) -> SimAccount:
        account = self._accounts.get(account_id)
        if account is None:
            account = self._accounts[account_id] = SimAccount(account_id)
            for currency, amount in STARTING_CASH.items():
                account.deposit(currency, amount)
        return account

    # --- exclusive access to the books ----------------------------------------------------
    def exclusive(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the books now, or after the work in progress."""
        self._waiting.append(work)
        if self._busy:
            return
        self._busy = True
        try:
            while self._waiting:
                self._waiting.popleft()()
        finally:
            self._busy = False

    def resume_orders(self) -> int:
        """Put our working orders back in the fresh books (after a restart)."""
        working = [r for r in self._latest.values() if _working(r)]
        for report in sorted(working, key=lambda r: r.report_id):
            key = (report.account_id, report.client_order_id)
            self._restored[key] = _Restored(
                report.venue_order_id, report.quantity, report.filled_quantity
            )
            command = SubmitOrder(
                report.account_id,
                report.client_order_id,
                report.instrument_id,
                report.side,
                report.order_type,
                report.leaves_quantity,
                report.time_in_force,
                price=report.price,
                stop_price=report.stop_price,
            )

            def place(command: SubmitOrder = command) -> None:
                self._restoring = True
                try:
                    self.exchange.act(command)
                finally:
                    self._restoring = False

            self.exclusive(place)
        return len(working)

    def save_prices(self, prices: dict[InstrumentId, Decimal]) -> None:
        encoded = {str(k): str(v) for k, v in prices.items()}
        self.journal.append(self._now(), [{"kind": "prices", "prices": encoded}])

    # --- reports ----------------------------------------------------------------------------
    def _on_report(self, report: VenueReport) -> None:
        translated: ExecutionReport | CommandRejected | None
        if isinstance(report, ExecutionReport):
            translated = self._translate(report)
            if translated is None:
                return
        elif isinstance(report, CommandRejected):
            translated = replace(report, report_id=next(self._report_ids))
        else:
            return
        self.journal.store_reports(self.journal.last_sequence, [translated])
        if isinstance(translated, ExecutionReport):
            self._book(translated)
        for handler in self._report_handlers:
            handler(translated)

    def _translate(self, report: ExecutionReport) -> ExecutionReport | None:
        key = (report.account_id, report.client_order_id)
        restored = self._restored.get(key)
        trade_id = report.trade_id
        if trade_id is not None:
            trade_id = VenueTradeId(f"{self.start_number}-{trade_id}")
        venue_order_id = report.venue_order_id
        if venue_order_id is not None:
            venue_order_id = VenueOrderId(f"{self.start_number}-{venue_order_id}")
        quantity, filled = report.quantity, report.filled_quantity
        exec_type, status, reason = report.exec_type, report.order_status, report.reason
        if restored is not None:
            if self._restoring and exec_type is ExecType.NEW:
                return None  # it was working before: nothing new to say
            venue_order_id = restored.venue_order_id or venue_order_id
            quantity, filled = restored.quantity, restored.filled + report.filled_quantity
            if exec_type is ExecType.REJECTED:  # could not be put back: it ends here
                exec_type, status = ExecType.CANCELLED, OrderStatus.CANCELLED
                reason = f"lost at the exchange's restart: {reason}"
            if status is OrderStatus.SUBMITTED and filled > 0:
                status = OrderStatus.PARTIAL
        return report._replace(
            report_id=next(self._report_ids),
            venue_order_id=venue_order_id,
            trade_id=trade_id,
            quantity=quantity,
            filled_quantity=filled,
            exec_type=exec_type,
            order_status=status,
            reason=reason,
        )

    # --- VenueAdapter -----------------------------------------------------------------------
    @property
    def venue(self) -> str:
        return self.exchange.venue

    def instruments(self) -> list[Instrument]:
        return self.exchange.instruments()

    def on_report(self, handler: ReportHandler) -> None:
        self._report_handlers.append(handler)

    def on_market_data(self, handler: MarketDataHandler) -> None:
        self.exchange.on_market_data(handler)

    def submit(self, command: SubmitOrder) -> None:
        self._command("submit", command)

    def cancel(self, command: CancelOrder) -> None:
        self._command("cancel", command)

    def amend(self, command: AmendOrder) -> None:
        self._command("amend", command)

    def _command(self, kind: str, command: SubmitOrder | CancelOrder | AmendOrder) -> None:
        self.exchange.instrument(command.instrument_id)  # NotFound before it is journaled
        self.journal.append(self._now(), [{"kind": kind, "command": wire.encode_command(command)}])
        self._account(command.account_id)
        act = getattr(self.exchange, kind)
        self.exclusive(lambda: act(command))

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        latest = self._latest.get((account_id, client_order_id))
        return None if latest is None else self._status(latest)

    async def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        return [
            self._status(r)
            for (account, _), r in self._latest.items()
            if account == account_id and _working(r)
        ]

    async def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        return [f for f in self._fills if f.account_id == account_id and f.timestamp >= since]

    async def balances(self, account_id: AccountId) -> list[Balance]:
        return self._account(account_id).balances()

    async def positions(self, account_id: AccountId) -> list[VenuePosition]:
        return self._account(account_id).positions()

    def _status(self, report: ExecutionReport) -> ExecutionReport:
        return report._replace(
            report_id=next(self._report_ids),
            exec_type=ExecType.STATUS,
            timestamp=self.exchange.clock.utc_now(),
            last_quantity=None,
            last_price=None,
            trade_id=None,
            liquidity=None,
            commission=Decimal(0),
            commission_currency=None,
        )

    def submits_of(self, client_order_id: ClientOrderId) -> int:
        """How many times a submit of this client order id reached the exchange (tests)."""
        return sum(
            1
            for entry in self.journal.entries()
            if entry.payload.get("kind") == "submit"
            and entry.payload["command"]["client_order_id"] == str(client_order_id)
        )

    def close(self) -> None:
        self.journal.dispose()


def _working(report: ExecutionReport) -> bool:
    return report.order_status in _WORKING and report.leaves_quantity > 0


# --- the session -----------------------------------------------------------------------------
