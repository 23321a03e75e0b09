"""Management follows a cancel-replace: at a venue that cannot amend, a trailing stop's
amend is a new order (``X.r1``) that takes the place of the cancelled original."""

from __future__ import annotations

import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import signal_world
from signal_world import BTC, MAKER, TAKER, World
from test_signal_pipeline import restart_pipeline, signal_orders

from omoitrade.execution.cancel_replace import replaced_client_id, replacement_client_id
from omoitrade.model.enums import OrderSide, OrderStatus, SignalStatus, SignalType
from omoitrade.model.identifiers import ClientOrderId
from omoitrade.signals.trade import Role
from omoitrade.venues.sim.exchange import SimulatedExchange

sys.path.append(str(Path(__file__).resolve().parents[2] / "unit" / "execution"))
from test_cancel_replace import NoAmendVenue  # (after its directory joins the path)

TRAIL = D("0.02")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    """A World whose exchange sits behind a :class:`NoAmendVenue`, its pipeline following
    replacements by the order manager's ids."""
    monkeypatch.setattr(
        signal_world, "SimulatedExchange", lambda *args: NoAmendVenue(SimulatedExchange(*args))
    )
    w = World()
    assert w.pipeline.replaced_id is replaced_client_id  # the runtime wiring passes it
    return w


def edge(w: World) -> Any:
    """The :class:`NoAmendVenue` between the node and the simulated exchange."""
    assert isinstance(w.exchange, NoAmendVenue)
    return w.exchange


def stop_of(w: World, signal: Any, replaced: int = 0) -> Any:
    """The signal's first stop loss, or its ``replaced``-th replacement."""
    cid = ClientOrderId(f"s-{signal.id}-sl0")
    for _ in range(replaced):
        cid = replacement_client_id(cid)
    return w.node.orders.order(w.portfolio.id, cid)


def trade_up_to(w: World, price: str) -> None:
    w.rest(MAKER, OrderSide.SELL, price, "10")
    w.rest(TAKER, OrderSide.BUY, price, "12")


def trade_down_to(w: World, price: str) -> None:
    w.rest(MAKER, OrderSide.BUY, price, "30")
    w.rest(TAKER, OrderSide.SELL, price, "15")  # (the 41990 bids go first)


def test_a_trailing_stop_follows_the_price_by_cancel_replace_and_closes_the_trade(
    world: World,
) -> None:
    w = world
    signal = w.send(w.signal(stop_loss=None, take_profit=None), w.plan(trailing_stop=TRAIL))
    original = stop_of(w, signal)
    assert original.stop_price == D("41160.00")
    trade_up_to(w, "44000.00")
    first = stop_of(w, signal, 1)
    assert (original.status, original.cancel_reason) == (
        OrderStatus.CANCELLED,
        f"replaced by {first.client_order_id}",
    )
    assert (first.status, first.stop_price, first.quantity) == (
        OrderStatus.SUBMITTED,
        D("43120.00"),
        D("0.5"),
    )
    trade = w.pipeline.trade(w.strategy_id, BTC.id)
    assert trade is not None and trade.working == {first.client_order_id}
    assert trade.roles[first.client_order_id] is Role.STOP_LOSS
    assert w.order(signal, Role.STOP_LOSS, 1) is None  # no stop put back beside it
    assert w.order(signal, Role.EXIT, 1) is None  # and no exit: the trade is protected
    trade_up_to(w, "45000.00")  # again: the replacement is replaced
    second = stop_of(w, signal, 2)
    assert (first.status, second.status, second.stop_price) == (
        OrderStatus.CANCELLED,
        OrderStatus.SUBMITTED,
        D("44100.00"),
    )
    assert trade.working == {second.client_order_id} and trade.stop_price == D("44100.00")
    trade_down_to(w, "44000.00")  # under the stop
    assert (second.status, second.average_fill_price) == (OrderStatus.FILLED, D("44000.00"))
    settled = w.settled(signal)
    assert settled.realized_pnl == D("0.5") * (D("44000.00") - D("42000.00"))
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None
    assert not w.pipeline.trails(BTC.id)
    assert w.node.orders.open_orders(w.portfolio.id) == []
    assert w.node.ledger.signed_quantities(w.portfolio.id).get(BTC.id, D(0)) == 0


