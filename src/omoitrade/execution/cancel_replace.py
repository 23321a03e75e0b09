"""Amends at venues that cannot amend: cancel-replace.

The replacement is journaled PENDING under a client order id derived from the original's
(``X.r1``, then ``X.r2``...), so a retry can never make a second one; the original is
cancelled; when the venue confirms the cancel, the replacement is sized to what the
original left unfilled, passes the pre-trade check as the new order it is, and is sent.
If the original ends otherwise (a fill, an expiry...) the replacement is dropped, never
sent. The original's cancel reason names its replacement (``replaced by X.r1``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from omoitrade.core.errors import Conflict
from omoitrade.execution.order_requests import AmendRefused
from omoitrade.model.enums import OrderStatus
from omoitrade.model.events import DomainEvent, OrderAmended, OrderCancelled
from omoitrade.model.identifiers import ClientOrderId, OrderId, PortfolioId
from omoitrade.model.orders import Order

if TYPE_CHECKING:
    from omoitrade.execution.order_manager import OrderManager

_SUBMITTED = OrderStatus.SUBMITTED
_REPLACEMENT_MARK = ".r"  # a replacement's client order id: ORIGINAL.rN (N from 1)
_REPLACED_BY = "replaced by "  # the original's cancel reason, before its replacement's id


class Replacements:
    """The order manager's cancel-replaces: each waiting replacement, by its original."""

    def __init__(self, manager: OrderManager) -> None:
        self.manager = manager
        self.waiting: dict[OrderId, Order] = {}  # original's id -> its waiting replacement
        self._originals: dict[tuple[PortfolioId, ClientOrderId], Order] = {}  # and back

    def original_of(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId
    ) -> Order | None:
        """The original that the waiting replacement ``client_order_id`` replaces."""
        return self._originals.get((portfolio_id, client_order_id))

    def start(self, order: Order, proposed: Order) -> Order:
        """Amend ``order`` at a venue that cannot: journal its replacement (``proposed``'s
        quantity and prices under a client order id derived from the original's), PENDING,
        then ask the venue to cancel ``order``; :meth:`original_finished` sends it."""
        m = self.manager
        replacement_id = replacement_client_id(order.client_order_id)
        if m._known(order.portfolio_id, replacement_id) is not None:
            raise Conflict(
                f"client order id {replacement_id}, the replacement of "
                f"{order.client_order_id}, is already used"
            )
        replacement = Order(
            id=OrderId.new(m.ids),
            portfolio_id=order.portfolio_id,
            instrument_id=order.instrument_id,
            client_order_id=replacement_id,
            order_type=order.order_type,
            side=order.side,
            quantity=proposed.quantity,  # the new total, until the original's fills are known
            price=proposed.price,
            stop_price=proposed.stop_price,
            time_in_force=order.time_in_force,
            signal_id=order.signal_id,
            created_at=m.clock.utc_now(),
            oco_group=order.oco_group,
        )
        m.recorder.record([replacement], [], [m._submitted_event(replacement)])
        self._link(order, replacement)
        return m._cancel(order, f"{_REPLACED_BY}{replacement_id}")

    def amend_again(
        self,
        order: Order,
        quantity: Decimal | None,
        price: Decimal | None,
        stop_price: Decimal | None,
    ) -> Order:
        """An amend of an order whose cancel-replace waits: the same amend again (a retry)
        sends nothing new, bar the cancel if none is on its way; another raises Conflict."""
        m = self.manager
        replacement = self.waiting[order.id]
        if (
            (quantity is not None and quantity != replacement.quantity)
            or (price is not None and price != replacement.price)
            or (stop_price is not None and stop_price != replacement.stop_price)
        ):
            raise Conflict(
                f"order {order.client_order_id} is already being replaced by "
                f"{replacement.client_order_id}: amend that one once it works"
            )
        if not m.reports.awaiting(order, "CancelOrder"):  # e.g. lost in a restart
            m._cancel(order, f"{_REPLACED_BY}{replacement.client_order_id}")
        return order

    def original_finished(self, original: Order, cancelled: bool) -> None:
        """``original`` has ended: a replacement waiting on it is sent, for what the
        original left unfilled, if the venue ``cancelled`` it; otherwise (a fill, an
        expiry, a rejection...) or with nothing left, it is dropped, never sent.

        The replacement passes the pre-trade check again, as the new order it is, and is
        journaled (with whatever this venue call changed before) before it is sent.
        """
        m = self.manager
        replacement = self._unlink(original)
        if replacement is None:
            return
        left = replacement.quantity - original.filled_quantity
        if not cancelled or left <= 0:
            self._finish(
                replacement,
                f"not sent: {original.client_order_id} was {original.status} "
                f"(filled {original.filled_quantity}) before its cancel took effect",
            )
            return
        now = m.clock.utc_now()
        events: list[DomainEvent] = []
        if left != replacement.quantity:
            replacement.amend(now, quantity=left)
            events.append(
                OrderAmended(
                    event_id=m.new_event_id(),
                    occurred_at=now,
                    order_id=replacement.id,
                    quantity=left,
                    price=replacement.price,
                    stop_price=replacement.stop_price,
                )
            )
        instrument = m.instruments[replacement.instrument_id]
        m._judge_new(replacement, instrument, now, events)
        m.recorder.write_now([replacement], events)
        m.registry.add(replacement, m.accounts[replacement.portfolio_id], set())
        if replacement.status is _SUBMITTED:
            quality, mid = m.quality, m._mid_price
            strategy_id = (
                quality.order_report(original.id).strategy_id
                if quality.knows(original.id)
                else None
            )
            quality.trusted_order_submitted(
                replacement.id,
                instrument,
                replacement.side,
                replacement.quantity,
                arrival_price=None if mid is None else mid(replacement.instrument_id),
                limit_price=replacement.price,
                strategy_id=strategy_id,
            )
            m.send_submit(replacement)

    def drop(self, original: Order, reason: str) -> None:
        replacement = self._unlink(original)
        if replacement is not None:
            self._finish(replacement, reason)

    def _finish(self, replacement: Order, reason: str) -> None:
        """CANCEL a replacement that will never be sent, with ``reason``."""
        m = self.manager
        now = m.clock.utc_now()
        replacement.cancel(reason, now)
        event = OrderCancelled(
            event_id=m.new_event_id(), occurred_at=now, order_id=replacement.id, reason=reason
        )
        m.recorder.record([], [replacement], [event])
        m.registry.add(replacement, m.accounts[replacement.portfolio_id], set())

    def _link(self, original: Order, replacement: Order) -> None:
        self.waiting[original.id] = replacement
        self._originals[replacement.portfolio_id, replacement.client_order_id] = original

    def _unlink(self, original: Order) -> Order | None:
        replacement = self.waiting.pop(original.id, None)
        if replacement is not None:
            del self._originals[replacement.portfolio_id, replacement.client_order_id]
        return replacement

    def relink(self, replacement: Order) -> None:
        """On start: a journaled replacement still PENDING waits again for its original's
        cancel; one whose original has ended is dropped (nothing is sent from here)."""
        m = self.manager
        original_id = replaced_client_id(replacement.client_order_id)
        original = None
        if original_id is not None:
            original = m._known(replacement.portfolio_id, original_id)
        if original is None:  # no original: an ordinary PENDING order
            m._remember(replacement)
            return
        self._link(original, replacement)
        if not original.is_open:
            m.original_finished(original, cancelled=False)  # (the manager's: overridable)


