"""What a trading node knows after a restart, rebuilt from the event store: the strategy of
each order still open (a cancel-replace's waiting replacement too), so their later fills are
that strategy's, and the throttle's executions within its window."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from test_node_risk_wiring import NoAmendVenue, behind_a_venue_that_cannot_amend, throttled_world
from test_trading_node import BTC, MAKER, ME, World

from omoitrade.core.bus import MessageBus
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType, UserRole
from omoitrade.model.events import (
    OrderSubmitted,
    StrategyThrottled,
    event_from_dict,
    event_to_dict,
)
from omoitrade.model.identifiers import ClientOrderId, StrategyId
from omoitrade.model.venue import SubmitOrder
from omoitrade.risk import ReasonCode
from omoitrade.runtime.paper_resume import stored_events
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode
from omoitrade.store import Database
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.testing import factories as f

MINUTE = 60 * 10**9  # the window of throttled_world(): 3 executions within a minute


def on_disk(w: World, database: Database) -> None:
    """The world's node journals to ``database`` (a restart reads it back from there)."""
    with database.transaction() as uow:
        uow.organizations.add(w.organization)
        uow.portfolios.add(w.portfolio)
        uow.instruments.add(BTC)
    w.journal = SqlOrderJournal(database)  # type: ignore[assignment]
    w.node = w.new_node()
    w.mark("41990.00", "42000.00")


def restarted(w: World, database: Database) -> None:
    """A new node on the journal, restored from the event store, behind the world's venue."""
    w.journal = SqlOrderJournal(database)  # type: ignore[assignment]
    w.node = w.new_node()  # the old one hears no more
    w.node.restore(stored_events(database))
    w.mark("41990.00", "42000.00")


def restarted_behind(w: World, database: Database, old: NoAmendVenue) -> NoAmendVenue:
    """As :func:`restarted`, behind a (new) venue edge that cannot amend."""
    old.deafen()  # the old process is gone: its reports go nowhere
    edge = NoAmendVenue(w.exchange)
    w.node = TradingNode(
        clock=w.clock,
        bus=MessageBus(),
        journal=SqlOrderJournal(database),
        venues={"SIM": edge},  # type: ignore[dict-item]
        instruments=w.instruments,
        portfolios=[PortfolioSetup(w.portfolio, ME, w.limits)],
        config=w.config,
    )
    w.node.restore(stored_events(database))
    w.mark("41990.00", "42000.00")
    return edge


def submitted(database: Database, cid: str) -> OrderSubmitted:
    [event] = [
        e
        for e in stored_events(database)
        if isinstance(e, OrderSubmitted) and e.client_order_id == cid
    ]
    return event


def maker_sells(w: World, qty: str, price: str) -> None:
    w.exchange.submit(
        SubmitOrder(
            MAKER,
            ClientOrderId(f"ms-{price}-{qty}"),
            BTC.id,
            OrderSide.SELL,
            OrderType.LIMIT,
            D(qty),
            price=D(price),
        )
    )


# --- the strategy of an open order ------------------------------------------------------------
def test_open_orders_and_a_waiting_replacement_stay_their_strategys_across_a_restart(
    database: Database,
) -> None:
    w = throttled_world()
    on_disk(w, database)
    edge = behind_a_venue_that_cannot_amend(w)
    edge.hold_cancels = True  # the original's cancel lands only after the restart
    bot = StrategyId.new()
    assert w.order("e1", OrderSide.BUY, "0.01", strategy=bot).status is OrderStatus.FILLED
    resting = w.order("r1", OrderSide.BUY, "0.1", "41995.00", strategy=bot)  # best bid
    original = w.order("b1", OrderSide.BUY, "0.5", "41000.00", strategy=bot)
    w.node.orders.amend(w.portfolio.id, ClientOrderId("b1"), price=D("42000.00"))
    assert resting.is_open and original.is_open
    assert (submitted(database, "r1").strategy_id, submitted(database, "b1.r1").strategy_id) == (
        bot,
        bot,
    )  # the replacement's is its original's

    old, edge = edge, restarted_behind(w, database, edge)
    throttled = w.published(StrategyThrottled.topic)
    by_strategy = w.node.ledger.pnl_by_strategy(w.portfolio.id)
    assert set(by_strategy) == {bot} and by_strategy[bot].fills == 1  # e1, before the restart

    maker_sells(w, "0.1", "41995.00")  # fills r1, open since before the restart
    r1 = w.node.orders.order(w.portfolio.id, ClientOrderId("r1"))
    assert r1 is not None and r1.status is OrderStatus.FILLED
    assert throttled == []  # two executions: e1 (before), r1

    assert edge.sent == [] and len(old.cancels("b1")) == 1
    old.deliver_cancels()  # b1's cancel, sent before the restart, lands: b1.r1 goes out
    replacement = w.node.orders.order(w.portfolio.id, ClientOrderId("b1.r1"))
    assert replacement is not None and replacement.status is OrderStatus.FILLED

    by_strategy = w.node.ledger.pnl_by_strategy(w.portfolio.id)
    assert set(by_strategy) == {bot}  # no fill without a strategy
    assert by_strategy[bot].fills == 3
    assert [(e.strategy_id, e.executions) for e in throttled] == [(bot, 3)]  # b1.r1: the third
    refused = w.order("b2", OrderSide.BUY, "0.02", strategy=bot)
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason is not None
    assert refused.reject_reason.startswith(f"{ReasonCode.STRATEGY_THROTTLED}: ")


