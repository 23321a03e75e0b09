"""Tests for the domain lifecycles: the order, signal, strategy and trade-phase tables."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import IllegalTransition
from omoitrade.core.fsm import StateMachine, TransitionTable
from omoitrade.model.enums import OrderStatus, SignalStatus, StrategyStatus, TradePhase
from omoitrade.model.state_machines import (
    ORDER_LIFECYCLE,
    SIGNAL_LIFECYCLE,
    STRATEGY_LIFECYCLE,
    TRADE_PHASES,
    OrderTrigger,
    PhaseTrigger,
    SignalTrigger,
    StrategyTrigger,
)

OS, OT = OrderStatus, OrderTrigger
S, ST = SignalStatus, SignalTrigger
G, GT = StrategyStatus, StrategyTrigger
P, PT = TradePhase, PhaseTrigger

EXPECTED_ORDER = {
    (OS.PENDING, OT.SUBMIT): OS.SUBMITTED,
    (OS.SUBMITTED, OT.PARTIAL_FILL): OS.PARTIAL,
    (OS.PARTIAL, OT.PARTIAL_FILL): OS.PARTIAL,
    (OS.SUBMITTED, OT.FILL): OS.FILLED,
    (OS.PARTIAL, OT.FILL): OS.FILLED,
    (OS.PENDING, OT.CANCEL): OS.CANCELLED,
    (OS.SUBMITTED, OT.CANCEL): OS.CANCELLED,
    (OS.PARTIAL, OT.CANCEL): OS.CANCELLED,
    (OS.PENDING, OT.REJECT): OS.REJECTED,
    (OS.SUBMITTED, OT.REJECT): OS.REJECTED,
    (OS.PENDING, OT.AMEND): OS.PENDING,
    (OS.SUBMITTED, OT.AMEND): OS.SUBMITTED,
    (OS.PARTIAL, OT.AMEND): OS.PARTIAL,
}

EXPECTED_SIGNAL = {
    (S.PENDING, ST.VALIDATE): S.VALIDATED,
    (S.VALIDATED, ST.EXECUTE): S.EXECUTED,
    (S.PENDING, ST.REJECT): S.REJECTED,
    (S.VALIDATED, ST.REJECT): S.REJECTED,
    (S.PENDING, ST.EXPIRE): S.EXPIRED,
}

EXPECTED_STRATEGY = {
    (G.DRAFT, GT.START_BACKTEST): G.BACKTESTING,
    (G.BACKTESTING, GT.START_PAPER): G.PAPER,
    (G.PAPER, GT.GO_LIVE): G.LIVE,
    (G.LIVE, GT.PAUSE): G.PAUSED,
    (G.PAUSED, GT.RESUME): G.LIVE,
    (G.LIVE, GT.STOP): G.STOPPED,
    (G.PAUSED, GT.STOP): G.STOPPED,
}

EXPECTED_PHASES = {
    (P.SIGNAL, PT.SIGNAL_ACCEPTED): P.VALIDATION,
    (P.VALIDATION, PT.RISK_APPROVED): P.EXECUTION,
    (P.EXECUTION, PT.ORDER_FILLED): P.MANAGEMENT,
    (P.MANAGEMENT, PT.EXIT_TRIGGERED): P.SETTLEMENT,
    (P.SETTLEMENT, PT.POSITION_CLOSED): P.SIGNAL,
    (P.VALIDATION, PT.ABANDONED): P.SIGNAL,
    (P.EXECUTION, PT.ABANDONED): P.SIGNAL,
}

# (table, trigger enum, state enum, exact transitions, initial state, terminal states)
TABLES = [
    pytest.param(
        ORDER_LIFECYCLE,
        OrderTrigger,
        OrderStatus,
        EXPECTED_ORDER,
        OS.PENDING,
        {OS.FILLED, OS.CANCELLED, OS.REJECTED},
        id="order",
    ),
    pytest.param(
        SIGNAL_LIFECYCLE,
        SignalTrigger,
        SignalStatus,
        EXPECTED_SIGNAL,
        S.PENDING,
        {S.EXECUTED, S.REJECTED, S.EXPIRED},
        id="signal",
    ),
    pytest.param(
        STRATEGY_LIFECYCLE,
        StrategyTrigger,
        StrategyStatus,
        EXPECTED_STRATEGY,
        G.DRAFT,
        {G.STOPPED},
        id="strategy",
    ),
    pytest.param(
        TRADE_PHASES, PhaseTrigger, TradePhase, EXPECTED_PHASES, P.SIGNAL, set(), id="trade-phase"
    ),
]


# -- exact tables ------------------------------------------------------------------


@pytest.mark.parametrize(("table", "triggers", "states", "expected", "initial", "terminal"), TABLES)
def test_table_is_exactly_the_design_diagram(
    table: TransitionTable,
    triggers: type[StrEnum],
    states: type[StrEnum],
    expected: dict,
    initial: StrEnum,
    terminal: set,
) -> None:
    assert dict(table.transitions()) == expected


@pytest.mark.parametrize(("table", "triggers", "states", "expected", "initial", "terminal"), TABLES)
def test_table_states_initial_and_terminal_states(
    table: TransitionTable,
    triggers: type[StrEnum],
    states: type[StrEnum],
    expected: dict,
    initial: StrEnum,
    terminal: set,
) -> None:
    assert table.states == frozenset(states)
    assert table.initial is initial
    assert table.terminal == frozenset(terminal)


@pytest.mark.parametrize(("table", "triggers", "states", "expected", "initial", "terminal"), TABLES)
def test_every_state_is_reachable_from_the_initial_state(
    table: TransitionTable,
    triggers: type[StrEnum],
    states: type[StrEnum],
    expected: dict,
    initial: StrEnum,
    terminal: set,
) -> None:
    reached = {initial}
    frontier = [initial]
    while frontier:
        state = frontier.pop()
        for trigger in table.allowed_triggers(state):
            target = table.next_state(state, trigger)
            if target not in reached:
                reached.add(target)
                frontier.append(target)

    assert reached == set(states)


def test_order_terminal_states_allow_no_trigger() -> None:
    for status in (OS.FILLED, OS.CANCELLED, OS.REJECTED):
        assert ORDER_LIFECYCLE.allowed_triggers(status) == ()
        assert ORDER_LIFECYCLE.is_terminal(status)


def test_order_amend_keeps_every_open_status() -> None:
    for status in (OS.PENDING, OS.SUBMITTED, OS.PARTIAL):
        assert ORDER_LIFECYCLE.next_state(status, OT.AMEND) is status


def test_order_cannot_be_rejected_once_partially_filled() -> None:
    assert not ORDER_LIFECYCLE.can(OS.PARTIAL, OT.REJECT)


def test_order_cannot_fill_before_it_is_submitted() -> None:
    assert not ORDER_LIFECYCLE.can(OS.PENDING, OT.FILL)
    assert not ORDER_LIFECYCLE.can(OS.PENDING, OT.PARTIAL_FILL)


def test_signal_can_expire_only_while_pending() -> None:
    assert [s for s in SignalStatus if SIGNAL_LIFECYCLE.can(s, ST.EXPIRE)] == [S.PENDING]


def test_strategy_goes_live_only_after_backtest_and_paper() -> None:
    machine = StateMachine(STRATEGY_LIFECYCLE)

    for trigger in (GT.GO_LIVE, GT.START_PAPER):
        with pytest.raises(IllegalTransition):
            machine.trigger(trigger)

    assert [machine.trigger(t) for t in (GT.START_BACKTEST, GT.START_PAPER, GT.GO_LIVE)] == [
        G.BACKTESTING,
        G.PAPER,
        G.LIVE,
    ]


def test_strategy_live_and_paused_alternate_until_stopped() -> None:
    machine = StateMachine(STRATEGY_LIFECYCLE, G.LIVE)

    assert machine.trigger(GT.PAUSE) is G.PAUSED
    assert machine.trigger(GT.RESUME) is G.LIVE
    assert machine.trigger(GT.PAUSE) is G.PAUSED
    assert machine.trigger(GT.STOP) is G.STOPPED
    assert machine.is_terminal


def test_trade_phases_form_a_cycle_back_to_signal() -> None:
    machine = StateMachine(TRADE_PHASES)
    path = [
        machine.trigger(t)
        for t in (
            PT.SIGNAL_ACCEPTED,
            PT.RISK_APPROVED,
            PT.ORDER_FILLED,
            PT.EXIT_TRIGGERED,
            PT.POSITION_CLOSED,
        )
    ]

    assert path == [P.VALIDATION, P.EXECUTION, P.MANAGEMENT, P.SETTLEMENT, P.SIGNAL]


def test_trade_can_be_abandoned_only_in_validation_and_execution() -> None:
    abandonable = [p for p in TradePhase if TRADE_PHASES.can(p, PT.ABANDONED)]

    assert abandonable == [P.VALIDATION, P.EXECUTION]


# -- errors ------------------------------------------------------------------------


def test_cancel_of_a_filled_order_names_no_allowed_trigger() -> None:
    with pytest.raises(IllegalTransition) as caught:
        ORDER_LIFECYCLE.next_state(OS.FILLED, OT.CANCEL)

    assert str(caught.value) == (
        "Order: trigger CANCEL is not allowed in state FILLED (allowed: none)"
    )
    assert caught.value.allowed == ()


def test_submit_of_a_submitted_order_lists_the_allowed_triggers_in_table_order() -> None:
    with pytest.raises(IllegalTransition) as caught:
        ORDER_LIFECYCLE.next_state(OS.SUBMITTED, OT.SUBMIT)

    assert caught.value.allowed == (OT.AMEND, OT.PARTIAL_FILL, OT.FILL, OT.CANCEL, OT.REJECT)
    assert caught.value.machine == "Order"
    assert caught.value.state is OS.SUBMITTED
    assert caught.value.trigger is OT.SUBMIT
    assert str(caught.value) == (
        "Order: trigger SUBMIT is not allowed in state SUBMITTED "
        "(allowed: AMEND, PARTIAL_FILL, FILL, CANCEL, REJECT)"
    )


def test_illegal_signal_transition_lists_the_allowed_triggers() -> None:
    with pytest.raises(IllegalTransition) as caught:
        SIGNAL_LIFECYCLE.next_state(S.VALIDATED, ST.EXPIRE)

    assert caught.value.allowed == (ST.EXECUTE, ST.REJECT)
    assert str(caught.value) == (
        "Signal: trigger EXPIRE is not allowed in state VALIDATED (allowed: EXECUTE, REJECT)"
    )


def test_illegal_strategy_transition_names_the_machine() -> None:
    with pytest.raises(IllegalTransition) as caught:
        STRATEGY_LIFECYCLE.next_state(G.STOPPED, GT.RESUME)

    assert str(caught.value) == (
        "Strategy: trigger RESUME is not allowed in state STOPPED (allowed: none)"
    )


def test_illegal_trade_phase_transition_lists_the_allowed_triggers() -> None:
    with pytest.raises(IllegalTransition) as caught:
        TRADE_PHASES.next_state(P.MANAGEMENT, PT.ABANDONED)

    assert caught.value.allowed == (PT.EXIT_TRIGGERED,)
    assert caught.value.to_dict()["allowed"] == ["EXIT_TRIGGERED"]


# -- properties ----------------------------------------------------------------------


def check_random_walk(
    table: TransitionTable, expected: dict[tuple[StrEnum, StrEnum], StrEnum], triggers: list
) -> None:
    """Drive a machine on ``table`` with ``triggers`` and judge every step by ``expected``
    (the design diagram written out in this file, not the table under test): legal
    triggers move to the expected state, illegal ones raise and change nothing."""
    terminal = {state for state in table.states if all(state != s for s, _ in expected)}
    machine = StateMachine(table)
    assert machine.state is table.initial
    for trigger in triggers:
        before = machine.state
        allowed = {t for s, t in expected if s == before}
        if (before, trigger) in expected:
            assert machine.can(trigger)
            after = machine.trigger(trigger)
            assert after is expected[(before, trigger)]
        else:
            assert not machine.can(trigger)
            with pytest.raises(IllegalTransition) as caught:
                machine.trigger(trigger)
            assert machine.state is before
            assert caught.value.state is before
            assert caught.value.trigger is trigger
            assert set(caught.value.allowed) == allowed
            assert trigger not in caught.value.allowed
        assert set(machine.allowed_triggers()) == {t for s, t in expected if s == machine.state}
        assert machine.is_terminal == (machine.state in terminal)


WALK = settings(max_examples=150, deadline=None)


@WALK
@given(st.lists(st.sampled_from(OrderTrigger), max_size=25))
def test_order_lifecycle_random_walk(triggers: list[OrderTrigger]) -> None:
    check_random_walk(ORDER_LIFECYCLE, EXPECTED_ORDER, triggers)


@WALK
@given(st.lists(st.sampled_from(SignalTrigger), max_size=25))
def test_signal_lifecycle_random_walk(triggers: list[SignalTrigger]) -> None:
    check_random_walk(SIGNAL_LIFECYCLE, EXPECTED_SIGNAL, triggers)


@WALK
@given(st.lists(st.sampled_from(StrategyTrigger), max_size=25))
def test_strategy_lifecycle_random_walk(triggers: list[StrategyTrigger]) -> None:
    check_random_walk(STRATEGY_LIFECYCLE, EXPECTED_STRATEGY, triggers)


@WALK
@given(st.lists(st.sampled_from(PhaseTrigger), max_size=25))
def test_trade_phases_random_walk(triggers: list[PhaseTrigger]) -> None:
    check_random_walk(TRADE_PHASES, EXPECTED_PHASES, triggers)


ORDER_TERMINAL = {OS.FILLED, OS.CANCELLED, OS.REJECTED}


@WALK
@given(st.lists(st.sampled_from(OrderTrigger), max_size=25))
def test_order_never_leaves_a_terminal_status(triggers: list[OrderTrigger]) -> None:
    machine = StateMachine(ORDER_LIFECYCLE)
    terminal_at = None
    for trigger in triggers:
        if machine.can(trigger):
            machine.trigger(trigger)
        if machine.state in ORDER_TERMINAL and terminal_at is None:
            terminal_at = machine.state
    if terminal_at is not None:
        assert machine.state is terminal_at


# -- the random walk judges the table, not itself ----------------------------------------


def altered(table: TransitionTable, changes: dict) -> TransitionTable:
    """A copy of ``table`` with some transitions replaced (value) or removed (None)."""
    transitions = {**dict(table.transitions()), **changes}
    kept = {key: target for key, target in transitions.items() if target is not None}
    return TransitionTable(table.name, kept, initial=table.initial, states=table.states)


WRONG_TABLES = [
    pytest.param(  # a wrong target
        altered(STRATEGY_LIFECYCLE, {(G.PAUSED, GT.RESUME): G.PAPER}),
        EXPECTED_STRATEGY,
        [GT.START_BACKTEST, GT.START_PAPER, GT.GO_LIVE, GT.PAUSE, GT.RESUME],
        id="wrong-target",
    ),
    pytest.param(  # an extra transition
        altered(ORDER_LIFECYCLE, {(OS.PARTIAL, OT.REJECT): OS.REJECTED}),
        EXPECTED_ORDER,
        [OT.SUBMIT, OT.PARTIAL_FILL, OT.REJECT],
        id="extra-transition",
    ),
    pytest.param(  # a missing transition
        altered(SIGNAL_LIFECYCLE, {(S.PENDING, ST.EXPIRE): None}),
        EXPECTED_SIGNAL,
        [ST.EXPIRE],
        id="missing-transition",
    ),
    pytest.param(  # a missing transition out of a state nobody triggers from
        altered(TRADE_PHASES, {(P.SETTLEMENT, PT.POSITION_CLOSED): None}),
        EXPECTED_PHASES,
        [PT.SIGNAL_ACCEPTED, PT.RISK_APPROVED, PT.ORDER_FILLED, PT.EXIT_TRIGGERED],
        id="missing-exit",
    ),
]


@pytest.mark.parametrize(("table", "expected", "triggers"), WRONG_TABLES)
def test_random_walk_check_fails_on_a_wrong_transition_in_the_table(
    table: TransitionTable, expected: dict, triggers: list
) -> None:
    with pytest.raises(AssertionError):
        check_random_walk(table, expected, triggers)


@pytest.mark.parametrize(("table", "triggers", "states", "expected", "initial", "terminal"), TABLES)
def test_random_walk_check_passes_on_the_real_tables_along_every_transition(
    table: TransitionTable,
    triggers: type[StrEnum],
    states: type[StrEnum],
    expected: dict,
    initial: StrEnum,
    terminal: set,
) -> None:
    # every trigger from the initial state, then each expected transition reached by a path
    check_random_walk(table, expected, list(triggers))
    for (source, trigger), _ in expected.items():
        path = path_to(expected, initial, source)
        check_random_walk(table, expected, [*path, trigger, *triggers])


def path_to(expected: dict, start: StrEnum, goal: StrEnum) -> list:
    """The triggers of a shortest path from ``start`` to ``goal`` in ``expected``."""
    paths: dict = {start: []}
    frontier = [start]
    while frontier and goal not in paths:
        state = frontier.pop(0)
        for (source, trigger), target in expected.items():
            if source == state and target not in paths:
                paths[target] = [*paths[state], trigger]
                frontier.append(target)
    return paths[goal]
