"""Venue fakes for tests: a wrapper that makes a real venue unreliable on demand."""

from __future__ import annotations

from collections import deque
from datetime import datetime

from omoitrade.model.enums import DeliveryFailure
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.instruments import Instrument
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandFailed,
    ExecutionReport,
    MarketDataHandler,
    ReportHandler,
    SubmitOrder,
    VenuePosition,
    VenueReport,
)
from omoitrade.venues.sim.exchange import SimulatedExchange

Command = SubmitOrder | CancelOrder | AmendOrder


class FakeFlakyVenue:
    """A :class:`SimulatedExchange` behind a network that fails when told to.

    ``fail_next(n)``: the next ``n`` commands never arrive (TRANSIENT). ``lose_answers(n)``:
    the next ``n`` commands arrive and are worked, but their reports are lost and the
    sender sees a timeout (AMBIGUOUS). ``disconnect()``: every report is lost until
    ``reconnect()`` (the client is down). ``commands`` counts what reached the exchange.
    """

    def __init__(self, exchange: SimulatedExchange) -> None:
        self.exchange = exchange
        self._handlers: list[ReportHandler] = []
        self._plan: deque[DeliveryFailure] = deque()
        self._losing = False
        self.connected = True
        self.commands: list[Command] = []
        exchange.on_report(self._from_exchange)

    @property
    def venue(self) -> str:
        return self.exchange.venue

    def fail_next(self, count: int, failure: DeliveryFailure = DeliveryFailure.TRANSIENT) -> None:
        self._plan.extend([failure] * count)

    def lose_answers(self, count: int) -> None:
        self._plan.extend([DeliveryFailure.AMBIGUOUS] * count)

    def disconnect(self) -> None:
        self.connected = False

    def reconnect(self) -> None:
        self.connected = True

    def instruments(self) -> list[Instrument]:
        return self.exchange.instruments()

    def submit(self, command: SubmitOrder) -> None:
        self._route(command, self.exchange.submit)

    def cancel(self, command: CancelOrder) -> None:
        self._route(command, self.exchange.cancel)

    def amend(self, command: AmendOrder) -> None:
        self._route(command, self.exchange.amend)

    def _route(self, command: Command, deliver: object) -> None:
        failure = self._plan.popleft() if self._plan else None
        if failure is None:
            self.commands.append(command)
            deliver(command)  # type: ignore[operator]
            return
        if failure is DeliveryFailure.AMBIGUOUS:
            self.commands.append(command)
            self._losing = True
            try:
                deliver(command)  # type: ignore[operator]
            finally:
                self._losing = False
        self._emit(
            CommandFailed(
                timestamp=self.exchange.clock.utc_now(),
                command=command,
                failure=failure,
                reason="timed out" if failure is DeliveryFailure.AMBIGUOUS else "unreachable",
            )
        )

    def _from_exchange(self, report: VenueReport) -> None:
        if self.connected and not self._losing:
            self._emit(report)

    def _emit(self, report: VenueReport) -> None:
        for handler in self._handlers:
            handler(report)

    def on_report(self, handler: ReportHandler) -> None:
        self._handlers.append(handler)

    def on_market_data(self, handler: MarketDataHandler) -> None:
        self.exchange.on_market_data(handler)

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        return await self.exchange.order_status(account_id, client_order_id)

    async def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        return await self.exchange.open_orders(account_id)

    async def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        return await self.exchange.fills_since(account_id, since)

    async def balances(self, account_id: AccountId) -> list[Balance]:
        return await self.exchange.balances(account_id)

    async def positions(self, account_id: AccountId) -> list[VenuePosition]:
        return await self.exchange.positions(account_id)
