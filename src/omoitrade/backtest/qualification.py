"""Paper trading earned the way the lifecycle says: a DRAFT strategy starts BACKTESTING,
its current version is backtested over history and the run stored, and only then does it
move to PAPER (the gate checks for that completed run).

The paper session (``omoitrade run``) qualifies the example strategies like this on
their first start, over synthetic history of the demo market (:class:`PaperQualification`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from omoitrade.backtest.runner import BacktestConfig, StrategySpec
from omoitrade.backtest.session import run_backtest
from omoitrade.backtest.storage import record_result
from omoitrade.core.clock import to_datetime, to_ns
from omoitrade.data.synthetic import SyntheticMarket
from omoitrade.data.synthetic_config import demo_market_config
from omoitrade.model import Instrument
from omoitrade.model.enums import StrategyStatus, Timeframe
from omoitrade.model.identifiers import InstrumentId, StrategyId
from omoitrade.model.market_data import Bar
from omoitrade.model.strategies import Strategy
from omoitrade.model.strategy_versions import BacktestRun
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.strategy.document import StrategyDocument
from omoitrade.strategy.python_code import PythonStrategyDocument, validate_strategy_document
from omoitrade.strategy.rule_strategy import instrument_id_of

QUALIFIER = "paper-qualification"


def spec_of(
    checked: StrategyDocument | PythonStrategyDocument, version: int, strategy_id: StrategyId
) -> StrategySpec:
    """The backtest's spec of a stored strategy's validated document."""
    if isinstance(checked, PythonStrategyDocument):
        return StrategySpec(
            checked.name,
            python_class=checked.strategy_class,
            params=checked.parameters,
            version=version,
            strategy_id=strategy_id,
        )
    return StrategySpec(checked.name, document=checked, version=version, strategy_id=strategy_id)


def qualify_for_paper(
    service: StrategyService,
    strategy: Strategy,
    document: Mapping[str, Any],
    instruments: Sequence[Instrument],
    history: Mapping[InstrumentId, Sequence[Bar]],
    config: BacktestConfig,
    actor: str = QUALIFIER,
) -> BacktestRun:
    """Backtest ``strategy``'s current version (``document``) over ``history`` of the
    instruments it trades, store the run, and move the strategy on to PAPER (from DRAFT
    through BACKTESTING). Returns the stored run."""
    checked = validate_strategy_document(dict(document))
    wanted = {instrument_id_of(name) for name in checked.instruments}
    traded = [i for i in instruments if i.id in wanted]
    if strategy.status is StrategyStatus.DRAFT:
        strategy = service.start_backtest(strategy.id, actor)
    spec = spec_of(checked, strategy.version, strategy.id)
    bars = sorted(
        (bar for i in traded for bar in history[i.id]),
        key=lambda bar: (bar.timestamp, str(bar.instrument_id)),
    )
    result = run_backtest([spec], traded, bars, config)
    run = record_result(service, strategy, result)
    service.start_paper(strategy.id, actor)
    return run


@dataclass
class PaperQualification:
    """Qualifies the paper session's strategies over ``bars`` synthetic bars of
    ``timeframe`` ending at the session's start (the demo market, seeded)."""

    seed: int = 7
    bars: int = 2_000
    timeframe: Timeframe = Timeframe.M1
    initial_cash: Decimal = Decimal("100000")
    _history: dict[InstrumentId, list[Bar]] = field(default_factory=dict, repr=False)

    def __call__(
        self,
        service: StrategyService,
        strategy: Strategy,
        document: Mapping[str, Any],
        instruments: Sequence[Instrument],
    ) -> BacktestRun:
        if not self._history:
            self._history = self._synthetic(instruments, service.clock.utc_now())
        config = BacktestConfig(initial_cash=self.initial_cash)
        return qualify_for_paper(service, strategy, document, instruments, self._history, config)

    def _synthetic(
        self, instruments: Sequence[Instrument], now: datetime
    ) -> dict[InstrumentId, list[Bar]]:
        nanos = self.timeframe.nanos
        end_ns = to_ns(now) // nanos * nanos  # the start of the bar ``now`` falls in
        market = SyntheticMarket(demo_market_config(instruments, self.seed))
        return market.bars(self.timeframe, self.bars, to_datetime(end_ns - self.bars * nanos))
