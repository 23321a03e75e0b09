"""``omoitrade strategy``: the document's schema and validation, and stored strategies:
add, list, update (a new version), versions, rollback, lifecycle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from omoitrade.cli.console import console, errors
from omoitrade.cli.options import open_database
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.identifiers import PortfolioId
from omoitrade.runtime.approval_store import ApprovalStore
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.strategy.document import StrategyDocumentError, validate_document
from omoitrade.strategy.schema import strategy_schema

strategy_app = typer.Typer(
    help="Strategy documents (schema, validation) and stored strategies (versions, lifecycle).",
    no_args_is_help=True,
)


@strategy_app.command("schema")
def show_schema() -> None:
    """Print the JSON Schema of the strategy document."""
    typer.echo(json.dumps(strategy_schema(), indent=2))


@strategy_app.command("validate")
def validate(path: Annotated[Path, typer.Argument(help="strategy document (JSON)")]) -> None:
    """Check a strategy document: 'valid: NAME', or one line per problem and exit 1."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        errors.print(
            f"error: cannot read {path}: {getattr(error, 'strerror', None) or error}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        errors.print(
            f"error: {path.name} line {error.lineno}, column {error.colno}: "
            f"invalid JSON ({error.msg})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    try:
        document = validate_document(data)
    except StrategyDocumentError as error:
        for problem in error.problems:
            errors.print(f"{path.name}: {problem}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"valid: {document.name}", highlight=False, markup=False, soft_wrap=True)


# --- strategies in the store: versions and lifecycle ------------------------------------------
LIFECYCLE_ACTIONS = ("backtest", "paper", "go-live", "pause", "resume", "stop")


def _service() -> tuple[StrategyService, ApprovalStore]:
    """The strategy service on the configured database (migrated), its approvals stored."""
    database = open_database()
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns)
    desk = ApprovalDesk(clock, ids)
    store = ApprovalStore(database)
    store.attach(desk)
    return StrategyService(database, clock, desk, ids=ids), store


def _document(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationError("file", f"cannot read {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise ValidationError(
            "file", f"{path.name} line {error.lineno}, column {error.colno}: invalid JSON"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError("file", f"{path.name} must hold a JSON object")
    return data


def _portfolio(service: StrategyService, portfolio: str | None) -> PortfolioId:
    with service.database.transaction(write=False) as uow:
        if portfolio is not None:
            return uow.portfolios.get(PortfolioId.parse(portfolio)).id
        found = uow.portfolios.list(limit=2)
    if len(found) != 1:
        raise ValidationError("portfolio", "give --portfolio: there is not exactly one portfolio")
    return found[0].id


@strategy_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="strategy document (JSON)")],
    portfolio: Annotated[
        str | None, typer.Option(help="portfolio id (default: the only one)")
    ] = None,
    author: Annotated[str, typer.Option(help="who makes the change")] = "cli",
) -> None:
    """Store a new strategy (DRAFT, version 1) from a strategy document."""
    service, _ = _service()
    strategy, version = service.create(_portfolio(service, portfolio), _document(path), author)
    console.print(f"added {strategy.name} ({strategy.id}) version {version.version}, DRAFT")


@strategy_app.command("list")
def list_strategies() -> None:
    """The stored strategies with their status and current version."""
    service, _ = _service()
    with service.database.transaction(write=False) as uow:
        found = uow.strategies.list(order_by=[uow.strategies.table.c.name])
    table = Table("name", "id", "status", "version", "updated")
    for s in found:
        updated = s.updated_at.isoformat(timespec="seconds") if s.updated_at else "-"
        table.add_row(s.name, str(s.id), s.status.value, str(s.version), updated)
    console.print(table)


@strategy_app.command("update")
def update(
    name: Annotated[str, typer.Argument(help="strategy name or id")],
    path: Annotated[Path, typer.Argument(help="the new strategy document (JSON)")],
    note: Annotated[str, typer.Option(help="why it changed")] = "",
    author: Annotated[str, typer.Option(help="who makes the change")] = "cli",
) -> None:
    """Store a change as a new version and print its diff."""
    service, _ = _service()
    version = service.change(service.find(name).id, _document(path), author, note)
    console.print(f"version {version.version}:")
    for change in version.diff:
        console.print(f"  {_describe(change)}", highlight=False, markup=False)


@strategy_app.command("versions")
def versions(name: Annotated[str, typer.Argument(help="strategy name or id")]) -> None:
    """Every version of a strategy: who, when, why, and what changed."""
    service, _ = _service()
    table = Table("version", "author", "created", "note", "changes")
    for v in service.history(service.find(name).id):
        restored = f"restores {v.restored_from}; " if v.restored_from else ""
        changes = "; ".join(_describe(c) for c in v.diff[:3]) + (" ..." if len(v.diff) > 3 else "")
        table.add_row(
            str(v.version),
            v.author,
            v.created_at.isoformat(timespec="seconds"),
            v.change_note,
            restored + (changes or "-"),
        )
    console.print(table)


@strategy_app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="strategy name or id")],
    to: Annotated[int, typer.Option("--to", help="the version to re-activate")],
    note: Annotated[str, typer.Option(help="why")] = "",
    author: Annotated[str, typer.Option(help="who makes the change")] = "cli",
) -> None:
    """Re-activate an earlier version's content as a new version."""
    service, _ = _service()
    version = service.rollback(service.find(name).id, to, author, note)
    console.print(f"version {version.version} restores version {to}")


@strategy_app.command("lifecycle")
def lifecycle(
    name: Annotated[str, typer.Argument(help="strategy name or id")],
    action: Annotated[str, typer.Argument(help="|".join(LIFECYCLE_ACTIONS))],
    reason: Annotated[str, typer.Option(help="why (pause, resume, stop)")] = "",
    actor: Annotated[str, typer.Option(help="who asks")] = "cli",
) -> None:
    """Move a strategy through its lifecycle; go-live files an approval request."""
    if action not in LIFECYCLE_ACTIONS:
        raise ValidationError("action", f"must be one of {', '.join(LIFECYCLE_ACTIONS)}", action)
    service, _ = _service()
    strategy_id = service.find(name).id
    if action == "go-live":
        request = service.request_live(strategy_id, actor)
        console.print(
            f"approval {request.id} filed: {request.requested_action}; "
            f"decide with 'omoitrade approvals approve|reject {request.id}'",
            highlight=False,
        )
        return
    if action in ("pause", "resume", "stop") and not reason.strip():
        raise ValidationError("reason", f"{action} needs --reason")
    moves = {
        "backtest": lambda: service.start_backtest(strategy_id, actor),
        "paper": lambda: service.start_paper(strategy_id, actor),
        "pause": lambda: service.pause(strategy_id, actor, reason),
        "resume": lambda: service.resume(strategy_id, actor, reason),
        "stop": lambda: service.stop(strategy_id, actor, reason),
    }
    strategy = moves[action]()
    console.print(f"{strategy.name} is {strategy.status.value} (version {strategy.version})")


def _describe(change: dict[str, Any]) -> str:
    op, path = change["op"], change["path"]
    if op == "add":
        return f"+ {path} = {json.dumps(change['new'])}"
    if op == "remove":
        return f"- {path} (was {json.dumps(change['old'])})"
    return f"~ {path}: {json.dumps(change['old'])} -> {json.dumps(change['new'])}"
