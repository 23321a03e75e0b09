"""Order state transitions per second through the transition table.

Each cycle walks one order through a realistic life, PENDING -> SUBMITTED ->
PARTIAL -> PARTIAL -> FILLED (4 transitions), with a state-holding
``StateMachine`` (the object form) and with the shared, stateless table that
orders use (``ORDER_LIFECYCLE.next_state``). Target: 2,000,000 transitions/s.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, best_rate, parse_args, report
from omoitrade.core.fsm import StateMachine
from omoitrade.model.enums import OrderStatus
from omoitrade.model.state_machines import ORDER_LIFECYCLE, OrderTrigger

LIFE = (
    OrderTrigger.SUBMIT,
    OrderTrigger.PARTIAL_FILL,
    OrderTrigger.PARTIAL_FILL,
    OrderTrigger.FILL,
)


def table_transitions(orders: int) -> int:
    next_state = ORDER_LIFECYCLE.next_state
    pending = OrderStatus.PENDING
    submit, partial, fill = OrderTrigger.SUBMIT, OrderTrigger.PARTIAL_FILL, OrderTrigger.FILL
    for _ in range(orders):
        state = next_state(pending, submit)
        state = next_state(state, partial)
        state = next_state(state, partial)
        state = next_state(state, fill)
    if state is not OrderStatus.FILLED:
        raise AssertionError(f"ended in {state}")
    return orders * len(LIFE)


def machine_transitions(orders: int) -> int:
    for _ in range(orders):
        machine = StateMachine(ORDER_LIFECYCLE)
        trigger = machine.trigger
        for step in LIFE:
            trigger(step)
    if machine.state is not OrderStatus.FILLED:
        raise AssertionError(f"ended in {machine.state}")
    return orders * len(LIFE)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    orders, repeats = (50_000, 3) if args.quick else (500_000, 7)
    table_rate = best_rate(lambda: table_transitions(orders), repeats)
    machine_rate = best_rate(lambda: machine_transitions(orders), repeats)
    report(
        "fsm",
        [
            Figure("order_transitions_per_s", table_rate, "1/s", 2_000_000, "higher"),
            Figure("order_machine_transitions_per_s", machine_rate, "1/s", 2_000_000, "higher"),
        ],
    )


if __name__ == "__main__":
    main()
