"""``omoitrade approvals``: list, approve and reject approval requests in the store.

Decisions are written to the store (audited, with the actor); a running session applies
them within a second (its desk polls the store).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from omoitrade.cli.console import console
from omoitrade.cli.options import open_database
from omoitrade.core.approvals import ApprovalDesk, ApprovalRequest, ApprovalStatus
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.identifiers import StrategyId
from omoitrade.runtime.approval_store import decide_in_store
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.store import Database

approvals_app = typer.Typer(
    help="Approval requests: list them, approve or reject one (a running session applies it).",
    no_args_is_help=True,
)

ReasonOption = Annotated[str | None, typer.Option("--reason", help="why (required)")]
ActorOption = Annotated[str, typer.Option("--actor", help="who decides")]
IdArgument = Annotated[str, typer.Argument(help="the approval request's id")]


@approvals_app.command("list")
def list_requests(
    all_: Annotated[bool, typer.Option("--all", help="decided ones too")] = False,
) -> None:
    """The requests waiting for a decision (with --all, every request)."""
    database = open_database()
    try:
        with database.transaction(write=False) as uow:
            if all_:
                t = uow.approvals.table
                requests = uow.approvals.list(order_by=[t.c.created_at])
            else:
                requests = uow.approvals.pending()
        now = database.clock.utc_now()
    finally:
        database.dispose()
    if not requests:
        console.print("no approval requests" if all_ else "no approval requests waiting")
        return
    table = Table(title="approval requests", title_justify="left")
    for column in ("id", "gate", "subject", "requested action", "facts", "age", "expires"):
        table.add_column(column, overflow="fold")
    if all_:
        table.add_column("decision", overflow="fold")
    for request in requests:
        row = [
            str(request.id),
            request.gate,
            f"{request.subject_type} {request.subject_id}",
            request.requested_action,
            _facts(request.facts),
            _duration(now - request.created_at),
            _expiry(request, now),
        ]
        if all_:
            row.append(_decision(request))
        table.add_row(*row)
    console.print(table)


@approvals_app.command("approve")
def approve(
    approval_id: IdArgument, reason: ReasonOption = None, actor: ActorOption = "cli"
) -> None:
    """Approve a waiting request."""
    _decide(approval_id, True, reason, actor)


@approvals_app.command("reject")
def reject(
    approval_id: IdArgument, reason: ReasonOption = None, actor: ActorOption = "cli"
) -> None:
    """Reject a waiting request."""
    _decide(approval_id, False, reason, actor)


def _decide(approval_id: str, approve: bool, reason: str | None, actor: str) -> None:
    if reason is None or not reason.strip():
        raise ValidationError("--reason", "is required: say why")
    database = open_database()
    try:
        request = decide_in_store(
            database, approval_id, approve=approve, actor=actor, reason=reason
        )
        if request.subject_type == "strategy" and request.status is ApprovalStatus.APPROVED:
            _go_live(database, request)
    finally:
        database.dispose()
    console.print(
        f"{request.status.value.lower()} {request.id} ({request.requested_action}) "
        f"by {actor}; a running session applies it within a second",
        highlight=False,
    )


def _go_live(database: Database, request: ApprovalRequest) -> None:
    """An approved go-live takes effect now, whether or not a session runs."""
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns)
    service = StrategyService(database, clock, ApprovalDesk(clock, ids), ids=ids)
    service.on_live_decision(request)
    strategy = service.get(StrategyId.parse(request.subject_id))
    console.print(f"{strategy.name} is {strategy.status.value} (version {strategy.version})")


def _facts(facts: dict[str, Any], limit: int = 80) -> str:
    """The plain facts on one line (cut at ``limit``), then one line per nested fact: a
    go-live check as ``checks.sharpe: 1.4 >= 1.0 ok``, a list as ``unmet: a, b``."""
    text = ", ".join(f"{k}={v}" for k, v in facts.items() if not isinstance(v, dict | list))
    lines = [text if len(text) <= limit else text[: limit - 1] + "…"] if text else []
    for key, value in facts.items():
        if isinstance(value, dict | list):
            lines.extend(_nested(key, value))
    return "\n".join(lines)


def _nested(path: str, value: Any) -> list[str]:
    if isinstance(value, list):
        return [f"{path}: {', '.join(str(v) for v in value) or '-'}"]
    if not isinstance(value, dict):
        return [f"{path}={value}"]
    if "met" in value and ("minimum" in value or "maximum" in value):
        bound = f">= {value['minimum']}" if "minimum" in value else f"<= {value['maximum']}"
        verdict = "ok" if value["met"] else "NOT MET"
        shown = value.get("value")
        if shown is None and value.get("unavailable"):
            shown = f"not available ({value['unavailable']})"
        return [f"{path}: {shown} {bound} {verdict}"]
    return [line for key, item in value.items() for line in _nested(f"{path}.{key}", item)]


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "-" + _duration(-delta)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86_400}d"


def _expiry(request: ApprovalRequest, now: datetime) -> str:
    if not request.is_open:
        return request.expires_at.isoformat(timespec="seconds")
    if request.expires_at <= now:
        return "expired"
    return "in " + _duration(request.expires_at - now)


def _decision(request: ApprovalRequest) -> str:
    if request.is_open:
        return "PENDING"
    return f"{request.status} by {request.decided_by}: {request.decision_reason}"
