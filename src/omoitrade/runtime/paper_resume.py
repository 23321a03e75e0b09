"""What the paper session reads back from the store when it starts again: every stored
event, each strategy's own position, and the signals' open trades."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from omoitrade.core.errors import OmoiError
from omoitrade.execution.registry import OrderRegistry
from omoitrade.model import Instrument
from omoitrade.model.enums import SignalStatus, Timeframe
from omoitrade.model.events import DomainEvent, OrderFillEvent, SignalSettled
from omoitrade.model.identifiers import PortfolioId
from omoitrade.runtime.strategy_context import NodeStrategyContext
from omoitrade.signals.pipeline import SignalPipeline
from omoitrade.store import Database
from omoitrade.store.repositories import key_of
from omoitrade.strategy.python_code import python_document


def default_strategies_dir() -> Path:
    """``examples/strategies`` of the source tree this package runs from."""
    return Path(__file__).resolve().parents[3] / "examples" / "strategies"


PYTHON_DEMO_INSTRUMENT = "SIM:BTC/USD"  # where the demo runs the Python examples


def demo_documents(
    directory: Path, instruments: Iterable[Instrument], timeframe: Timeframe
) -> tuple[list[dict[str, Any]], list[str]]:
    """The example documents adapted to the demo (every one on ``timeframe`` bars, on the
    instruments traded here; a Python example as its stored document, on BTC/USD), and a
    line for each one left out."""
    if not directory.is_dir():
        return [], [f"no strategy documents: {directory} is not a directory"]
    known = {f"{i.exchange}:{i.symbol}" for i in instruments}
    documents, problems = [], []
    for path in sorted([*directory.glob("*.json"), *directory.glob("*.py")]):
        try:
            if path.suffix == ".py":
                document = python_document(path, [PYTHON_DEMO_INSTRUMENT], timeframe)
            else:
                document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, OmoiError) as error:
            problems.append(f"{path.name}: not read ({error})")
            continue
        names = [n for n in document.get("instruments", []) if n in known]
        if not names:
            problems.append(f"{path.name}: none of its instruments trade here")
            continue
        document["instruments"] = names
        document["timeframe"] = timeframe.value
        documents.append(document)
    return documents, problems


def stored_events(database: Database) -> Iterator[DomainEvent]:
    """Every stored event, oldest first, a page at a time."""
    after = 0
    while True:
        with database.transaction(write=False) as uow:
            page = uow.events.read(after, 1000)
        if not page:
            return
        for stored in page:
            yield stored.event
        after = page[-1].sequence


def restore_strategy_positions(
    database: Database,
    portfolio_id: PortfolioId,
    contexts: Iterable[NodeStrategyContext],
    events: Iterable[DomainEvent],
) -> None:
    """Each strategy's own position, from the stored fills of its orders (and its signals')."""
    contexts = list(contexts)
    if not contexts:
        return
    with database.transaction(write=False) as uow:
        for context in contexts:
            signals = uow.signals.list(
                uow.signals.table.c.strategy_id == key_of(context.strategy_id)
            )
            context.signal_ids.update(s.id for s in signals)
        table = uow.orders.table
        orders = {o.id: o for o in uow.orders.list(table.c.portfolio_id == key_of(portfolio_id))}
    for event in events:
        if not isinstance(event, OrderFillEvent):
            continue
        order = orders.get(event.order_id)
        if order is None:
            continue
        owner = next((c for c in contexts if c.owns(order)), None)
        if owner is not None:
            owner.on_fill(event)


def adopt_open_trades(database: Database, pipeline: SignalPipeline, registry: OrderRegistry) -> int:
    """Signals whose trades were open when the process stopped go back under the
    pipeline's management (stops, trailing, holding time, settlement); how many."""
    with database.transaction(write=False) as uow:
        signals = uow.signals.list(
            uow.signals.table.c.status.in_([SignalStatus.VALIDATED, SignalStatus.EXECUTED])
        )
        candidates = []
        for signal in signals:
            settled = any(isinstance(e, SignalSettled) for e in uow.events.stream(signal.id))
            if not settled:
                candidates.append((signal, uow.orders.for_signal(signal.id)))
    count = 0
    for signal, stored in candidates:
        orders = [registry.get(o.id) or o for o in stored]
        if pipeline.adopt(signal, orders) is not None:
            count += 1
    return count