def replacement_client_id(client_order_id: str) -> ClientOrderId:
    """The client order id of the order that replaces ``client_order_id`` in a
    cancel-replace: ``X.r1`` for ``X``, ``X.r(N+1)`` for ``X.rN``; always the same, so a
    retry cannot make a second replacement. AmendRefused when it would be too long."""
    head, number = _replacement_parts(client_order_id)
    candidate = f"{head}{_REPLACEMENT_MARK}{number + 1}"
    if len(candidate) > ClientOrderId.max_length:
        raise AmendRefused(
            f"client order id {client_order_id} is too long to name its replacement: "
            f"{candidate} would exceed {ClientOrderId.max_length} characters"
        )
    return ClientOrderId(candidate)


def replaced_client_id(client_order_id: str) -> ClientOrderId | None:
    """The client order id that a replacement's id names (see
    :func:`replacement_client_id`); None for an id of no replacement."""
    head, number = _replacement_parts(client_order_id)
    if number == 0:
        return None
    return ClientOrderId(head if number == 1 else f"{head}{_REPLACEMENT_MARK}{number - 1}")


def _replacement_parts(client_order_id: str) -> tuple[str, int]:
    """``(X, N)`` for ``X.rN``; ``(the id, 0)`` for an id of no replacement."""
    head, mark, tail = client_order_id.rpartition(_REPLACEMENT_MARK)
    if mark and head and tail.isdigit() and tail[0] != "0":
        return head, int(tail)
    return client_order_id, 0
