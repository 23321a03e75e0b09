"""Whether an account can pay for what it asks of the simulated exchange.

One job: find the price an order is funded at, and ask the reservations
(:mod:`omoitrade.venues.sim.reservations`) what it would lock beyond what the account has
free. It is asked of a new order, of an amend, and in bars mode of a market order that
came with no known price, just before it first trades. The exchange refuses, or cancels,
with the reason it gives. See docs/simulated-exchange.md.
"""

from __future__ import annotations

from decimal import Decimal

from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO
from omoitrade.model.venue import AmendOrder, ExecutionReport, SubmitOrder
from omoitrade.venues.sim.accounts import SimAccount
from omoitrade.venues.sim.bar_fills import BarExecutionSimulator
from omoitrade.venues.sim.matching import MatchingEngine
from omoitrade.venues.sim.reservations import Reservations

_BUY, _MARKET = OrderSide.BUY, OrderType.MARKET


class Funding:
    """The funding checks of one exchange, over its accounts, instruments and workers (the
    exchange's own dictionaries, read as they are now)."""

    def __init__(
        self,
        venue: str,
        accounts: dict[AccountId, SimAccount],
        instruments: dict[InstrumentId, Instrument],
        engines: dict[InstrumentId, MatchingEngine],
        bar_workers: dict[InstrumentId, BarExecutionSimulator],
        latest: dict[tuple[AccountId, ClientOrderId], ExecutionReport],
    ) -> None:
        self.venue = venue
        self._accounts = accounts
        self._instruments = instruments
        self._engines = engines
        self._bar_workers = bar_workers
        self._latest = latest  # each order's latest report
        # what working orders lock (OCO groups once, covers of a short sharing its reserve)
        self.reservations = Reservations(self.market_price)

    def new_order(self, command: SubmitOrder) -> str | None:
        """Why the account cannot pay for a new order, or None."""
        account = self._accounts.get(command.account_id)
        if account is None:
            return f"account {command.account_id} is not open at {self.venue}"
        instrument = self._instruments.get(command.instrument_id)
        if instrument is None:
            return None  # the worker lookup reports the unknown instrument
        side = command.side
        price = command.price or command.stop_price
        if price is None and (side is _BUY or account.short_margin is not None):
            price = self._reference_price(instrument.id, side)
        return self.reservations.problem(account, instrument, command, price)

    def amend(self, command: AmendOrder) -> str | None:
        """Why the account cannot pay for the working order as amended (more than it holds
        now and has free), or None; an amend the venue refuses on other grounds, or of an
        order it does not know, is left to the matching engine or bar simulator."""
        key = (command.account_id, command.client_order_id)
        latest = self._latest.get(key)
        account = self._accounts.get(command.account_id)
        instrument = self._instruments.get(command.instrument_id)
        if latest is None or account is None or instrument is None:
            return None
        if latest.leaves_quantity <= ZERO or latest.order_type is _MARKET:
            return None
        quantity = latest.leaves_quantity
        if command.quantity is not None:
            quantity = command.quantity - latest.filled_quantity
        price = command.price or latest.price or command.stop_price or latest.stop_price
        if quantity <= ZERO or price is None:
            return None
        reservations = self.reservations
        return reservations.amend_problem(account, instrument, key, latest.side, quantity, price)

    def fill(self, command: SubmitOrder, quantity: Decimal, price: Decimal) -> str | None:
        """Bars mode: why the account cannot pay for a market order that came with no known
        price, now that it would trade ``quantity`` at ``price`` (the bar's, before
        slippage; the bar's earlier fills booked); None when it can."""
        account = self._accounts.get(command.account_id)
        instrument = self._instruments.get(command.instrument_id)
        if account is None or instrument is None:
            return None
        key = (command.account_id, command.client_order_id)
        reservations = self.reservations
        return reservations.amend_problem(account, instrument, key, command.side, quantity, price)

    def market_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """What a working market order locks at: in bars mode the price it was funded at
        (see :meth:`_reference_price`); in book mode nothing (it never rests): None."""
        worker = self._bar_workers.get(instrument_id)
        return None if worker is None else worker.market_price()

    def _reference_price(self, instrument_id: InstrumentId, side: OrderSide) -> Decimal | None:
        """The price a market order of ``side`` is funded at. Book mode: the best it would
        meet (or the last trade); bars mode: the price it trades at when that is known (the
        latest close under the ``close`` model), else None: funded as it trades."""
        engine = self._engines.get(instrument_id)
        if engine is None:
            return self.market_price(instrument_id)
        best = engine.best_ask() if side is _BUY else engine.best_bid()
        return best[0] if best else engine.last_price
