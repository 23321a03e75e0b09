"""Tests for the generic finite-state machine: TransitionTable and StateMachine."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import IllegalTransition, ValidationError
from omoitrade.core.fsm import StateMachine, TransitionTable


class Light(StrEnum):
    OFF = "OFF"
    ON = "ON"
    BROKEN = "BROKEN"
    SPARE = "SPARE"  # declared but unreachable and without exits


class Switch(StrEnum):
    PRESS = "PRESS"
    HAMMER = "HAMMER"
    FIX = "FIX"


LAMP_TRANSITIONS = {
    (Light.OFF, Switch.PRESS): Light.ON,
    (Light.OFF, Switch.HAMMER): Light.BROKEN,
    (Light.ON, Switch.PRESS): Light.OFF,
    (Light.ON, Switch.HAMMER): Light.BROKEN,
}


def lamp() -> TransitionTable[Light, Switch]:
    return TransitionTable("Lamp", LAMP_TRANSITIONS, initial=Light.OFF, states=Light)


# -- TransitionTable: construction ---------------------------------------------


def test_undeclared_target_state_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TransitionTable("T", {("a", "go"): "b"}, initial="a", states=["a"])

    assert caught.value.field == "transitions"
    assert caught.value.rule == "state 'b' is not a declared state"


def test_undeclared_source_state_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TransitionTable("T", {("x", "go"): "a"}, initial="a", states=["a"])

    assert caught.value.field == "transitions"
    assert caught.value.rule == "state 'x' is not a declared state"


def test_undeclared_initial_state_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TransitionTable("T", {("a", "go"): "b"}, initial="z", states=["a", "b"])

    assert caught.value.field == "initial"
    assert caught.value.rule == "state 'z' is not a declared state"


def test_states_are_the_declared_ones_including_unreachable_ones() -> None:
    assert lamp().states == frozenset(Light)


def test_states_are_derived_from_the_transitions_when_not_declared() -> None:
    table = TransitionTable("T", {("a", "go"): "b", ("b", "go"): "c"}, initial="start")

    assert table.states == frozenset({"a", "b", "c", "start"})
    assert table.initial == "start"
    assert table.name == "T"


def test_terminal_states_are_the_states_without_exits() -> None:
    table = lamp()

    assert table.terminal == frozenset({Light.BROKEN, Light.SPARE})
    assert table.is_terminal(Light.BROKEN)
    assert table.is_terminal(Light.SPARE)
    assert not table.is_terminal(Light.OFF)
    assert not table.is_terminal(Light.ON)


def test_a_self_loop_keeps_a_state_non_terminal() -> None:
    table = TransitionTable("T", {("a", "poke"): "a"}, initial="a")

    assert table.terminal == frozenset()
    assert table.next_state("a", "poke") == "a"


def test_allowed_triggers_are_in_table_order() -> None:
    table = TransitionTable(
        "T",
        {("a", "z"): "b", ("a", "m"): "b", ("b", "q"): "a", ("a", "b"): "a"},
        initial="a",
    )

    assert table.allowed_triggers("a") == ("z", "m", "b")
    assert table.allowed_triggers("b") == ("q",)


def test_allowed_triggers_of_a_terminal_or_unknown_state_are_empty() -> None:
    table = lamp()

    assert table.allowed_triggers(Light.BROKEN) == ()
    assert table.allowed_triggers("nowhere") == ()  # type: ignore[arg-type]


def test_transitions_are_the_whole_table_and_read_only() -> None:
    table = lamp()

    assert dict(table.transitions()) == LAMP_TRANSITIONS
    with pytest.raises(TypeError):
        table.transitions()[(Light.BROKEN, Switch.FIX)] = Light.OFF  # type: ignore[index]


def test_the_table_does_not_follow_later_changes_of_the_source_mapping() -> None:
    source = {("a", "go"): "b"}
    table = TransitionTable("T", source, initial="a")

    source[("b", "go")] = "a"

    assert not table.can("b", "go")


# -- TransitionTable: moves ----------------------------------------------------


def test_next_state_follows_the_table() -> None:
    table = lamp()

    assert table.next_state(Light.OFF, Switch.PRESS) is Light.ON
    assert table.next_state(Light.ON, Switch.PRESS) is Light.OFF
    assert table.next_state(Light.ON, Switch.HAMMER) is Light.BROKEN


def test_can_says_whether_a_trigger_is_allowed() -> None:
    table = lamp()

    assert table.can(Light.OFF, Switch.PRESS)
    assert not table.can(Light.OFF, Switch.FIX)
    assert not table.can(Light.BROKEN, Switch.PRESS)


def test_illegal_transition_names_machine_state_trigger_and_allowed_triggers() -> None:
    with pytest.raises(IllegalTransition) as caught:
        lamp().next_state(Light.ON, Switch.FIX)

    error = caught.value
    assert error.machine == "Lamp"
    assert error.state is Light.ON
    assert error.trigger is Switch.FIX
    assert error.allowed == (Switch.PRESS, Switch.HAMMER)
    assert str(error) == "Lamp: trigger FIX is not allowed in state ON (allowed: PRESS, HAMMER)"
    assert error.code == "illegal-transition"


def test_illegal_transition_from_a_terminal_state_allows_none() -> None:
    with pytest.raises(IllegalTransition) as caught:
        lamp().next_state(Light.BROKEN, Switch.FIX)

    assert caught.value.allowed == ()
    assert str(caught.value) == "Lamp: trigger FIX is not allowed in state BROKEN (allowed: none)"


def test_illegal_transition_as_plain_data_uses_enum_values() -> None:
    with pytest.raises(IllegalTransition) as caught:
        lamp().next_state(Light.ON, Switch.FIX)

    assert caught.value.to_dict() == {
        "code": "illegal-transition",
        "message": "Lamp: trigger FIX is not allowed in state ON (allowed: PRESS, HAMMER)",
        "machine": "Lamp",
        "state": "ON",
        "trigger": "FIX",
        "allowed": ["PRESS", "HAMMER"],
    }


# -- StateMachine ----------------------------------------------------------------


def test_machine_starts_in_the_initial_state() -> None:
    machine = StateMachine(lamp())

    assert machine.state is Light.OFF
    assert not machine.is_terminal


def test_machine_can_start_in_a_given_state() -> None:
    machine = StateMachine(lamp(), Light.ON)

    assert machine.state is Light.ON


def test_machine_refuses_a_state_outside_its_table() -> None:
    with pytest.raises(ValidationError) as caught:
        StateMachine(lamp(), "MELTED")  # type: ignore[arg-type]

    assert caught.value.field == "state"
    assert caught.value.rule == "'MELTED' is not a state of Lamp"


def test_machine_trigger_moves_and_returns_the_new_state() -> None:
    machine = StateMachine(lamp())

    assert machine.trigger(Switch.PRESS) is Light.ON
    assert machine.state is Light.ON
    assert machine.trigger(Switch.HAMMER) is Light.BROKEN
    assert machine.is_terminal


def test_machine_illegal_trigger_raises_and_keeps_the_state() -> None:
    machine = StateMachine(lamp(), Light.ON)

    with pytest.raises(IllegalTransition):
        machine.trigger(Switch.FIX)

    assert machine.state is Light.ON


def test_machine_can_and_allowed_triggers_follow_the_current_state() -> None:
    machine = StateMachine(lamp())

    assert machine.can(Switch.PRESS)
    assert not machine.can(Switch.FIX)
    assert machine.allowed_triggers() == (Switch.PRESS, Switch.HAMMER)

    machine.trigger(Switch.HAMMER)

    assert not machine.can(Switch.PRESS)
    assert machine.allowed_triggers() == ()
    assert machine.is_terminal


def test_machines_sharing_a_table_keep_their_own_state() -> None:
    table = lamp()
    first, second = StateMachine(table), StateMachine(table)

    first.trigger(Switch.PRESS)

    assert first.state is Light.ON
    assert second.state is Light.OFF


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(Switch), max_size=20))
def test_machine_only_ever_moves_along_table_entries(triggers: list[Switch]) -> None:
    table = lamp()
    machine = StateMachine(table)

    for trigger in triggers:
        before = machine.state
        if table.can(before, trigger):
            after = machine.trigger(trigger)
            assert table.transitions()[(before, trigger)] == after
        else:
            with pytest.raises(IllegalTransition):
                machine.trigger(trigger)
            assert machine.state == before
        assert machine.state in table.states
