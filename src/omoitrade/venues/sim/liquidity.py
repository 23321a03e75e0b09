"""Background liquidity: the simulated market's other participants.

Makers keep each book two-sided: at every update they re-quote ``levels``
price levels per side around the fair value (the synthetic market's price),
the innermost half a spread away, with lognormal sizes. Takers arrive at a
Poisson rate and send market orders whose side leans toward the fair value
(they buy when the book is below it), so trades print and the book follows
the fair value. Both trade from their own accounts through the exchange, so
our orders meet them exactly as they would meet anyone; their own reports
stay inside the exchange. Seeded: the same seed gives the same flow.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import count

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import round_to_step
from omoitrade.model.venue import CancelOrder, SubmitOrder
from omoitrade.venues.sim.exchange import SimulatedExchange

MAKER = AccountId("sim-maker")
TAKER = AccountId("sim-taker")


@dataclass(frozen=True, slots=True)
class LiquidityConfig:
    """Shape of the background market, in relative terms so it suits every instrument."""

    levels: int = 5
    half_spread_bps: float = 1.0  # innermost quote, from the fair value (at least one tick)
    level_step_bps: float = 1.0  # distance between levels (at least one tick)
    level_notional: float = 25_000.0  # mean size per level, in the quote currency
    taker_rate_per_s: float = 2.0  # market orders per second per instrument
    taker_notional: float = 5_000.0  # mean size of a taker order, in the quote currency
    seed: int = 7

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValidationError("levels", "must be at least 1", self.levels)
        for name in ("level_notional", "taker_notional"):
            if getattr(self, name) <= 0:
                raise ValidationError(name, "must be greater than 0", getattr(self, name))


class BackgroundLiquidity:
    """Makers and takers on every instrument of one simulated exchange."""

    def __init__(self, exchange: SimulatedExchange, config: LiquidityConfig | None = None) -> None:
        self.exchange = exchange
        self.config = config or LiquidityConfig()
        self._random = random.Random(self.config.seed)
        self._ids = count(1)
        self._quotes: dict[InstrumentId, list[ClientOrderId]] = {}
        for account in (MAKER, TAKER):
            exchange.open_account(account, {}, background=True)

    def update(self, fair_values: dict[InstrumentId, Decimal], elapsed_ns: int) -> None:
        """Re-quote around the new fair values, then let takers trade for ``elapsed_ns``."""
        for instrument_id in sorted(fair_values, key=str):
            instrument = self.exchange.instrument(instrument_id)
            fair = fair_values[instrument_id]
            self._requote(instrument, fair)
            self._take(instrument, fair, elapsed_ns)

    def _requote(self, instrument: Instrument, fair: Decimal) -> None:
        for client_order_id in self._quotes.pop(instrument.id, []):
            self.exchange.act(CancelOrder(MAKER, client_order_id, instrument.id))
        config, tick = self.config, instrument.tick_size
        half = max(fair * Decimal(config.half_spread_bps) / 10_000, tick)
        step = max(fair * Decimal(config.level_step_bps) / 10_000, tick)
        placed: list[ClientOrderId] = []
        for level in range(config.levels):
            offset = half + step * level
            bid = round_to_step(fair - offset, tick, ROUND_FLOOR)
            ask = round_to_step(fair + offset, tick, ROUND_CEILING)
            for side, price in ((OrderSide.BUY, bid), (OrderSide.SELL, ask)):
                quantity = self._size(instrument, price, config.level_notional)
                if price <= 0 or quantity is None:
                    continue
                client_order_id = self._next_id("mm")
                self.exchange.act(
                    SubmitOrder(
                        MAKER,
                        client_order_id,
                        instrument.id,
                        side,
                        OrderType.LIMIT,
                        quantity,
                        price=price,
                    )
                )
                placed.append(client_order_id)
        self._quotes[instrument.id] = placed

    def _take(self, instrument: Instrument, fair: Decimal, elapsed_ns: int) -> None:
        arrivals = self._poisson(self.config.taker_rate_per_s * elapsed_ns / 1e9)
        engine = self.exchange.engine(instrument.id)
        for _ in range(arrivals):
            bid, ask = engine.best_bid(), engine.best_ask()
            if bid is None or ask is None:
                return
            mid = (bid[0] + ask[0]) / 2
            lean = 0.5 + max(-0.3, min(0.3, float((fair - mid) / mid) * 1_000))
            side = OrderSide.BUY if self._random.random() < lean else OrderSide.SELL
            quantity = self._size(instrument, mid, self.config.taker_notional)
            if quantity is None:
                continue
            self.exchange.act(
                SubmitOrder(
                    TAKER, self._next_id("tk"), instrument.id, side, OrderType.MARKET, quantity
                )
            )

    def _size(self, instrument: Instrument, price: Decimal, notional: float) -> Decimal | None:
        """A lognormal quantity around ``notional / price``, in whole lots, or None if too small."""
        draw = notional * math.exp(self._random.gauss(-0.125, 0.5)) / float(price)
        quantity = instrument.floor_quantity(Decimal(repr(draw)))
        return quantity if quantity >= max(instrument.min_quantity, instrument.lot_size) else None

    def _poisson(self, mean: float) -> int:
        """Knuth's method; the means here are small (a few per update)."""
        limit, product, arrivals = math.exp(-mean), self._random.random(), 0
        while product > limit:
            arrivals += 1
            product *= self._random.random()
        return arrivals

    def _next_id(self, prefix: str) -> ClientOrderId:
        return ClientOrderId(f"{prefix}-{next(self._ids)}")
