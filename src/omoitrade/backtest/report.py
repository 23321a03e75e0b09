"""Backtest reports: one self-contained HTML file with interactive charts, and PNG charts.

The HTML file embeds plotly.js (no network access needed to open it) and holds the
metrics table, a price chart per instrument with the entries and exits (and the entry of
a position still open at the end, which has no exit), the equity and drawdown curves, a
heat map of the monthly returns and the list of round trips. Its chart containers have
fixed ids (``price-chart-1``, ``equity-chart``, ``drawdown-chart``,
``monthly-returns-chart``; the trade table is ``trade-list``), so the same result gives
the same file.

Curves longer than :data:`MAX_POINTS` points are downsampled for the charts (each
bucket keeps its first, lowest, highest and last point, so peaks and troughs survive),
and the report says so; more than :data:`MAX_CANDLES` bars are drawn as a close line
rather than candles, and the trade table lists the first :data:`MAX_TRADE_ROWS` round
trips (the JSON output has every one).

PNGs are drawn with matplotlib's Agg canvas directly (no pyplot, no global backend).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from plotly.offline import get_plotlyjs

from omoitrade.backtest.metrics import drawdown_curve, monthly_returns
from omoitrade.backtest.results import BacktestResult, iso
from omoitrade.backtest.trades import (
    BarArrays,
    FloatArray,
    IntArray,
    RoundTrip,
    bar_arrays,
    round_trips,
    timestamps_ns,
)
from omoitrade.model.enums import OrderSide, PositionSide
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.market_data import Bar
from omoitrade.model.money import ZERO

MAX_POINTS = 20_000
MAX_CANDLES = 5_000
MAX_TRADE_ROWS = 5_000
_TEMPLATE = "plotly_white"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_GREEN, _RED, _BLUE, _GREY = "#2ca02c", "#d62728", "#1f77b4", "#7f7f7f"

Bars = Mapping[InstrumentId, Sequence[Bar] | BarArrays]


def downsample_indices(values: FloatArray, max_points: int = MAX_POINTS) -> IntArray:
    """Indices of at most about ``max_points`` points of ``values`` that keep its shape:
    the series cut into buckets, each giving its first, lowest, highest and last point
    (all of them when the series is short enough)."""
    n = int(values.size)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    size = max(1, -(-4 * n // max_points))  # four points per bucket
    full = n // size * size
    starts = np.arange(0, full, size, dtype=np.int64)
    blocks = values[:full].reshape(-1, size)
    picks = [
        starts,
        starts + size - 1,
        starts + np.argmin(blocks, axis=1),
        starts + np.argmax(blocks, axis=1),
    ]
    if full < n:
        tail = values[full:]
        picks.append(
            np.array(
                [full, n - 1, full + int(np.argmin(tail)), full + int(np.argmax(tail))],
                dtype=np.int64,
            )
        )
    return np.unique(np.concatenate(picks))


def _times(ns: IntArray) -> Any:
    return ns.astype("datetime64[ns]")


def _symbol(result: BacktestResult, instrument_id: InstrumentId) -> str:
    return result.instruments.get(instrument_id, str(instrument_id))


def _ordered(
    result: BacktestResult, bars_by_instrument: Bars
) -> list[tuple[str, BarArrays, list[RoundTrip]]]:
    """Each instrument's symbol, bar columns and round trips to mark, by symbol."""
    items = []
    for iid, given in bars_by_instrument.items():
        symbol, bars = _symbol(result, iid), bar_arrays(given)
        trips = [t for t in result.trades if t.symbol == symbol]
        items.append((symbol, bars, trips + _still_open(result, iid, symbol, bars)))
    return sorted(items, key=lambda item: item[0])


def _still_open(
    result: BacktestResult, instrument_id: InstrumentId, symbol: str, bars: BarArrays
) -> list[RoundTrip]:
    """The position still open after the last fill as an open round trip, for its entry
    to be marked (it has no exit); none when the results hold it already."""
    fills = [f for f in result.fills if f.instrument_id == instrument_id]
    held = sum((f.quantity if f.side is OrderSide.BUY else -f.quantity for f in fills), ZERO)
    if not held or any(t.is_open and t.instrument_id == instrument_id for t in result.trades):
        return []
    trips = round_trips(fills, {instrument_id: bars}, {instrument_id: symbol}, include_open=True)
    return [t for t in trips if t.is_open]


