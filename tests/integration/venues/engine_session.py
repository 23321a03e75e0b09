"""A seeded session on one matching engine; run as a script it prints its digest.

Used to check that the compiled engine and the plain-Python one report the same, byte for
byte: the test runs it in-process and in a fresh interpreter that sees only the sources.
"""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal

from omoitrade.model.enums import OrderSide, OrderType, TimeInForce
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.venue import AmendOrder, CancelOrder, SubmitOrder
from omoitrade.testing.factories import T0, make_instrument
from omoitrade.venues.sim.matching import MatchingEngine

KINDS = [OrderType.LIMIT] * 6 + [OrderType.MARKET, OrderType.STOP, OrderType.STOP_LIMIT]
TIFS = [TimeInForce.GTC] * 5 + [TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY]


def session_digest(seed: int = 11, operations: int = 3_000) -> str:
    """The sha256 of the reprs of every report of a mixed seeded session."""
    rng = random.Random(seed)
    instrument = make_instrument()
    tick, lot = instrument.tick_size, instrument.lot_size
    engine = MatchingEngine(instrument, maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0005"))
    accounts = [AccountId(f"acct-{n}") for n in range(4)]
    sent: list[tuple[AccountId, ClientOrderId]] = []
    digest = hashlib.sha256()
    for number in range(operations):
        draw = rng.random()
        if draw < 0.65 or not sent:
            kind = rng.choice(KINDS)
            side = rng.choice([OrderSide.BUY, OrderSide.SELL])
            ticks = 10_000 + rng.randint(-30, 30)
            command = SubmitOrder(
                account_id=rng.choice(accounts),
                client_order_id=ClientOrderId(f"c{number}"),
                instrument_id=instrument.id,
                side=side,
                order_type=kind,
                quantity=rng.randint(1, 50) * lot,
                price=ticks * tick if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
                stop_price=(ticks + rng.randint(-5, 5)) * tick
                if kind in (OrderType.STOP, OrderType.STOP_LIMIT)
                else None,
                time_in_force=TimeInForce.GTC if kind is OrderType.MARKET else rng.choice(TIFS),
                post_only=kind is OrderType.LIMIT and rng.random() < 0.1,
            )
            sent.append((command.account_id, command.client_order_id))
            reports: list[object] = [*engine.submit(command, T0)]
        elif draw < 0.85:
            reports = [*engine.cancel(CancelOrder(*rng.choice(sent[-12:]), instrument.id), T0)]
        elif draw < 0.98:
            amend = AmendOrder(
                *rng.choice(sent[-12:]),
                instrument.id,
                quantity=rng.randint(1, 50) * lot,
                price=(10_000 + rng.randint(-30, 30)) * tick,
            )
            reports = [*engine.amend(amend, T0)]
        else:
            reports = [*engine.expire_day_orders(T0)]
        for report in reports:
            digest.update(repr(report).encode())
    return digest.hexdigest()


if __name__ == "__main__":
    print(session_digest())