def test_the_target_filling_cancels_the_replaced_stop(world: World) -> None:
    w = world
    signal = w.send(w.signal(stop_loss=None), w.plan(trailing_stop=TRAIL))  # target 43000
    trade_up_to(w, "42900.00")
    replacement = stop_of(w, signal, 1)
    assert replacement.stop_price == D("42042.00")
    w.rest(TAKER, OrderSide.BUY, "43000.00", "15")  # the target fills
    assert w.order(signal, Role.TAKE_PROFIT).status is OrderStatus.FILLED
    assert replacement.status is OrderStatus.CANCELLED  # its one-cancels-other leg
    assert w.settled(signal).realized_pnl == D("0.5") * D("1000.00")
    assert w.node.orders.open_orders(w.portfolio.id) == []


def test_an_original_that_fills_before_its_cancel_lands_settles_the_trade(world: World) -> None:
    w = world
    signal = w.send(w.signal(stop_loss=None, take_profit=None), w.plan(trailing_stop=TRAIL))
    edge(w).hold_cancels = True  # the original's cancel waits in the network
    trade_up_to(w, "44000.00")
    original, replacement = stop_of(w, signal), stop_of(w, signal, 1)
    assert (original.status, replacement.status) == (OrderStatus.SUBMITTED, OrderStatus.PENDING)
    trade = w.pipeline.trade(w.strategy_id, BTC.id)
    assert trade is not None and trade.working == {original.client_order_id}
    trade_up_to(w, "45000.00")  # no second amend while the first waits
    assert stop_of(w, signal, 2) is None
    trade_down_to(w, "41000.00")  # the original (41160) fills first
    assert original.status is OrderStatus.FILLED
    assert replacement.status is OrderStatus.CANCELLED  # never sent
    assert w.settled(signal).realized_pnl == D("0.5") * (D("41000.00") - D("42000.00"))
    assert w.order(signal, Role.STOP_LOSS, 1) is None and w.order(signal, Role.EXIT, 1) is None
    edge(w).deliver_cancels()  # too late: the original is done
    assert w.node.orders.open_orders(w.portfolio.id) == []
    assert w.node.ledger.signed_quantities(w.portfolio.id).get(BTC.id, D(0)) == 0


def test_an_exit_while_a_replacement_waits_cancels_both(world: World) -> None:
    w = world
    signal = w.send(w.signal(stop_loss=None, take_profit=None), w.plan(trailing_stop=TRAIL))
    edge(w).hold_cancels = True
    trade_up_to(w, "44000.00")
    close = w.send(w.signal(SignalType.CLOSE))
    edge(w).deliver_cancels()
    assert stop_of(w, signal).status is OrderStatus.CANCELLED
    assert stop_of(w, signal, 1).status is OrderStatus.CANCELLED  # dropped, never sent
    exit_order = w.order(signal, Role.EXIT, 1)
    assert exit_order is not None and exit_order.status is OrderStatus.FILLED
    assert close.status is SignalStatus.EXECUTED
    assert w.order(signal, Role.STOP_LOSS, 1) is None
    assert w.pipeline.trade(w.strategy_id, BTC.id) is None


def test_a_replaced_stop_is_taken_back_after_a_restart(world: World) -> None:
    w = world
    signal = w.send(w.signal(stop_loss=None, take_profit=None), w.plan(trailing_stop=TRAIL))
    trade_up_to(w, "44000.00")
    replacement = stop_of(w, signal, 1)
    again = restart_pipeline(w)
    again.replaced_id = replaced_client_id
    orders = [*signal_orders(w, signal), replacement]
    trade = again.adopt(signal, orders)  # type: ignore[arg-type]
    assert trade is not None and trade.working == {replacement.client_order_id}
    assert (trade.roles[replacement.client_order_id], trade.stop_price) == (
        Role.STOP_LOSS,
        D("43120.00"),
    )
    trade_down_to(w, "43000.00")
    assert replacement.status is OrderStatus.FILLED
    assert w.settled(signal).realized_pnl == D("0.5") * D("1000.00")


def test_the_runtime_wires_the_order_managers_replacement_ids() -> None:
    assert World().pipeline.replaced_id is replaced_client_id