def _entry_text(t: RoundTrip) -> str:
    return f"{t.direction.value} {t.quantity} @ {t.entry_price}" + (" (open)" if t.is_open else "")


# --- HTML -------------------------------------------------------------------------------------
def _div(figure: go.Figure, div_id: str, height: int) -> str:
    figure.update_layout(template=_TEMPLATE, height=height, margin={"l": 60, "r": 20, "t": 40})
    text: str = pio.to_html(
        figure,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return text


def _price_figure(
    symbol: str, bars: BarArrays, trips: Sequence[RoundTrip]
) -> tuple[go.Figure, bool]:
    figure = go.Figure()
    downsampled = False
    if len(bars) <= MAX_CANDLES:
        figure.add_trace(
            go.Candlestick(
                x=_times(bars.times_ns),
                open=bars.opens,
                high=bars.highs,
                low=bars.lows,
                close=bars.closes,
                name=symbol,
            )
        )
        figure.update_layout(xaxis_rangeslider_visible=False)
    else:
        keep = downsample_indices(bars.closes)
        downsampled = keep.size < len(bars)
        figure.add_trace(
            go.Scatter(
                x=_times(bars.times_ns[keep]),
                y=bars.closes[keep],
                mode="lines",
                name=f"{symbol} close",
                line={"color": _GREY, "width": 1},
            )
        )
    for side, marker, color in (
        (PositionSide.LONG, "triangle-up", _GREEN),
        (PositionSide.SHORT, "triangle-down", _RED),
    ):
        entries = [t for t in trips if t.direction is side]
        if entries:
            figure.add_trace(
                go.Scatter(
                    x=_times(timestamps_ns(t.entry_time for t in entries)),
                    y=[float(t.entry_price) for t in entries],
                    mode="markers",
                    name=f"{side.value.lower()} entry",
                    marker={"symbol": marker, "size": 10, "color": color},
                    text=[_entry_text(t) for t in entries],
                    hoverinfo="x+text",
                )
            )
    exits = [t for t in trips if not t.is_open]
    if exits:
        figure.add_trace(
            go.Scatter(
                x=_times(timestamps_ns(t.exit_time for t in exits)),
                y=[float(t.exit_price) for t in exits],
                mode="markers",
                name="exit",
                marker={
                    "symbol": "x",
                    "size": 9,
                    "color": [_GREEN if t.pnl > 0 else _RED for t in exits],
                },
                text=[f"exit {t.quantity} @ {t.exit_price}, P&L {t.pnl:.2f}" for t in exits],
                hoverinfo="x+text",
            )
        )
    figure.update_layout(title=f"{symbol}: price, entries and exits")
    return figure, downsampled


def _curve_figures(result: BacktestResult) -> tuple[go.Figure, go.Figure, bool]:
    curve = result.equity_curve
    times = curve.times_ns
    equity, drawdown = curve.equity_values, drawdown_curve(curve)
    keep_equity = downsample_indices(equity)
    keep_drawdown = downsample_indices(-drawdown)
    downsampled = keep_equity.size < equity.size
    equity_figure = go.Figure(
        go.Scatter(
            x=_times(times[keep_equity]),
            y=equity[keep_equity],
            mode="lines",
            name="equity",
            line={"color": _BLUE},
        )
    )
    equity_figure.update_layout(title=f"Equity ({result.currency})")
    drawdown_figure = go.Figure(
        go.Scatter(
            x=_times(times[keep_drawdown]),
            y=-100.0 * drawdown[keep_drawdown],
            mode="lines",
            fill="tozeroy",
            name="drawdown",
            line={"color": _RED},
        )
    )
    drawdown_figure.update_layout(title="Drawdown [%]")
    return equity_figure, drawdown_figure, downsampled


def monthly_table(result: BacktestResult) -> tuple[list[int], list[list[float | None]]]:
    """The monthly returns in percent as (years, one row of 12 months per year)."""
    months = monthly_returns(result.equity_curve, result.initial_cash)
    years = sorted({m.year for m in months})
    rows: list[list[float | None]] = [[None] * 12 for _ in years]
    row_of = {year: i for i, year in enumerate(years)}
    for m in months:
        rows[row_of[m.year]][m.month - 1] = m.return_pct
    return years, rows


def _monthly_figure(result: BacktestResult) -> go.Figure:
    years, rows = monthly_table(result)
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in rows]
    z = [[np.nan if v is None else v for v in row] for row in rows]
    finite = [abs(v) for row in rows for v in row if v is not None]
    bound = max(finite) if finite else 1.0
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(_MONTHS),
            y=[str(year) for year in years],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmin=-bound,
            zmax=bound,
            colorbar={"title": "%"},
            hovertemplate="%{y} %{x}: %{text}%<extra></extra>",
        )
    )
    figure.update_layout(
        title="Monthly returns [%]", yaxis={"type": "category", "autorange": "reversed"}
    )
    return figure


