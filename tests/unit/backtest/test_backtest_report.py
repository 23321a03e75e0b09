"""Reports: the self-contained HTML file and the PNG charts."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backtest_builders import BTC, DAY, T0, FillMaker, build, make_bar, make_trip

from omoitrade.backtest.metrics import EquityCurve, compute_metrics
from omoitrade.backtest.report import (
    MAX_POINTS,
    downsample_indices,
    monthly_table,
    render_html,
    write_html,
    write_png,
)
from omoitrade.backtest.results import BacktestResult
from omoitrade.model.enums import PositionSide

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _bars() -> dict:
    return {
        BTC: [make_bar(T0 + k * timedelta(days=1), 125, 95, close=100 + 5 * k) for k in range(4)]
    }


def test_the_html_report_is_self_contained_with_charts_and_trades(tmp_path: Path) -> None:
    path = write_html(build(), _bars(), tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", text)  # plotly.js is embedded
    assert not re.search(r"<link[^>]+href=\"?http", text)
    assert "Plotly.newPlot" in text
    for div in ("price-chart-1", "equity-chart", "drawdown-chart", "monthly-returns-chart"):
        assert f'id="{div}"' in text, div
    assert 'id="trade-list"' in text and 'id="metrics"' in text
    trade_rows = re.findall(r'<tr class="(?:win|loss|flat)">', text)
    assert len(trade_rows) == 1
    assert "2024-01-03T00:00:00Z" in text and "120.00" in text  # the exit
    assert "Sharpe ratio" in text
    assert 'id="downsampled"' not in text


def test_the_same_result_gives_the_same_html() -> None:
    assert render_html(build(), _bars()) == render_html(build(), _bars())


def test_long_curves_are_downsampled_in_the_report() -> None:
    n = MAX_POINTS + 5_000
    rng = np.random.default_rng(3)
    values = [D(f"{v:.2f}") for v in 1000 + np.cumsum(rng.normal(0, 1, n))]
    curve = EquityCurve(
        [T0 + k * timedelta(minutes=1) for k in range(n)], values, values, [D(0)] * n
    )
    result = build()
    metrics = compute_metrics(curve, [], None, 525_960.0, D(1000))
    long = dataclasses.replace(result, equity_curve=curve, metrics=metrics, trades=())
    text = render_html(long, {})
    assert 'id="downsampled"' in text
    assert len(text) < len(render_html(result, {})) + 3_000_000


def test_downsampling_keeps_the_extremes_and_the_ends() -> None:
    values = np.sin(np.linspace(0, 20, 100_000)) + np.linspace(0, 1, 100_000)
    values[12_345] = 50.0
    values[67_890] = -50.0
    keep = downsample_indices(values, 1_000)
    assert keep.size <= 1_010
    assert {0, 99_999, 12_345, 67_890} <= set(keep.tolist())
    assert np.all(np.diff(keep) > 0)
    assert downsample_indices(values[:10], 1_000).tolist() == list(range(10))


def chart(text: str, div_id: str) -> dict[str, dict[str, Any]]:
    """The traces of the report's chart ``div_id`` by name, as handed to Plotly."""
    found = re.search(r'Plotly\.newPlot\(\s*"' + div_id + r'",\s*', text)
    assert found, div_id
    traces, _ = json.JSONDecoder().raw_decode(text, found.end())
    return {trace.get("name", trace["type"]): trace for trace in traces}


def at(*times: datetime) -> list[str]:
    """Times as the charts hold them."""
    return [t.strftime("%Y-%m-%dT%H:%M:%S.000000000") for t in times]


