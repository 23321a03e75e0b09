"""Loading a backtest's inputs: strategy files (rule documents and Python) and data files."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from omoitrade.backtest.inputs import guess_timeframe, instrument_for, load_bars, load_strategy
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import InstrumentType, Timeframe
from omoitrade.strategy.base import StrategyParameterError
from omoitrade.strategy.document import StrategyDocumentError

ROOT = Path(__file__).parents[3]
EXAMPLES = ROOT / "examples" / "strategies"
AAPL_CSV = ROOT / "tests" / "fixtures" / "aapl_daily_yahoo.csv"

TWO_STRATEGIES = """
from omoitrade.strategy.base import Strategy
class A(Strategy):
    pass
class B(Strategy):
    pass
"""


def test_a_rule_document_gives_its_parameters_and_specs_with_other_values() -> None:
    source = load_strategy(EXAMPLES / "sma_cross.json")
    assert source.name == "sma_cross" and source.is_document
    assert source.parameters == {"fast": 10, "slow": 20}
    assert source.default_symbol == "SIM:BTC/USD" and source.timeframe is Timeframe.D1
    spec = source.spec({"fast": 5})
    assert spec.document is not None and dict(spec.document.parameters) == {"fast": 5, "slow": 20}
    assert dict(source.spec(None).document.parameters) == {"fast": 10, "slow": 20}
    assert source.document_with({"slow": D("30")})["parameters"] == {"fast": 10, "slow": 30}
    with pytest.raises(StrategyDocumentError, match="must be an integer >= 1"):
        source.spec({"fast": 0})
    with pytest.raises(ValidationError, match=r"has no parameter 'fats'.*fast, slow"):
        source.spec({"fats": 3})
    on_aapl = source.trading([instrument_for("AAPL")])
    assert on_aapl.instruments == ("SIM:AAPL",)
    assert on_aapl.spec().document.instruments == ("SIM:AAPL",)
    assert source.instruments == ("SIM:BTC/USD",)  # the original is unchanged


def test_a_python_file_gives_its_strategy_class_and_the_defaults_of_its_params() -> None:
    source = load_strategy(EXAMPLES / "momentum_breakout.py")
    assert source.name == "MomentumBreakout" and not source.is_document
    assert source.parameters == {"entry_period": 20, "exit_period": 10, "quantity": D(1)}
    assert source.default_symbol is None
    spec = source.spec({"entry_period": 5, "quantity": 2})
    assert spec.python_class is not None and spec.python_class.__name__ == "MomentumBreakout"
    assert spec.params == {"entry_period": 5, "exit_period": 10, "quantity": D(2)}
    with pytest.raises(StrategyParameterError, match="entry_period: must be at least 1"):
        source.spec({"entry_period": 0})
    copy = pickle.loads(pickle.dumps(source))  # sent to workers as plain data
    assert copy.python_class() is source.python_class()


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("bad.json", "{", r"bad.json line 1, column 2: invalid JSON"),
        ("bad.json", '{"name": "x"}', r"bad.json: version: is required \(and \d+ more\)"),
        ("bad.py", "def f(:\n", r"cannot load bad.py \(line 1\): SyntaxError"),
        ("bad.py", "raise RuntimeError('boom')\n", r"cannot load bad.py: RuntimeError: boom"),
        (
            "none.py",
            "x = 1\n",
            r"none.py must define exactly one Strategy subclass \(found: none\)",
        ),
        ("two.py", TWO_STRATEGIES, r"exactly one Strategy subclass \(found: A, B\)"),
    ],
)
def test_a_bad_strategy_file_is_one_clear_error(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValidationError, match=problem):
        load_strategy(path)


def test_a_missing_strategy_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"strategy: cannot read .*nope.json: no such file"):
        load_strategy(tmp_path / "nope.json")


def test_a_data_file_gives_an_instrument_and_bars_of_the_guessed_timeframe() -> None:
    instrument, bars = load_bars(AAPL_CSV, "AAPL")
    assert instrument.symbol == "AAPL" and instrument.exchange == "SIM"
    assert instrument.instrument_type is InstrumentType.EQUITY
    assert (instrument.tick_size, instrument.lot_size, instrument.min_quantity) == (
        D("0.01"),
        D(1),
        D(1),
    )
    assert len(bars) == 300 and all(b.timeframe is Timeframe.D1 for b in bars)
    assert bars[0].timestamp == datetime(2023, 1, 3, tzinfo=UTC)
    assert bars[0].instrument_id == instrument.id
    named, _ = load_bars(AAPL_CSV, None)  # after the file: aapl_daily_yahoo.csv
    assert named.symbol == "AAPL"
    pair = instrument_for("BINANCE:ETH/USDT")
    assert (pair.instrument_type, pair.base_currency, pair.quote_currency) == (
        InstrumentType.SPOT,
        "ETH",
        "USDT",
    )
    _, forced = load_bars(AAPL_CSV, pair, "1h")
    assert forced[0].timeframe is Timeframe.H1 and forced[0].instrument_id == pair.id


def test_the_timeframe_is_the_nearest_to_the_median_spacing(tmp_path: Path) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    rows = ["time,open,high,low,close,volume"]
    for i in range(30):
        at = start + timedelta(hours=i) + (timedelta(hours=5) if i > 20 else timedelta(0))
        rows.append(f"{at.isoformat()},10,11,9,10,5")
    path = tmp_path / "hourly.csv"
    path.write_text("\n".join(rows) + "\n")
    _, bars = load_bars(path, "XYZ")
    assert bars[0].timeframe is Timeframe.H1
    minute = 60 * 10**9
    assert guess_timeframe([0, 5 * minute, 10 * minute, 16 * minute]) is Timeframe.M5
    assert guess_timeframe([0, 3 * 86_400 * 10**9, 10 * 86_400 * 10**9]) is Timeframe.D1
    assert guess_timeframe([0]) is Timeframe.D1


def test_a_bad_data_file_or_instrument_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"data: cannot read .*missing.csv: no such file"):
        load_bars(tmp_path / "missing.csv", "AAPL")
    broken = tmp_path / "broken.csv"
    broken.write_text("date,open,high,low,close\n2024-01-02,10,9,8,9\n")
    with pytest.raises(ValidationError, match=r"broken\.csv line 2"):
        load_bars(broken, "AAPL")
    with pytest.raises(ValidationError, match="timeframe: must be one of"):
        load_bars(AAPL_CSV, "AAPL", "2d")
    with pytest.raises(ValidationError, match="instrument"):
        instrument_for("SIM:")


def test_the_document_a_source_holds_is_json(tmp_path: Path) -> None:
    source = load_strategy(EXAMPLES / "sma_cross.json")
    assert json.loads(json.dumps(source.document_with({"fast": 7})))["parameters"]["fast"] == 7
