"""The inputs of a backtest from files: a strategy (a JSON rule document or a Python file
defining a :class:`~omoitrade.strategy.base.Strategy` subclass) and a data file of bars.

Shared by ``omoitrade backtest`` and ``omoitrade optimize``. Each bad file is one
:class:`ValidationError` naming the file and what is wrong with it.

A :class:`StrategySource` is plain data (the document, or the Python file's text) so that
it can be sent to worker processes and Dask workers, which load the class themselves.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from omoitrade.backtest.runner import StrategySpec
from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.csv_import import read_ohlcv
from omoitrade.model import Instrument
from omoitrade.model.enums import InstrumentType, Timeframe
from omoitrade.model.identifiers import InstrumentId, StrategyId
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import Strategy, validate_parameters
from omoitrade.strategy.document import StrategyDocumentError, validate_document
from omoitrade.strategy.python_code import (
    load_strategy_class,
    only_strategy_class,
    parameter_defaults,
)
from omoitrade.strategy.rule_strategy import instrument_id_of

DEFAULT_EXCHANGE = "SIM"


@dataclass(frozen=True)
class StrategySource:
    """A strategy file, loaded: :meth:`spec` makes a :class:`StrategySpec` with parameters.

    ``document`` holds a rule document (JSON data); ``code`` a Python file's text (with
    ``class_name`` the :class:`Strategy` subclass it defines). ``parameters`` are the
    defaults: the document's ``parameters``, or the defaults of the class's
    ``params_type`` fields.
    """

    name: str
    path: str
    parameters: dict[str, Any]
    document: dict[str, Any] | None = None
    code: str | None = None
    class_name: str | None = None
    instruments: tuple[str, ...] = ()  # EXCHANGE:SYMBOL, from the document
    timeframe: Timeframe | None = None  # from the document
    version: int = 1
    required: tuple[str, ...] = ()  # Python parameters without a default

    @property
    def is_document(self) -> bool:
        return self.document is not None

    @property
    def default_symbol(self) -> str | None:
        """The instrument a rule document trades first (``EXCHANGE:SYMBOL``); None for
        Python strategies (:func:`load_bars` then names it after the data file)."""
        return self.instruments[0] if self.instruments else None

    def python_class(self) -> type[Strategy]:
        """The Python strategy's class (loaded once per process)."""
        if self.code is None or self.class_name is None:
            raise ValidationError("strategy", f"{self.name} is a rule document, not Python")
        return load_strategy_class(self.path, self.code, self.class_name)

    def check_names(self, names: typing.Iterable[str]) -> None:
        """ValidationError for a name that is not one of the strategy's parameters."""
        known = [*self.parameters, *self.required]
        unknown = [n for n in names if n not in known]
        if unknown:
            known_text = ", ".join(known) or "none"
            raise ValidationError(
                "parameters",
                f"{self.name} has no parameter {unknown[0]!r} (its parameters: {known_text})",
            )

    def values(self, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults with ``parameters`` over them, as the strategy takes them."""
        given = dict(parameters or {})
        self.check_names(given)
        if self.document is not None:
            return {**self.parameters, **{k: _json_number(v) for k, v in given.items()}}
        hints = _hints_of(self.python_class())
        return {**self.parameters, **{k: _coerce(hints.get(k), v) for k, v in given.items()}}

    def trading(self, instruments: typing.Sequence[Instrument]) -> StrategySource:
        """This strategy on ``instruments``: a rule document's ``instruments`` become theirs
        (a Python strategy trades whatever it gets bars of: itself)."""
        if self.document is None:
            return self
        names = tuple(f"{i.exchange}:{i.symbol}" for i in instruments)
        return dataclasses.replace(
            self, document={**self.document, "instruments": list(names)}, instruments=names
        )

    def check_instruments(self, instruments: typing.Sequence[Instrument]) -> None:
        """ValidationError when a rule document trades none of ``instruments``."""
        if self.document is None:
            return
        ids = {i.id for i in instruments}
        if not any(instrument_id_of(name) in ids for name in self.instruments):
            given = ", ".join(f"{i.exchange}:{i.symbol}" for i in instruments)
            raise ValidationError(
                "instruments",
                f"{self.name} trades {', '.join(self.instruments)}, not {given}",
            )

    def document_with(self, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A copy of the rule document with ``parameters`` set (not validated)."""
        if self.document is None:
            raise ValidationError("strategy", f"{self.name} is Python, not a rule document")
        data = copy.deepcopy(self.document)
        data["parameters"] = self.values(parameters)
        return data

    def spec(
        self,
        parameters: Mapping[str, Any] | None = None,
        *,
        strategy_id: StrategyId | None = None,
    ) -> StrategySpec:
        """The strategy with ``parameters`` over its defaults, validated: a
        ``StrategyDocumentError`` or ``StrategyParameterError`` for values it refuses."""
        if self.document is not None:
            document = validate_document(self.document_with(parameters))
            return StrategySpec(
                self.name, document=document, version=self.version, strategy_id=strategy_id
            )
        cls = self.python_class()
        values = self.values(parameters)
        if cls.params_type is not None:
            validate_parameters(cls.params_type, values)  # refuse bad values before a run
        return StrategySpec(
            self.name,
            python_class=cls,
            params=values,
            version=self.version,
            strategy_id=strategy_id,
        )


def load_strategy(path: Path | str) -> StrategySource:
    """A strategy file: a JSON rule document, or a ``.py`` file defining exactly one
    :class:`Strategy` subclass (its ``params_type`` dataclass gives the parameters)."""
    path = Path(path)
    text = _read_text(path, "strategy")
    if path.suffix.lower() == ".py":
        return _python_source(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError(
            "strategy", f"{path.name} line {error.lineno}, column {error.colno}: invalid JSON"
        ) from None
    try:
        document = validate_document(data)
    except StrategyDocumentError as error:
        first = error.problems[0]
        more = f" (and {len(error.problems) - 1} more)" if len(error.problems) > 1 else ""
        raise ValidationError("strategy", f"{path.name}: {first}{more}") from None
    return StrategySource(
        name=document.name,
        path=str(path),
        parameters=dict(document.parameters),
        document=data,
        instruments=document.instruments,
        timeframe=document.timeframe,
        version=document.version,
    )


def _python_source(path: Path, text: str) -> StrategySource:
    cls = only_strategy_class(str(path), text)
    defaults, required = parameter_defaults(cls)
    return StrategySource(
        name=cls.__name__,
        path=str(path),
        parameters=defaults,
        code=text,
        class_name=cls.__name__,
        required=required,
    )


def _hints_of(cls: type[Strategy]) -> dict[str, Any]:
    if cls.params_type is None:
        return {}
    try:
        return typing.get_type_hints(cls.params_type)
    except Exception:  # unresolvable annotations: values are passed as given
        return {}


def _coerce(hint: Any, value: Any) -> Any:
    """A searched value in the type of the Python parameter it is for."""
    if isinstance(value, bool) or hint is None:
        return value
    if hint is float and isinstance(value, int | Decimal):
        return float(value)
    if hint is Decimal and isinstance(value, int | float):
        return Decimal(str(value))
    if hint is int and isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    return value


def _json_number(value: Any) -> Any:
    """A searched value as a document parameter (JSON numbers: int or float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- data files -------------------------------------------------------------------------------
def instrument_for(symbol: str) -> Instrument:
    """An instrument for ``EXCHANGE:SYMBOL`` (or ``SYMBOL`` on SIM): ``BASE/QUOTE`` is a
    spot pair (tick 0.01, lot and minimum 0.0001); anything else an equity in USD (tick
    0.01, lot 1, minimum 1)."""
    exchange, sep, name = symbol.strip().partition(":")
    if not sep:
        exchange, name = DEFAULT_EXCHANGE, exchange
    if not exchange or not name:
        raise ValidationError("instrument", "must be SYMBOL or EXCHANGE:SYMBOL", symbol)
    try:
        InstrumentId.of(exchange, name)
    except OmoiError as error:
        raise ValidationError("instrument", f"{symbol!r} is not a valid symbol") from error
    base, slash, quote = name.partition("/")
    if slash and base and quote:
        return Instrument.create(
            exchange,
            name,
            instrument_type=InstrumentType.SPOT,
            base_currency=base,
            quote_currency=quote,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.0001"),
            min_quantity=Decimal("0.0001"),
        )
    return Instrument.create(
        exchange,
        name,
        instrument_type=InstrumentType.EQUITY,
        base_currency=name,
        quote_currency="USD",
        tick_size=Decimal("0.01"),
        lot_size=Decimal(1),
        min_quantity=Decimal(1),
    )


def load_bars(
    path: Path | str,
    symbol_or_instrument: str | Instrument | None,
    timeframe: Timeframe | str | None = None,
    *,
    tz: str | None = None,
) -> tuple[Instrument, list[Bar]]:
    """The bars of a CSV or Parquet file (see :mod:`omoitrade.data.csv_import`) for an
    instrument (an :class:`Instrument`, or a symbol for :func:`instrument_for`; None: the
    file name's first word, upper-cased: ``goog.csv`` and ``GOOG_daily.csv`` are GOOG).

    Without ``timeframe`` it is the one nearest the median spacing of the bars.
    """
    path = Path(path)
    if symbol_or_instrument is None:
        symbol_or_instrument = re.split(r"[^A-Za-z0-9]", path.name)[0].upper() or "DATA"
    instrument = (
        symbol_or_instrument
        if isinstance(symbol_or_instrument, Instrument)
        else instrument_for(symbol_or_instrument)
    )
    if timeframe is not None and not isinstance(timeframe, Timeframe):
        choices = ", ".join(t.value for t in Timeframe)
        if timeframe not in [t.value for t in Timeframe]:
            raise ValidationError("timeframe", f"must be one of {choices}", timeframe)
        timeframe = Timeframe(timeframe)
    if not path.is_file():
        raise ValidationError("data", f"cannot read {path}: no such file")
    try:
        series = read_ohlcv(
            path, instrument.id, timeframe or Timeframe.D1, ids=IdGenerator(seed=0), tz=tz
        )
    except OmoiError:
        raise
    except Exception as error:  # the reader's own checks missed it: still one clear line
        raise ValidationError(
            "data", f"cannot read {path.name}: {type(error).__name__}: {error}"
        ) from error
    if not len(series):
        raise ValidationError("data", f"{path.name} has no bars")
    if timeframe is None:
        series = replace(series, timeframe=guess_timeframe(series.timestamps))
    return instrument, series.bars()


def guess_timeframe(timestamps_ns: Any) -> Timeframe:
    """The timeframe nearest (by ratio) the median spacing of the timestamps (1d for one)."""
    stamps = np.asarray(timestamps_ns, dtype=np.int64)
    if stamps.size < 2:
        return Timeframe.D1
    spacing = float(np.median(np.diff(stamps)))
    return min(Timeframe, key=lambda t: abs(np.log(spacing / t.nanos)))


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(what, f"cannot read {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ValidationError(what, f"cannot read {path}: {reason}") from None
