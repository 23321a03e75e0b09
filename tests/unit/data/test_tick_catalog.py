"""The trade-tick catalog: exact round trips, day files, replacement by trade id, ranges,
all-or-nothing writes and precise refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.data import parquet_files as files_module
from omoitrade.data.parquet_files import CatalogError
from omoitrade.data.tick_catalog import TickCatalog
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import VenueTradeId
from omoitrade.model.market_data import TradeTick
from omoitrade.testing.factories import make_instrument

BTC = make_instrument()  # BTC/USD on SIM
ETH = make_instrument(symbol="ETH/USD")
T0 = datetime(2024, 3, 1, 23, 59, 58, tzinfo=UTC)


def tick(
    at: datetime, price: str, size: str = "0.5", trade_id: str | None = None, **extra: Any
) -> TradeTick:
    return TradeTick(
        extra.pop("instrument_id", BTC.id),
        at,
        Decimal(price),
        Decimal(size),
        VenueTradeId(trade_id or f"t-{at.isoformat()}-{price}"),
        extra.pop("side", OrderSide.BUY),
    )


def trades(
    count: int, start: datetime = T0, step: timedelta = timedelta(seconds=1)
) -> list[TradeTick]:
    sides = (OrderSide.BUY, OrderSide.SELL, None)
    return [
        tick(start + i * step, f"{42000 + i}.125", f"0.00{i + 1}", f"x-{i}", side=sides[i % 3])
        for i in range(count)
    ]


@pytest.fixture
def catalog(tmp_path: Path) -> TickCatalog:
    return TickCatalog(tmp_path / "catalog")


def test_ticks_come_back_exactly_in_time_order_one_file_per_utc_day(catalog: TickCatalog) -> None:
    written = trades(5)  # 23:59:58 on March 1st to 00:00:02 on March 2nd
    staged = catalog.write_ticks(BTC, list(reversed(written)))
    assert [p.name for p in staged.files] == ["2024-03-01.parquet", "2024-03-02.parquet"]
    assert (staged.added, staged.replaced) == (5, 0)
    assert catalog.read_ticks(BTC) == written
    assert catalog.read_ticks(BTC.id) == written  # by id alone
    assert catalog.read_ticks(ETH) == []


def test_a_range_is_half_open_and_opens_only_the_days_it_needs(catalog: TickCatalog) -> None:
    written = trades(5)
    catalog.write_ticks(BTC, written)
    start, end = written[1].timestamp, written[4].timestamp
    assert catalog.read_ticks(BTC, start, end) == written[1:4]
    with pytest.raises(ValidationError, match="timezone-aware"):
        catalog.read_ticks(BTC, datetime(2024, 3, 1))


def test_writing_the_same_trades_again_replaces_them(catalog: TickCatalog) -> None:
    catalog.write_ticks(BTC, trades(5))
    corrected = [tick(T0, "41999.5", "0.001", "x-0")]  # the venue corrected trade x-0
    staged = catalog.write_ticks(BTC, corrected)
    assert (staged.added, staged.replaced) == (0, 1)
    stored = catalog.read_ticks(BTC)
    assert len(stored) == 5
    assert stored[0].price == Decimal("41999.5")
    assert catalog.write_ticks(BTC, trades(5)).replaced == 5
    assert catalog.read_ticks(BTC) == trades(5)


def test_trades_at_the_same_microsecond_keep_their_order(catalog: TickCatalog) -> None:
    same = [tick(T0, price, trade_id=f"s-{n}") for n, price in enumerate(["3", "1", "2"])]
    catalog.write_ticks(BTC, same)
    catalog.write_ticks(BTC, [tick(T0, "9", trade_id="s-9")])  # a later write goes after
    assert [t.price for t in catalog.read_ticks(BTC)] == [Decimal(p) for p in "3129"]


def test_list_shows_each_instrument_with_its_range_and_count(catalog: TickCatalog) -> None:
    catalog.write_ticks(BTC, trades(5))
    catalog.write_ticks(ETH, [tick(T0, "3000", instrument_id=ETH.id)])
    entries = catalog.list()
    assert [(e.symbol, e.count) for e in entries] == [("BTC/USD", 5), ("ETH/USD", 1)]
    assert (entries[0].first, entries[0].last) == (T0, T0 + timedelta(seconds=4))
    assert entries[0].instrument_id == BTC.id and len(entries[0].files) == 2


@pytest.mark.parametrize(
    ("ticks", "message"),
    [
        ([], "must not be empty"),
        ([tick(T0, "1", instrument_id=ETH.id)], "another instrument"),
        ([tick(T0, "1", trade_id="a"), tick(T0, "2", trade_id="a")], "repeat the trade id a"),
        ([tick(T0, "1e30")], "decimal"),
    ],
)
def test_bad_ticks_are_refused_and_nothing_is_written(
    catalog: TickCatalog, ticks: list[TradeTick], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        catalog.write_ticks(BTC, ticks)
    assert not (catalog.root / "ticks").exists() or not list(
        (catalog.root / "ticks").rglob("*.parquet")
    )


def test_a_failure_while_writing_leaves_the_stored_days_as_they_were(
    catalog: TickCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.write_ticks(BTC, trades(2))  # March 1st only
    real_write = pq.write_table
    calls = 0

    def fail_on_the_second_day(table: Any, where: Any, **options: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("device lost")
        real_write(table, where, **options)

    monkeypatch.setattr(files_module.pq, "write_table", fail_on_the_second_day)
    with pytest.raises(CatalogError, match="device lost"):
        catalog.write_ticks(BTC, [tick(T0, "1", trade_id="x-0"), *trades(5)[2:]])
    monkeypatch.undo()
    assert catalog.read_ticks(BTC) == trades(2)
    leftovers = [p.name for p in catalog.root.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
