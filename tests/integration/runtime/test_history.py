"""Importing history: the catalog gets every bar, the database the newest, and a failure
anywhere leaves both as they were."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from omoitrade.core.errors import NotFound
from omoitrade.core.ids import IdGenerator
from omoitrade.data.catalog import ParquetCatalog
from omoitrade.data.csv_import import DataFileError
from omoitrade.model import Bar, Instrument, InstrumentId, Timeframe
from omoitrade.runtime.demo import seed_demo
from omoitrade.runtime.history import UnknownInstrument, import_file, load_bars
from omoitrade.store import Database, UnitOfWork
from omoitrade.store.repositories import MarketDataRepository
from omoitrade.testing.factories import make_bar

YAHOO = Path(__file__).parents[2] / "fixtures" / "aapl_daily_yahoo.csv"
AAPL = InstrumentId.of("SIM", "AAPL")
HEADER = "Date,Open,High,Low,Close,Volume"


@pytest.fixture
def catalog(tmp_path: Path) -> ParquetCatalog:
    return ParquetCatalog(tmp_path / "catalog")


@pytest.fixture
def seeded(database: Database) -> Database:
    seed_demo(database)
    return database


def database_bars(database: Database) -> list[Bar]:
    with database.transaction() as uow:
        return uow.market_data.bars(AAPL, Timeframe.D1)


def catalog_files(catalog: ParquetCatalog) -> list[Path]:
    return sorted(catalog.root.rglob("*.parquet*")) if catalog.root.exists() else []


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_import_puts_every_bar_in_the_catalog_and_the_newest_in_the_database(
    seeded: Database, catalog: ParquetCatalog
) -> None:
    summary = import_file(
        YAHOO, "AAPL", Timeframe.D1, seeded, catalog, recent=50, ids=IdGenerator(seed=1)
    )
    assert (summary.rows, summary.added, summary.replaced, summary.in_database) == (300, 300, 0, 50)
    assert (summary.first, summary.last) == (
        datetime(2023, 1, 3, tzinfo=UTC),
        datetime(2024, 2, 26, tzinfo=UTC),
    )
    stored = catalog.read_bars(AAPL, Timeframe.D1)
    in_database = database_bars(seeded)
    assert len(stored) == 300
    assert in_database == stored[-50:]  # same ids, timestamps and exact prices
    assert in_database[-1].close == Decimal("98.039994")


def test_importing_again_replaces_bars_in_both_places(
    seeded: Database, catalog: ParquetCatalog, tmp_path: Path
) -> None:
    import_file(YAHOO, "AAPL", Timeframe.D1, seeded, catalog, recent=10)
    corrected = write(tmp_path, ["2024-02-26,98.62,99.5,97.59,99.25,1000"])
    summary = import_file(corrected, "aapl", Timeframe.D1, seeded, catalog, recent=10)
    assert (summary.added, summary.replaced, summary.in_database) == (0, 1, 1)
    last_in_catalog = catalog.read_bars(AAPL, Timeframe.D1)[-1]
    in_database = database_bars(seeded)
    assert len(in_database) == 10
    assert in_database[-1] == last_in_catalog
    assert last_in_catalog.close == Decimal("99.25")


def test_an_unknown_symbol_is_one_error_listing_the_known_ones(
    seeded: Database, catalog: ParquetCatalog
) -> None:
    with pytest.raises(UnknownInstrument) as caught:
        import_file(YAHOO, "MSFT", Timeframe.D1, seeded, catalog)
    assert caught.value.message == (
        "unknown instrument MSFT on SIM; known symbols: AAPL, BTC/USD, EUR/USD"
    )
    assert isinstance(caught.value, NotFound)
    assert catalog_files(catalog) == []


def test_a_malformed_file_writes_nothing_anywhere(
    seeded: Database, catalog: ParquetCatalog, tmp_path: Path
) -> None:
    path = write(tmp_path, ["2024-01-02,100,101,99,100.5,10", "2024-01-03,100,101,99,oops,10"])
    with pytest.raises(DataFileError, match=r'line 3, column "Close": "oops" is not a number'):
        import_file(path, "AAPL", Timeframe.D1, seeded, catalog)
    assert catalog_files(catalog) == []
    assert database_bars(seeded) == []


def test_a_database_failure_leaves_the_catalog_as_it_was(
    seeded: Database, catalog: ParquetCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(YAHOO, "AAPL", Timeframe.D1, seeded, catalog, recent=5)
    before = {path: path.read_bytes() for path in catalog_files(catalog)}

    def refuse(self: MarketDataRepository, bars: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(MarketDataRepository, "add_all", refuse)
    newer = write(tmp_path, ["2024-02-27,98,99,97,98.5,1000"])
    with pytest.raises(RuntimeError, match="database went away"):
        import_file(newer, "AAPL", Timeframe.D1, seeded, catalog)
    assert {path: path.read_bytes() for path in catalog_files(catalog)} == before
    assert len(database_bars(seeded)) == 5


def test_a_failed_commit_puts_the_previous_catalog_files_back(
    seeded: Database, catalog: ParquetCatalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(YAHOO, "AAPL", Timeframe.D1, seeded, catalog, recent=5)
    before = {path: path.read_bytes() for path in catalog_files(catalog)}
    real_transaction = seeded.transaction

    @contextmanager
    def failing_commit() -> Iterator[UnitOfWork]:
        with real_transaction() as uow:
            yield uow
            raise RuntimeError("commit failed")  # after the block, before the commit

    monkeypatch.setattr(seeded, "transaction", failing_commit)
    newer = write(tmp_path, ["2024-02-23,98,99,97,98.5,1000", "2024-02-27,98,99,97,98.5,1000"])
    with pytest.raises(RuntimeError, match="commit failed"):
        import_file(newer, "AAPL", Timeframe.D1, seeded, catalog)
    monkeypatch.undo()
    assert {path: path.read_bytes() for path in catalog_files(catalog)} == before
    assert len(database_bars(seeded)) == 5


def test_an_instrument_object_must_exist_in_the_database(
    seeded: Database, catalog: ParquetCatalog
) -> None:
    stranger = Instrument.create(
        "SIM",
        "DOGE/USD",
        instrument_type="SPOT",
        base_currency="DOGE",
        quote_currency="USD",
        tick_size=Decimal("0.0001"),
        lot_size=Decimal(1),
        min_quantity=Decimal(1),
    )
    with pytest.raises(UnknownInstrument, match="unknown instrument DOGE/USD on SIM"):
        import_file(YAHOO, stranger, Timeframe.D1, seeded, catalog)


def test_loading_combines_the_catalog_with_bars_only_in_the_database(
    seeded: Database, catalog: ParquetCatalog
) -> None:
    import_file(YAHOO, "AAPL", Timeframe.D1, seeded, catalog, recent=3)
    with seeded.transaction() as uow:
        aapl = uow.instruments.by_symbol("SIM", "AAPL")
        assert aapl is not None
        live = make_bar(aapl, timestamp=datetime(2024, 2, 27, tzinfo=UTC), timeframe=Timeframe.D1)
        uow.market_data.add(live)
    start = datetime(2024, 2, 22, tzinfo=UTC)
    bars = load_bars(seeded, catalog, AAPL, Timeframe.D1, start=start)
    assert [b.timestamp.day for b in bars] == [22, 23, 26, 27]
    assert bars[-1] == live
