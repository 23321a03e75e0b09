"""Reports: the self-contained HTML file and the PNG charts."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import numpy as np
from backtest_builders import BTC, T0, build, make_bar

from omoitrade.backtest.metrics import EquityCurve, compute_metrics
from omoitrade.backtest.report import (
    MAX_POINTS,
    downsample_indices,
    monthly_table,
    render_html,
    write_html,
    write_png,
)

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


def test_the_monthly_table_has_a_row_per_year() -> None:
    years, rows = monthly_table(build())
    assert years == [2024]
    assert rows[0][0] is not None and rows[0][1:] == [None] * 11


def test_pngs_are_written(tmp_path: Path) -> None:
    paths = write_png(build(), _bars(), tmp_path / "charts")
    assert [p.name for p in paths] == ["equity_drawdown.png", "price_BTC_USD.png"]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1_000