def test_a_replacement_whose_original_was_cancelled_unheard_goes_out_after_a_restart(
    database: Database,
) -> None:
    w = throttled_world()
    on_disk(w, database)
    edge = behind_a_venue_that_cannot_amend(w)
    edge.hold_cancels = True
    bot = StrategyId.new()
    w.order("b1", OrderSide.BUY, "0.5", "41000.00", strategy=bot)
    w.node.orders.amend(w.portfolio.id, ClientOrderId("b1"), price=D("42000.00"))
    edge.deafen()  # the process dies: the cancel lands, and nobody hears it
    edge.deliver_cancels()

    restarted_behind(w, database, edge)
    b1 = w.node.orders.order(w.portfolio.id, ClientOrderId("b1"))
    assert b1 is not None and b1.is_open  # the journal does not know of the cancel yet
    asyncio.run(w.node.reconcile())  # it learns it from the venue: b1.r1 goes out

    assert b1.status is OrderStatus.CANCELLED
    replacement = w.node.orders.order(w.portfolio.id, ClientOrderId("b1.r1"))
    assert replacement is not None and replacement.status is OrderStatus.FILLED
    by_strategy = w.node.ledger.pnl_by_strategy(w.portfolio.id)
    assert set(by_strategy) == {bot} and by_strategy[bot].fills == 1


def test_an_old_journal_without_strategies_still_loads(database: Database) -> None:
    w = World()
    on_disk(w, database)
    bot = StrategyId.new()
    w.order("r1", OrderSide.BUY, "0.1", "41995.00", strategy=bot)
    event = submitted(database, "r1")
    document = event_to_dict(event)
    assert document["data"]["strategy_id"] == str(bot)
    del document["data"]["strategy_id"]  # as stored before the field existed
    old = event_from_dict(document)
    assert isinstance(old, OrderSubmitted) and old.strategy_id is None

    w.node = w.new_node()  # a restart on a history that names no strategy
    w.node.restore([old if e == event else e for e in stored_events(database)])
    w.mark("41990.00", "42000.00")
    maker_sells(w, "0.1", "41995.00")
    assert set(w.node.ledger.pnl_by_strategy(w.portfolio.id)) == {None}  # as before: unknown


# --- execution counts -----------------------------------------------------------------------
def test_executions_before_a_restart_count_within_the_window(database: Database) -> None:
    w = throttled_world()
    on_disk(w, database)
    bot, other = StrategyId.new(), StrategyId.new()
    for n in range(2):  # N - 1 executions
        assert w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot).status is (
            OrderStatus.FILLED
        )
    assert w.order("o1", OrderSide.BUY, "0.05", strategy=other).status is OrderStatus.FILLED
    w.clock.advance_by(MINUTE // 2)

    restarted(w, database)
    throttled = w.published(StrategyThrottled.topic)
    assert w.order("b2", OrderSide.BUY, "0.03", strategy=bot).status is OrderStatus.FILLED
    assert [(e.strategy_id, e.executions) for e in throttled] == [(bot, 3)]  # once, not again
    assert w.order("b3", OrderSide.BUY, "0.04", strategy=bot).status is OrderStatus.REJECTED
    assert w.order("o2", OrderSide.BUY, "0.06", strategy=other).status is OrderStatus.FILLED


def test_executions_older_than_the_window_do_not_count_after_a_restart(
    database: Database,
) -> None:
    w = throttled_world()
    on_disk(w, database)
    bot = StrategyId.new()
    for n in range(2):
        assert w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot).status is (
            OrderStatus.FILLED
        )
    w.clock.advance_by(MINUTE)  # both are now a full window old

    restarted(w, database)
    throttled = w.published(StrategyThrottled.topic)
    for n in range(2, 4):
        assert w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot).status is (
            OrderStatus.FILLED
        )
    assert throttled == []
    assert w.order("b4", OrderSide.BUY, "0.05", strategy=bot).status is OrderStatus.FILLED
    assert [e.strategy_id for e in throttled] == [bot]  # the third after the restart


def test_a_restart_neither_throttles_again_nor_forgets_a_re_enable(database: Database) -> None:
    w = throttled_world()
    on_disk(w, database)
    bot = StrategyId.new()
    for n in range(3):
        w.order(f"b{n}", OrderSide.BUY, f"0.0{n + 1}", strategy=bot)
    restarted(w, database)
    throttled = w.published(StrategyThrottled.topic)
    assert w.order("b3", OrderSide.BUY, "0.04", strategy=bot).status is OrderStatus.REJECTED
    assert throttled == []  # disabled by the recorded event, not by a new one

    trader = f.make_user(w.organization, role=UserRole.TRADER)
    w.node.risk.enable_strategy(bot, trader, "reviewed")
    assert w.order("b4", OrderSide.BUY, "0.05", strategy=bot).status is OrderStatus.FILLED

    restarted(w, database)  # the executions before the re-enable no longer count
    throttled = w.published(StrategyThrottled.topic)
    assert w.order("b5", OrderSide.BUY, "0.06", strategy=bot).status is OrderStatus.FILLED
    assert throttled == []  # b4, b5
    assert w.order("b6", OrderSide.BUY, "0.07", strategy=bot).status is OrderStatus.FILLED
    assert [(e.strategy_id, e.executions) for e in throttled] == [(bot, 3)]  # b4, b5, b6
