"""Reports the simulated exchange writes when it refuses something."""

from __future__ import annotations

from datetime import datetime

from omoitrade.model.enums import ExecType, OrderStatus
from omoitrade.model.money import ZERO
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
)


def order_rejected(
    report_id: int, command: SubmitOrder, reason: str, at: datetime
) -> ExecutionReport:
    """A new order refused before it ever worked."""
    return ExecutionReport(
        report_id=report_id,
        exec_type=ExecType.REJECTED,
        timestamp=at,
        account_id=command.account_id,
        instrument_id=command.instrument_id,
        client_order_id=command.client_order_id,
        venue_order_id=None,
        side=command.side,
        order_type=command.order_type,
        time_in_force=command.time_in_force,
        order_status=OrderStatus.REJECTED,
        quantity=command.quantity,
        filled_quantity=ZERO,
        leaves_quantity=ZERO,
        price=command.price,
        stop_price=command.stop_price,
        reason=reason,
    )


def command_refused(
    report_id: int,
    command: AmendOrder | CancelOrder,
    reason: str,
    status: OrderStatus | None,
    at: datetime,
) -> CommandRejected:
    """A cancel or amend refused; ``status`` is the order's, if the venue knows it."""
    return CommandRejected(
        report_id=report_id,
        timestamp=at,
        account_id=command.account_id,
        instrument_id=command.instrument_id,
        client_order_id=command.client_order_id,
        command="AMEND" if isinstance(command, AmendOrder) else "CANCEL",
        reason=reason,
        order_status=status,
    )
