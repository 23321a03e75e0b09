"""What a strategy was at each version, what its backtests found, how it did per mode.

A :class:`StrategyVersion` is immutable: every change to a strategy makes a new one,
with who, when, a note and the diff from the version before. A rollback is a new
version too (``restored_from`` names the old one). A :class:`BacktestRun` is one
backtest of one version (the lifecycle's PAPER gate looks for a completed one), and
a :class:`StrategyPerformance` row keeps a version's metrics in one trading mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import BacktestStatus, TradingMode
from omoitrade.model.fields import normalize_fields, require_json
from omoitrade.model.identifiers import (
    BacktestRunId,
    StrategyId,
    StrategyPerformanceId,
    StrategyVersionId,
)
from omoitrade.model.timestamps import require_utc


def _require_version(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(name, "must be an integer >= 1", value)


@dataclass(frozen=True, slots=True)
class StrategyVersion:
    """One immutable version of a strategy: its whole document and how it came about."""

    id: StrategyVersionId
    strategy_id: StrategyId
    version: int
    document: dict[str, Any]
    content_hash: str  # sha256 of the canonical JSON of ``document``
    author: str
    created_at: datetime
    change_note: str = ""
    diff: list[dict[str, Any]] = field(default_factory=list)
    restored_from: int | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        _require_version("version", self.version)
        if self.restored_from is not None:
            _require_version("restored_from", self.restored_from)
            if self.restored_from >= self.version:
                raise ValidationError(
                    "restored_from", "must name an earlier version", self.restored_from
                )
        if not self.author:
            raise ValidationError("author", "must name who made the change")
        require_json("document", self.document)
        require_utc("created_at", self.created_at)


@dataclass(slots=True, eq=False)
class BacktestRun:
    """One backtest of one strategy version; COMPLETED runs carry their metrics."""

    id: BacktestRunId
    strategy_id: StrategyId
    strategy_version: int
    started_at: datetime
    status: BacktestStatus = BacktestStatus.RUNNING
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    finished_at: datetime | None = None
    error: str = ""

    def __post_init__(self) -> None:
        normalize_fields(self)
        _require_version("strategy_version", self.strategy_version)
        require_utc("started_at", self.started_at)
        require_utc("finished_at", self.finished_at)

    def complete(self, metrics: dict[str, Any], at: datetime) -> None:
        self._finish(BacktestStatus.COMPLETED, at)
        require_json("metrics", metrics)
        self.metrics = metrics

    def fail(self, error: str, at: datetime) -> None:
        self._finish(BacktestStatus.FAILED, at)
        self.error = error or "failed"

    def _finish(self, status: BacktestStatus, at: datetime) -> None:
        if self.status is not BacktestStatus.RUNNING:
            raise ValidationError("status", f"the run is already {self.status}", status)
        require_utc("at", at)
        self.status, self.finished_at = status, at


@dataclass(slots=True, eq=False)
class StrategyPerformance:
    """A strategy version's metrics in one mode, since it started trading in that mode."""

    id: StrategyPerformanceId
    strategy_id: StrategyId
    version: int
    mode: TradingMode
    started_at: datetime
    updated_at: datetime
    metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalize_fields(self)
        _require_version("version", self.version)
        require_utc("started_at", self.started_at)
        require_utc("updated_at", self.updated_at)
