"""Signals and their chain in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal as D

from signal_world import TAKER, World

from omoitrade.model.enums import OrderSide, SignalStatus
from omoitrade.model.events import (
    SignalCreated,
    SignalExecuted,
    SignalExitTriggered,
    SignalSettled,
    SignalValidated,
    TradePhaseChanged,
)
from omoitrade.runtime.signal_records import signal_chain
from omoitrade.store import Database


def test_the_chain_of_a_signal_reads_back_from_the_store(database: Database) -> None:
    w = World(database=database)
    signal = w.send(w.signal())
    w.rest(TAKER, OrderSide.BUY, "43000.00", "15")  # the target fills
    chain = signal_chain(database, signal.id)
    assert chain.signal.status is SignalStatus.EXECUTED
    assert chain.signal.validation_result == signal.validation_result
    kinds = [type(e) for e in chain.events if not isinstance(e, TradePhaseChanged)]
    assert kinds == [
        SignalCreated,
        SignalValidated,
        SignalExecuted,
        SignalExitTriggered,
        SignalSettled,
    ]
    assert len([e for e in chain.events if isinstance(e, TradePhaseChanged)]) == 5
    roles = sorted(str(o.client_order_id).rsplit("-", 1)[1] for o in chain.orders)
    assert roles == ["e", "sl0", "tp0"]
    assert sum(t.quantity for t in chain.trades) == D("1.0")  # in 0.5, out 0.5
    assert chain.net_quantity == 0
    assert chain.settlement is not None and chain.settlement.realized_pnl == D("500.000000")


def test_a_rejected_signal_is_stored_with_its_reason(database: Database) -> None:
    w = World(database=database)
    refused = w.send(w.signal(), w.plan(quantity=D("6")))
    chain = signal_chain(database, refused.id)
    assert chain.signal.status is SignalStatus.REJECTED
    assert chain.signal.validation_result["gates"]["risk"]["code"] == "risk.order_size"  # type: ignore[index]
    assert chain.orders == [] and chain.trades == []