def _metrics_table(result: BacktestResult) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
        for label, value in result.summary_rows()
    )
    return f'<table id="metrics" class="metrics">{rows}</table>'


_TRADE_COLUMNS = (
    "#",
    "Symbol",
    "Side",
    "Entry time",
    "Exit time",
    "Entry price",
    "Exit price",
    "Quantity",
    "P&L",
    "Return [%]",
    "Fees",
    "Duration",
    "Bars",
    "MAE [%]",
    "MFE [%]",
)


def _trade_rows(trips: Sequence[RoundTrip]) -> str:
    out = []
    for number, t in enumerate(trips[:MAX_TRADE_ROWS], start=1):
        cells = (
            str(number),
            t.symbol,
            t.direction.value + (" (open)" if t.is_open else ""),
            iso(t.entry_time),
            iso(t.exit_time),
            str(t.entry_price),
            str(t.exit_price),
            str(t.quantity),
            f"{t.pnl:.2f}",
            f"{t.return_pct:.2f}",
            f"{t.fees:.2f}",
            str(t.duration),
            str(t.bars_held),
            f"{t.mae_pct:.2f}",
            f"{t.mfe_pct:.2f}",
        )
        css = "win" if t.pnl > 0 else "loss" if t.pnl < 0 else "flat"
        out.append(
            f'<tr class="{css}">' + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
        )
    return "".join(out)


def _trade_table(result: BacktestResult) -> str:
    trips = result.trades
    head = "".join(f"<th>{html.escape(c)}</th>" for c in _TRADE_COLUMNS)
    note = ""
    if len(trips) > MAX_TRADE_ROWS:
        note = (
            f'<p class="note">The first {MAX_TRADE_ROWS} of {len(trips)} round trips; '
            "the JSON output lists every one.</p>"
        )
    return (
        f'{note}<table id="trade-list" class="trades"><thead><tr>{head}</tr></thead>'
        f"<tbody>{_trade_rows(trips)}</tbody></table>"
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: right;
  white-space: nowrap; }
