"""A generic finite-state machine driven by a transition table.

A :class:`TransitionTable` maps ``(state, trigger)`` to the next state and is
shared, immutable and stateless, so a million orders can use one table and
keep only their current state. :class:`StateMachine` wraps a table and a
current state for things that want an object. An illegal transition raises
:class:`~omoitrade.core.errors.IllegalTransition` naming the state, the trigger
and the triggers allowed from that state; state is never silently overwritten.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from types import MappingProxyType
from typing import Generic, TypeVar

from omoitrade.core.errors import IllegalTransition, ValidationError

S = TypeVar("S", bound=Hashable)
T = TypeVar("T", bound=Hashable)


class TransitionTable(Generic[S, T]):
    """The allowed transitions of one kind of machine, checked once at build time."""

    __slots__ = ("_allowed", "_next", "initial", "name", "states", "terminal")

    def __init__(
        self,
        name: str,
        transitions: Mapping[tuple[S, T], S],
        initial: S,
        states: Iterable[S] | None = None,
    ) -> None:
        known = set(states) if states is not None else None
        allowed: dict[S, list[T]] = {}
        for (source, trigger), target in transitions.items():
            for state in (source, target):
                if known is not None and state not in known:
                    raise ValidationError("transitions", f"state {state!r} is not a declared state")
            allowed.setdefault(source, []).append(trigger)
        if known is not None and initial not in known:
            raise ValidationError("initial", f"state {initial!r} is not a declared state")
        derived = {source for source, _ in transitions} | set(transitions.values())
        all_states = known if known is not None else derived
        self.name = name
        self.initial = initial
        self.states: frozenset[S] = frozenset(all_states | {initial})
        self._next: Mapping[tuple[S, T], S] = MappingProxyType(dict(transitions))
        self._allowed: Mapping[S, tuple[T, ...]] = MappingProxyType(
            {state: tuple(triggers) for state, triggers in allowed.items()}
        )
        self.terminal: frozenset[S] = frozenset(s for s in self.states if s not in self._allowed)

    def next_state(self, state: S, trigger: T) -> S:
        """The state ``trigger`` leads to from ``state``; raises IllegalTransition if none."""
        try:
            return self._next[(state, trigger)]
        except KeyError:
            raise IllegalTransition(
                self.name, state, trigger, self.allowed_triggers(state)
            ) from None

    def can(self, state: S, trigger: T) -> bool:
        """Whether ``trigger`` is allowed in ``state``."""
        return (state, trigger) in self._next

    def allowed_triggers(self, state: S) -> tuple[T, ...]:
        """The triggers allowed in ``state``, in table order (empty for a terminal state)."""
        return self._allowed.get(state, ())

    def is_terminal(self, state: S) -> bool:
        """Whether no trigger leads out of ``state``."""
        return state in self.terminal

    def transitions(self) -> Mapping[tuple[S, T], S]:
        """The whole table, read-only."""
        return self._next


class StateMachine(Generic[S, T]):
    """A current state moved only through a :class:`TransitionTable`."""

    __slots__ = ("state", "table")

    def __init__(self, table: TransitionTable[S, T], state: S | None = None) -> None:
        self.table = table
        self.state: S = table.initial if state is None else state
        if self.state not in table.states:
            raise ValidationError("state", f"{self.state!r} is not a state of {table.name}")

    def trigger(self, trigger: T) -> S:
        """Apply ``trigger`` and return the new state."""
        self.state = self.table.next_state(self.state, trigger)
        return self.state

    def can(self, trigger: T) -> bool:
        return self.table.can(self.state, trigger)

    def allowed_triggers(self) -> tuple[T, ...]:
        return self.table.allowed_triggers(self.state)

    @property
    def is_terminal(self) -> bool:
        return self.table.is_terminal(self.state)
