"""One backtest's results: what ran, every order, fill and round trip, the equity curve and
the metrics; deterministic JSON out and back.

JSON rules (the same inputs give the same bytes): keys sorted, no spaces; Decimals as
their exact text (``"100.50"``, ``"Infinity"``); datetimes ISO 8601 UTC with ``Z``;
durations as seconds in Decimal text (``"86400"``, ``"1.5"``); enums by value;
identifiers as text; lists in the order held (orders and fills in the runner's order,
round trips by exit time). Nothing is added that the inputs do not hold: the time of
generation only when passed as ``generated_at``.

The equity curve is columns: ``timestamps``, ``equity``, ``cash``, ``exposure`` (Decimal
text) and ``drawdown``, the fraction by which equity is below its running peak at each
point (JSON numbers, from :func:`~omoitrade.backtest.metrics.drawdown_curve`; derived
from the equity, so reading the JSON back ignores it).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

from omoitrade.backtest.metrics import EquityCurve, EquityPoint, Metrics, drawdown_curve
from omoitrade.backtest.trades import RoundTrip
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import StrIdentifier, UuidIdentifier
from omoitrade.model.enums import Timeframe
from omoitrade.model.fields import require_json
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.orders import Order
from omoitrade.model.trades import Trade

__all__ = ["FORMAT", "FORMAT_VERSION", "BacktestResult", "EquityCurve", "EquityPoint"]

FORMAT = "omoitrade.backtest.result"
FORMAT_VERSION = 1
_MICROS = Decimal(1_000_000)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The results of one backtest run.

    ``instruments`` maps each instrument's id to its symbol; ``parameters`` (the
    strategy's) and ``settings`` (fees, fill model, slippage, ...) hold JSON values only
    (put Decimals in as strings). Compare two results by their :meth:`to_json`: orders
    are mutable entities, equal only to themselves.
    """

    strategy: str
    version: str | None
    parameters: dict[str, Any]
    instruments: dict[InstrumentId, str]
    timeframe: Timeframe | None
    start: datetime
    end: datetime
    initial_cash: Decimal
    currency: str
    settings: dict[str, Any]
    orders: tuple[Order, ...]
    fills: tuple[Trade, ...]
    trades: tuple[RoundTrip, ...]
    equity_curve: EquityCurve
    metrics: Metrics
    generated_at: datetime | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        require_json("parameters", self.parameters)
        require_json("settings", self.settings)
        for name in ("orders", "fills", "trades", "notes"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))

    # --- JSON --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (see the module doc for the encoding)."""
        data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = (
                _encode_curve(value) if isinstance(value, EquityCurve) else _encode(value)
            )
        return data

    def to_json(self, indent: int | None = None) -> str:
        """Deterministic JSON: equal inputs give identical text (ASCII, keys sorted)."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(
            self.to_dict(),
            sort_keys=True,
            separators=separators,
            indent=indent,
            ensure_ascii=True,
            allow_nan=False,
        )

    def write_json(self, path: Path | str, indent: int | None = None) -> Path:
        """Write :meth:`to_json` (UTF-8, one trailing newline) to ``path``."""
        target = Path(path)
        target.write_bytes((self.to_json(indent) + "\n").encode("utf-8"))
        return target

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BacktestResult:
        if data.get("format") != FORMAT:
            raise ValidationError("format", f"must be {FORMAT!r}", data.get("format"))
        if data.get("format_version") != FORMAT_VERSION:
            raise ValidationError(
                "format_version", f"must be {FORMAT_VERSION}", data.get("format_version")
            )
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                if f.default is not dataclasses.MISSING:
                    continue
                raise ValidationError(f.name, "is required")
            raw = data[f.name]
            if hints[f.name] is EquityCurve:
                values[f.name] = _decode_curve(raw)
            else:
                values[f.name] = _decode(hints[f.name], raw, f.name)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str | bytes) -> BacktestResult:
        """The result :meth:`to_json` wrote (its ``to_json`` gives the same text back)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValidationError("json", "must be an object")
        return cls.from_dict(data)

    # --- display -----------------------------------------------------------------------
    def summary_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the run and its metrics, for a CLI table or a report."""
        m = self.metrics
        cur = self.currency
        symbols = ", ".join(sorted(self.instruments.values()))
        rows: list[tuple[str, str]] = [
            ("Strategy", self.strategy + (f" {self.version}" if self.version else "")),
            ("Instruments", symbols or "-"),
            ("Timeframe", str(self.timeframe) if self.timeframe else "-"),
            ("Start", _time(m.start)),
            ("End", _time(m.end)),
            ("Duration", str(m.duration)),
            ("Bars", str(m.bars)),
            ("Exposure time [%]", _number(m.exposure_time_pct)),
            ("Initial cash", f"{_money(m.initial_cash)} {cur}"),
            ("Final equity", f"{_money(m.final_equity)} {cur}"),
            ("Peak equity", f"{_money(m.peak_equity)} {cur}"),
            ("Fees", f"{_money(m.total_fees)} {cur}"),
            ("Return [%]", _number(m.total_return_pct)),
            ("Buy & hold return [%]", _number(m.buy_and_hold_return_pct)),
            ("CAGR [%]", _number(m.cagr_pct)),
            ("Volatility (ann.) [%]", _number(m.volatility_pct)),
            ("Sharpe ratio", _number(m.sharpe, 3)),
            ("Sortino ratio", _number(m.sortino, 3)),
            ("Calmar ratio", _number(m.calmar, 3)),
            ("Max. drawdown [%]", _number(-m.max_drawdown_pct if m.max_drawdown_pct else 0)),
            ("Max. drawdown", f"{_money(m.max_drawdown)} {cur}"),
            ("Max. drawdown duration", str(m.max_drawdown_duration)),
            ("Trades", str(m.trades)),
            ("Win rate [%]", _number(m.win_rate_pct)),
            ("Best trade [%]", _number(m.best_trade_pct)),
            ("Worst trade [%]", _number(m.worst_trade_pct)),
            ("Avg. trade [%]", _number(m.avg_trade_pct)),
            ("Expectancy", _money(m.expectancy) + (f" {cur}" if m.expectancy is not None else "")),
            ("Expectancy [%]", _number(m.expectancy_pct)),
            ("Profit factor", _number(m.profit_factor, 3)),
            ("SQN", _number(m.sqn, 3)),
            ("Avg. trade duration", _optional(m.avg_trade_duration)),
            ("Max. trade duration", _optional(m.max_trade_duration)),
        ]
        return rows

    def equity_points(self) -> Iterator[EquityPoint]:
        return self.equity_curve.points()


# --- formatting ---------------------------------------------------------------------------
def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _optional(value: object) -> str:
    return "-" if value is None else str(value)


def _money(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}"


def _number(value: Decimal | float | int | None, places: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        if value.is_infinite():
            return "inf" if value > 0 else "-inf"
        return f"{value:.{places}f}"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.{places}f}"


# --- encoding -----------------------------------------------------------------------------
def iso(at: datetime) -> str:
    """A UTC datetime as ISO 8601 with ``Z``."""
    text = at.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _seconds(duration: timedelta) -> str:
    return str(Decimal(duration // timedelta(microseconds=1)) / _MICROS)


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, StrIdentifier | UuidIdentifier):
        return str(value)
    if isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return _seconds(value)
    if isinstance(value, EquityCurve):
        return _encode_curve(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(_encode(k)): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    raise ValidationError("result", f"cannot encode a {type(value).__name__} as JSON", value)


def _encode_curve(curve: EquityCurve) -> dict[str, list[str] | list[float]]:
    return {
        "timestamps": [iso(at) for at in curve.timestamps],
        "equity": [str(v) for v in curve.equity],
        "cash": [str(v) for v in curve.cash],
        "exposure": [str(v) for v in curve.exposure],
        "drawdown": drawdown_curve(curve).tolist(),
    }


def _decode_curve(raw: Any) -> EquityCurve:
    if not isinstance(raw, dict):
        raise ValidationError("equity_curve", "must be an object of columns")
    try:
        return EquityCurve(
            tuple(_parse_time(text) for text in raw["timestamps"]),
            tuple(map(Decimal, raw["equity"])),
            tuple(map(Decimal, raw["cash"])),
            tuple(map(Decimal, raw["exposure"])),
        )
    except (KeyError, TypeError, ArithmeticError) as error:
        raise ValidationError("equity_curve", f"is malformed ({error})") from None


def _parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None or at.utcoffset() != timedelta(0):
        raise ValidationError("timestamp", "must be UTC", text)
    return at.replace(tzinfo=UTC) if at.tzinfo is not UTC else at


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _decode(hint: Any, raw: Any, name: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if raw is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], raw, name)
    if hint is Any:
        return raw
    try:
        if hint is Decimal:
            return Decimal(raw)
        if hint is datetime:
            return _parse_time(raw)
        if hint is timedelta:
            return timedelta(microseconds=int(Decimal(raw) * _MICROS))
        if hint is float:
            return _NON_FINITE[raw] if isinstance(raw, str) else float(raw)
        if hint in (int, str, bool):
            if not isinstance(raw, hint):
                raise ValidationError(name, f"must be a {hint.__name__}", raw)
            return raw
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(raw)
        if isinstance(hint, type) and issubclass(hint, UuidIdentifier):
            return hint.parse(raw)
        if isinstance(hint, type) and issubclass(hint, StrIdentifier):
            return hint(raw)
        if origin is tuple:
            return tuple(_decode(args[0], item, name) for item in raw)
        if origin is list:
            return [_decode(args[0], item, name) for item in raw]
        if origin is dict:
            key_hint, value_hint = args
            return {
                _decode(key_hint, k, name): _decode(value_hint, v, name) for k, v in raw.items()
            }
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            hints = _hints(hint)
            values = {
                f.name: _decode(hints[f.name], raw[f.name], f"{name}.{f.name}")
                for f in dataclasses.fields(hint)
                if f.name in raw
            }
            return hint(**values)
    except ValidationError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as error:
        raise ValidationError(name, f"is malformed ({error})", raw) from None
    raise ValidationError(name, f"cannot decode a {hint!r}", raw)
