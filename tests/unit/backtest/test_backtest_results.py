"""BacktestResult: deterministic JSON out and back, and the summary rows."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from backtest_builders import BTC, T0, build

from omoitrade.backtest.metrics import EquityCurve, drawdown_curve
from omoitrade.backtest.results import BacktestResult
from omoitrade.core.errors import ValidationError


def test_equal_inputs_give_byte_identical_json() -> None:
    first, second = build().to_json(), build().to_json()
    assert first.encode() == second.encode()
    assert build().to_json(indent=2) == build().to_json(indent=2)


def test_json_encodes_decimals_as_text_and_times_as_utc_iso() -> None:
    data = json.loads(build().to_json())
    assert data["format"] == "omoitrade.backtest.result"
    assert data["format_version"] == 1
    assert data["initial_cash"] == "1000"
    assert data["start"] == "2024-01-01T00:00:00Z"
    assert data["generated_at"] is None  # no time of generation unless passed in
    (trip,) = data["trades"]
    assert trip["entry_price"] == "100.10" and trip["pnl"] == "9.840"  # exact: 0.5 * 100.10
    assert trip["duration"] == "172800" and trip["direction"] == "LONG"
    assert data["equity_curve"]["equity"][1] == "1000.5"
    assert data["metrics"]["profit_factor"] == "Infinity"  # one win, no losses
    assert data["fills"][0]["quantity"] == "0.5"
    assert data["orders"][1]["status"] == "FILLED"
    assert data["instruments"] == {str(BTC): "BTC/USD"}


def test_keys_are_sorted() -> None:
    text = build().to_json()
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))


def test_json_round_trips() -> None:
    original = build(generated_at=datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC))
    text = original.to_json()
    back = BacktestResult.from_json(text)
    assert back.to_json() == text
    assert back.trades == original.trades
    assert back.fills == original.fills
    assert back.equity_curve == original.equity_curve
    assert back.metrics == original.metrics
    assert back.metrics.profit_factor == D("Infinity")
    assert back.generated_at == original.generated_at
    assert [o.status for o in back.orders] == [o.status for o in original.orders]
    assert back.orders[0].average_fill_price == D("100.10")
    assert back.instruments == {BTC: "BTC/USD"}


def test_write_json_writes_the_same_text(tmp_path: Path) -> None:
    path = build().write_json(tmp_path / "result.json")
    assert path.read_bytes() == (build().to_json() + "\n").encode()


def test_other_documents_are_refused() -> None:
    with pytest.raises(ValidationError, match="format"):
        BacktestResult.from_json('{"format": "something else"}')
    with pytest.raises(ValidationError, match="json"):
        BacktestResult.from_json("[]")
    data = json.loads(build().to_json())
    del data["metrics"]
    with pytest.raises(ValidationError, match="metrics"):
        BacktestResult.from_dict(data)


def test_parameters_and_settings_must_be_json_values() -> None:
    result = build()
    with pytest.raises(ValidationError, match="parameters"):
        BacktestResult(
            **{**_fields(result), "parameters": {"fee": D("0.1")}},
        )


def _fields(result: BacktestResult) -> dict[str, object]:
    return {name: getattr(result, name) for name in result.__dataclass_fields__}


def test_summary_rows_name_every_headline_metric() -> None:
    rows = dict(build().summary_rows())
    assert rows["Strategy"] == "sma_cross 1.2.0"
    assert rows["Final equity"] == "1,009.84 USD"
    assert rows["Return [%]"] == "0.98"
    assert rows["Trades"] == "1"
    assert rows["Profit factor"] == "inf"
    assert rows["SQN"] == "-"
    for label in ("Sharpe ratio", "Sortino ratio", "Calmar ratio", "Max. drawdown [%]",
                  "Win rate [%]", "Expectancy", "Buy & hold return [%]", "CAGR [%]",
                  "Exposure time [%]", "Max. drawdown duration", "Avg. trade [%]"):  # fmt: skip
        assert label in rows
    assert rows["Max. drawdown duration"] == str(timedelta(0))


def test_the_json_curve_holds_the_drawdown_the_metrics_compute() -> None:
    values = [D(1000), D(1100), D(990), D(1045), D(1210)]
    curve = EquityCurve([T0 + k * timedelta(days=1) for k in range(5)], values, values, [D(0)] * 5)
    result = dataclasses.replace(build(), equity_curve=curve)
    text = result.to_json()
    column = json.loads(text)["equity_curve"]["drawdown"]
    assert column == drawdown_curve(curve).tolist()
    assert column == pytest.approx([0.0, 0.0, 0.1, 0.05, 0.0])
    assert result.to_json().encode() == text.encode()  # still the same bytes every time
    back = BacktestResult.from_json(text)  # derived from the equity: read back, written again
    assert back.equity_curve == curve and back.to_json() == text
