"""Reconciliation: make our orders, fills and positions agree with the venue's.

On start and on demand, for one portfolio's account at one venue:
1. every fill the venue reports since ``since`` is applied (once: by venue trade id);
2. every order we hold open is matched with the venue's open orders; one the venue does
   not list is asked about by client order id: its final state applies, or, when the
   venue has never heard of it and the grace window since it was sent has passed, it is
   closed with the reason;
3. venue orders we do not know and position differences are reported.
Every difference is a :class:`Discrepancy`, published on ``DISCREPANCY_TOPIC`` and returned.
The order side is reached through :class:`OrderKeeper` (the order manager has that shape).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId, PortfolioId
from omoitrade.model.orders import Order
from omoitrade.model.venue import ExecutionReport, VenueAdapter

DISCREPANCY_TOPIC = "portfolio.reconciliation.discrepancy"


class OrderKeeper(Protocol):
    """What reconciliation needs of the order manager."""

    def open_orders(self, portfolio_id: PortfolioId | None = None) -> list[Order]: ...

    def apply_venue_report(self, report: ExecutionReport) -> bool: ...

    def venue_lost(self, order: Order, reason: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One way our books and the venue's differed, and what was done about it."""

    portfolio_id: PortfolioId
    kind: str  # missing_fill, order_closed_at_venue, order_lost, unknown_venue_order, position
    detail: str
    client_order_id: ClientOrderId | None = None
    instrument_id: InstrumentId | None = None


@dataclass(slots=True)
class ReconciliationResult:
    """What one reconciliation found and did."""

    portfolio_id: PortfolioId
    orders_checked: int = 0
    fills_applied: int = 0
    orders_updated: int = 0
    orders_closed: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.discrepancies


class Reconciler:
    """Reconciles one portfolio's account at one venue (see the module docstring)."""

    def __init__(
        self,
        clock: Clock,
        bus: MessageBus,
        orders: OrderKeeper,
        venue: VenueAdapter,
        *,
        grace_ns: int = 2_000_000_000,
    ) -> None:
        self.clock, self.bus, self.orders, self.venue = clock, bus, orders, venue
        self.grace_ns = grace_ns

    async def reconcile(
        self,
        portfolio_id: PortfolioId,
        account_id: AccountId,
        since: datetime,
        positions: Mapping[InstrumentId, Decimal] | None = None,
    ) -> ReconciliationResult:
        """Apply missing fills, settle or close open orders, compare positions."""
        result = ReconciliationResult(portfolio_id)
        for fill in await self.venue.fills_since(account_id, since):
            if self.orders.apply_venue_report(fill):
                result.fills_applied += 1
                self._found(result, "missing_fill", f"fill {fill.trade_id} applied", fill)
        working = {r.client_order_id: r for r in await self.venue.open_orders(account_id)}
        ours = self.orders.open_orders(portfolio_id)
        known = {o.client_order_id for o in ours}
        for order in ours:
            result.orders_checked += 1
            report = working.get(order.client_order_id)
            if report is None:
                report = await self.venue.order_status(account_id, order.client_order_id)
            if report is not None:
                if self.orders.apply_venue_report(report):
                    result.orders_updated += 1
                    if not order.is_open:
                        detail = f"{order.status} at the venue"
                        self._found(result, "order_closed_at_venue", detail, report)
                continue
            sent = order.submitted_at or order.created_at
            waited = self.clock.timestamp_ns() - int(sent.timestamp() * 1e9)
            if waited >= self.grace_ns:
                reason = "not found at the venue (reconciliation)"
                self.orders.venue_lost(order, reason)
                result.orders_closed += 1
                self._add(
                    result,
                    Discrepancy(
                        portfolio_id,
                        "order_lost",
                        reason,
                        order.client_order_id,
                        order.instrument_id,
                    ),
                )
        for cid, report in working.items():
            if cid not in known and not self.orders.apply_venue_report(report):
                detail = f"working at the venue as {report.venue_order_id}, unknown here"
                self._found(result, "unknown_venue_order", detail, report)
        if positions is not None:
            await self._compare_positions(result, account_id, positions)
        return result

    async def _compare_positions(
        self,
        result: ReconciliationResult,
        account_id: AccountId,
        ours: Mapping[InstrumentId, Decimal],
    ) -> None:
        theirs = {p.instrument_id: p.quantity for p in await self.venue.positions(account_id)}
        for instrument_id in sorted({*ours, *theirs}, key=str):
            mine, venue = ours.get(instrument_id, Decimal(0)), theirs.get(instrument_id, Decimal(0))
            if mine != venue:
                detail = f"position {mine} here, {venue} at the venue"
                self._add(
                    result,
                    Discrepancy(result.portfolio_id, "position", detail, None, instrument_id),
                )

    def _found(
        self, result: ReconciliationResult, kind: str, detail: str, report: ExecutionReport
    ) -> None:
        discrepancy = Discrepancy(
            result.portfolio_id, kind, detail, report.client_order_id, report.instrument_id
        )
        self._add(result, discrepancy)

    def _add(self, result: ReconciliationResult, discrepancy: Discrepancy) -> None:
        result.discrepancies.append(discrepancy)
        self.bus.publish(DISCREPANCY_TOPIC, discrepancy)