table.metrics th { text-align: left; font-weight: normal; color: #555; }
table.trades th { position: sticky; top: 0; background: #f4f4f4; }
tr.win td { color: #1a7f1a; } tr.loss td { color: #b22222; }
.note { color: #666; font-size: 0.85em; }
.scroll { max-height: 40em; overflow: auto; }
"""


def render_html(result: BacktestResult, bars_by_instrument: Bars) -> str:
    """The report as one HTML document (see the module doc)."""
    title = f"Backtest: {result.strategy}" + (f" {result.version}" if result.version else "")
    sections: list[str] = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{html.escape(iso(result.start))} to {html.escape(iso(result.end))}'
        f", initial cash {result.initial_cash} {html.escape(result.currency)}</p>",
        "<h2>Metrics</h2>",
        _metrics_table(result),
    ]
    downsampled = False
    for number, (symbol, bars, trips) in enumerate(_ordered(result, bars_by_instrument), start=1):
        figure, cut = _price_figure(symbol, bars, trips)
        downsampled |= cut
        sections.append(f"<h2>{html.escape(symbol)}</h2>")
        sections.append(_div(figure, f"price-chart-{number}", 480))
    equity_figure, drawdown_figure, cut = _curve_figures(result)
    downsampled |= cut
    sections += [
        "<h2>Equity</h2>",
        _div(equity_figure, "equity-chart", 380),
        "<h2>Drawdown</h2>",
        _div(drawdown_figure, "drawdown-chart", 260),
        "<h2>Monthly returns</h2>",
        _div(
            _monthly_figure(result),
            "monthly-returns-chart",
            120 + 32 * len(monthly_table(result)[0]),
        ),
        f"<h2>Trades ({len(result.trades)})</h2>",
        f'<div class="scroll">{_trade_table(result)}</div>',
    ]
    if downsampled:
        sections.insert(
            2,
            f'<p class="note" id="downsampled">Charts of more than {MAX_POINTS} points are '
            "downsampled (each bucket keeps its first, lowest, highest and last point).</p>",
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        + "\n".join(sections)
        + "</body></html>\n"
    )


def write_html(result: BacktestResult, bars_by_instrument: Bars, path: Path | str) -> Path:
    """Write the self-contained HTML report to ``path`` (UTF-8); returns the path."""
    target = Path(path)
    target.write_text(render_html(result, bars_by_instrument), encoding="utf-8")
    return target


# --- PNG --------------------------------------------------------------------------------------
def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100, metadata={"Software": None})
    return path


def _file_name(symbol: str, taken: set[str]) -> str:
    base = "price_" + (re.sub(r"[^A-Za-z0-9._-]+", "_", symbol).strip("_") or "instrument")
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name + ".png"


def write_png(
    result: BacktestResult, bars_by_instrument: Bars, directory: Path | str
) -> list[Path]:
    """Write ``equity_drawdown.png`` and a ``price_<symbol>.png`` per instrument into
    ``directory`` (created if missing); returns their paths in that order."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = [_equity_png(result, folder / "equity_drawdown.png")]
    taken: set[str] = set()
    for symbol, bars, trips in _ordered(result, bars_by_instrument):
        path = folder / _file_name(symbol, taken)
        written.append(_price_png(symbol, bars, trips, path))
    return written


def _equity_png(result: BacktestResult, path: Path) -> Path:
    curve = result.equity_curve
    times = curve.times_ns
    equity, drawdown = curve.equity_values, drawdown_curve(curve)
    figure = Figure(figsize=(11, 6.5))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    keep = downsample_indices(equity)
    top.plot(_times(times[keep]), equity[keep], color=_BLUE, linewidth=1)
    top.set_title(f"{result.strategy}: equity ({result.currency})")
    top.grid(alpha=0.3)
    keep = downsample_indices(-drawdown)
    bottom.fill_between(_times(times[keep]), -100.0 * drawdown[keep], 0.0, color=_RED, alpha=0.4)
    bottom.set_ylabel("drawdown [%]")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return _save(figure, path)


def _price_png(symbol: str, bars: BarArrays, trips: Sequence[RoundTrip], path: Path) -> Path:
    figure = Figure(figsize=(11, 5))
    axes = figure.subplots()
    if len(bars):
        keep = downsample_indices(bars.closes)
        axes.plot(_times(bars.times_ns[keep]), bars.closes[keep], color=_GREY, linewidth=1)
    for side, marker, color in (
        (PositionSide.LONG, "^", _GREEN),
        (PositionSide.SHORT, "v", _RED),
    ):
        entries = [t for t in trips if t.direction is side]
        if entries:
            axes.scatter(
                _times(timestamps_ns(t.entry_time for t in entries)),
                [float(t.entry_price) for t in entries],
                marker=marker,
                color=color,
                s=40,
                label=f"{side.value.lower()} entry",
                zorder=3,
            )
    exits = [t for t in trips if not t.is_open]
    if exits:
        axes.scatter(
            _times(timestamps_ns(t.exit_time for t in exits)),
            [float(t.exit_price) for t in exits],
            marker="x",
            color=[_GREEN if t.pnl > 0 else _RED for t in exits],
            s=40,
            label="exit",
            zorder=3,
        )
    if trips:
        axes.legend(loc="best")
    axes.set_title(f"{symbol}: price, entries and exits")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return _save(figure, path)
