"""The events a signal publishes: what they hold, their order, and work queued meanwhile."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from signal_world import World

from omoitrade.model.enums import SignalStatus, TradePhase
from omoitrade.model.events import (
    DomainEvent,
    SignalCreated,
    SignalValidated,
    TradePhaseChanged,
)
from omoitrade.signals.plan import SignalSettings


def own_events(w: World, signal_id: object) -> list[DomainEvent]:
    return [e for e in w.events if getattr(e, "signal_id", None) == signal_id]


def test_a_shadow_signal_publishes_created_phases_and_validated_in_order() -> None:
    w = World(SignalSettings(high_value_notional=D("1000000")))
    saved: list[SignalStatus] = []
    w.pipeline.sink = lambda s: saved.append(s.status)
    signal = w.send(w.signal(strength=0.7), w.plan(shadow=True))
    created, accepted, validated, freed = own_events(w, signal.id)
    assert isinstance(created, SignalCreated) and isinstance(validated, SignalValidated)
    assert (created.strategy_id, created.instrument_id) == (
        signal.strategy_id,
        signal.instrument_id,
    )
    assert (created.signal_type, created.strength) == (signal.signal_type, 0.7)
    assert created.occurred_at == signal.created_at
    assert isinstance(accepted, TradePhaseChanged) and isinstance(freed, TradePhaseChanged)
    assert (accepted.from_phase, accepted.to_phase) == (TradePhase.SIGNAL, TradePhase.VALIDATION)
    assert (freed.from_phase, freed.to_phase) == (TradePhase.VALIDATION, TradePhase.SIGNAL)
    assert validated.validation_result is signal.validation_result
    assert accepted.occurred_at == validated.occurred_at == freed.occurred_at  # one reading
    assert len({e.event_id for e in (created, accepted, validated, freed)}) == 4
    assert saved == [SignalStatus.VALIDATED]  # the row is saved before the event says so


def test_assembled_events_are_what_their_checked_constructors_make() -> None:
    w = World()
    signal = w.send(w.signal(), w.plan(shadow=True))
    for event in own_events(w, signal.id):
        values = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        assert type(event)(**values) == event


def test_a_signal_submitted_while_another_is_handled_waits_for_it() -> None:
    w = World()
    second = w.signal()
    first = w.signal()
    plan = w.plan(shadow=True)

    def react(event: DomainEvent) -> None:
        if isinstance(event, SignalCreated) and event.signal_id == first.id:
            w.pipeline.submit(second, plan)  # from inside the first signal's work

    w.bus.subscribe("events.signal.created", react)
    w.send(first, plan)
    order = [e.signal_id for e in w.events if isinstance(e, SignalValidated)]
    assert order == [first.id, second.id]
    kinds = [type(e).__name__ for e in w.events if getattr(e, "signal_id", None) == second.id]
    assert kinds[0] == "SignalCreated"
    first_done = max(i for i, e in enumerate(w.events) if getattr(e, "signal_id", 0) == first.id)
    second_begun = min(i for i, e in enumerate(w.events) if getattr(e, "signal_id", 0) == second.id)
    assert first_done < second_begun
    assert first.status is second.status is SignalStatus.VALIDATED