def test_the_price_chart_marks_every_entry_and_exit_where_it_traded() -> None:
    short = make_trip(
        direction=PositionSide.SHORT,
        entry_time=T0 + DAY,
        exit_time=T0 + 3 * DAY,
        entry_price=D(115),
        exit_price=D(110),
        pnl=D(5),
    )
    result = dataclasses.replace(build(), trades=(*build().trades, short))
    traces = chart(render_html(result, _bars()), "price-chart-1")
    long_entry, short_entry, exits = traces["long entry"], traces["short entry"], traces["exit"]
    assert (long_entry["x"], long_entry["y"]) == (at(T0), [100.1])
    assert long_entry["marker"]["symbol"] == "triangle-up"
    assert (short_entry["x"], short_entry["y"]) == (at(T0 + DAY), [115.0])
    assert short_entry["marker"]["symbol"] == "triangle-down"
    assert (exits["x"], exits["y"]) == (at(T0 + 2 * DAY, T0 + 3 * DAY), [120.0, 110.0])
    assert exits["text"] == ["exit 0.5 @ 120.00, P&L 9.84", "exit 1 @ 110, P&L 5.00"]
    assert len(traces["BTC/USD"]["x"]) == 4  # the candles the markers sit on


def test_a_position_still_open_at_the_end_has_its_entry_marked_and_no_exit(
    fill: FillMaker,
) -> None:
    closed = build()
    for _ in closed.fills:  # past the ids of the builder's fills
        fill("BUY", "1", "1", T0)
    still_open = fill("BUY", "0.25", "118.00", T0 + 3 * DAY, commission="0.03", order=3)
    result = dataclasses.replace(closed, fills=(*closed.fills, still_open))
    traces = chart(render_html(result, _bars()), "price-chart-1")
    entries = traces["long entry"]
    assert (entries["x"], entries["y"]) == (at(T0, T0 + 3 * DAY), [100.1, 118.0])
    assert entries["text"][-1] == "LONG 0.25 @ 118.00 (open)"
    assert traces["exit"]["x"] == at(T0 + 2 * DAY)  # the open one has not exited
    assert chart(render_html(closed, _bars()), "price-chart-1")["long entry"]["x"] == at(T0)


def monthly_result() -> BacktestResult:
    """Equity from 1000: +10% to the end of November 2023, -10% in December, nothing in
    January 2024 (no sample), +5% by the end of February."""
    points = [
        (datetime(2023, 11, 15, tzinfo=T0.tzinfo), "1050"),
        (datetime(2023, 11, 30, tzinfo=T0.tzinfo), "1100"),
        (datetime(2023, 12, 29, tzinfo=T0.tzinfo), "990"),
        (datetime(2024, 2, 29, tzinfo=T0.tzinfo), "1039.5"),
    ]
    values = [D(v) for _, v in points]
    curve = EquityCurve([t for t, _ in points], values, values, [D(0)] * len(values))
    return dataclasses.replace(build(), equity_curve=curve, initial_cash=D(1000))


def test_the_monthly_table_has_each_months_return_in_its_years_row() -> None:
    years, rows = monthly_table(monthly_result())
    assert years == [2023, 2024]
    assert rows[0][:10] == [None] * 10 and rows[1][2:] == [None] * 10
    assert rows[0][10:] == pytest.approx([10.0, -10.0])
    assert rows[1][:2] == [None, pytest.approx(5.0)]  # February over December's end
    small_years, small_rows = monthly_table(build())
    assert small_years == [2024] and small_rows[0][1:] == [None] * 11
    assert small_rows[0][0] == pytest.approx(0.984)  # 1000 to 1009.84 in January


def test_the_heat_map_shows_the_monthly_table() -> None:
    heat = chart(render_html(monthly_result(), {}), "monthly-returns-chart")["heatmap"]
    assert heat["y"] == ["2023", "2024"] and heat["x"][0] == "Jan" and len(heat["x"]) == 12
    assert heat["text"][0][10:] == ["10.00", "-10.00"]
    assert heat["text"][1][:3] == ["", "5.00", ""]
    assert heat["z"][0][10:] == pytest.approx([10.0, -10.0]) and heat["z"][1][0] is None
    assert heat["zmin"] == pytest.approx(-10.0) and heat["zmax"] == pytest.approx(10.0)


def test_pngs_are_written(tmp_path: Path) -> None:
    paths = write_png(build(), _bars(), tmp_path / "charts")
    assert [p.name for p in paths] == ["equity_drawdown.png", "price_BTC_USD.png"]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1_000
