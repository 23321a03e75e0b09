"""``omoitrade strategy``: the document's schema and validation, and stored strategies
(rule documents or Python files): add, list, update (a new version), versions, show,
rollback, lifecycle."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from omoitrade.cli.console import console, errors
from omoitrade.cli.options import decimal_option, open_database
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.errors import NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.identifiers import PortfolioId
from omoitrade.runtime.approval_store import ApprovalStore
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.strategy.document import StrategyDocumentError, validate_document
from omoitrade.strategy.lifecycle import GoLiveMinimums
from omoitrade.strategy.python_code import python_document, validate_python_document
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
def validate(
    path: Annotated[Path, typer.Argument(help="strategy document (JSON) or Python file")],
) -> None:
    """Check a strategy document, or that a Python file loads with one Strategy subclass
    whose parameters' defaults it accepts: 'valid: NAME', or one line per problem and
    exit 1."""
    if path.suffix.lower() == ".py":
        _validate_python(path)
        return
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


def _validate_python(path: Path) -> None:
    # the instruments and timeframe are the store's concern (strategy add), not the file's
    try:
        document = validate_python_document(python_document(path, ["SIM:ANY"], "1m"))
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


def _document(
    path: Path,
    instruments: list[str] | None = None,
    timeframe: str | None = None,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The document to store from a file: a rule document as it is, or a Python file's
    (``strategy.python_code``) trading ``instruments`` on ``timeframe`` bars; an update
    (``base``: the current version's document) keeps what the options do not change."""
    if path.suffix.lower() == ".py":
        kept = base if base is not None and "python" in base else {}
        chosen = instruments or kept.get("instruments")
        frame = timeframe or kept.get("timeframe")
        if not chosen or not frame:
            raise ValidationError(
                "file", f"{path.name}: a Python strategy needs --instrument and --timeframe"
            )
        document = python_document(path, list(chosen), frame, name=kept.get("name"))
        stored = kept.get("parameters", {})
        document["parameters"] |= {k: v for k, v in stored.items() if k in document["parameters"]}
        return document
    if instruments or timeframe:
        raise ValidationError("file", f"{path.name}: a rule document names its own instruments")
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


INSTRUMENT_HELP = "a Python strategy's instrument, EXCHANGE:SYMBOL (repeat for more)"
TIMEFRAME_HELP = "a Python strategy's bar length, e.g. 1m"


@strategy_app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="strategy document (JSON) or Python file")],
    portfolio: Annotated[
        str | None, typer.Option(help="portfolio id (default: the only one)")
    ] = None,
    author: Annotated[str, typer.Option(help="who makes the change")] = "cli",
    instrument: Annotated[list[str] | None, typer.Option(help=INSTRUMENT_HELP)] = None,
    timeframe: Annotated[str | None, typer.Option(help=TIMEFRAME_HELP)] = None,
) -> None:
    """Store a new strategy (DRAFT, version 1) from a strategy document or a Python file
    (its one Strategy subclass, its parameters' defaults, with --instrument and
    --timeframe)."""
    service, _ = _service()
    document = _document(path, instrument, timeframe)
    strategy, version = service.create(_portfolio(service, portfolio), document, author)
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
    path: Annotated[Path, typer.Argument(help="the new strategy document (JSON) or Python file")],
    note: Annotated[str, typer.Option(help="why it changed")] = "",
    author: Annotated[str, typer.Option(help="who makes the change")] = "cli",
    instrument: Annotated[list[str] | None, typer.Option(help=INSTRUMENT_HELP)] = None,
    timeframe: Annotated[str | None, typer.Option(help=TIMEFRAME_HELP)] = None,
) -> None:
    """Store a change as a new version and print its diff (a Python file keeps the
    stored instruments, timeframe and parameters unless options change them)."""
    service, _ = _service()
    found = service.find(name)
    current = service.history(found.id)[-1].document
    document = _document(path, instrument, timeframe, base=current)
    version = service.change(found.id, document, author, note)
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


@strategy_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="strategy name or id")],
    version: Annotated[int | None, typer.Option(help="the version (default: the current)")] = None,
) -> None:
    """A stored version's document as JSON: save it to backtest or edit that version
    (after ``optimize --save-best``, say)."""
    service, _ = _service()
    history = service.history(service.find(name).id)
    chosen = (
        history[-1] if version is None else next((v for v in history if v.version == version), None)
    )
    if chosen is None:
        raise NotFound("strategy version", f"{name} version {version}")
    typer.echo(json.dumps(chosen.document, indent=2))


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


_DEFAULTS = GoLiveMinimums()


def _minimum(envvar: str, text: str) -> Any:
    """A go-live minimum option, also read from the environment variable ``envvar``."""
    return typer.Option(envvar=envvar, show_envvar=True, help=f"go-live: {text}")


@strategy_app.command("lifecycle")
def lifecycle(
    name: Annotated[str, typer.Argument(help="strategy name or id")],
    action: Annotated[str, typer.Argument(help="|".join(LIFECYCLE_ACTIONS))],
    reason: Annotated[str, typer.Option(help="why (pause, resume, stop)")] = "",
    actor: Annotated[str, typer.Option(help="who asks")] = "cli",
    min_paper_days: Annotated[
        str | None,
        _minimum("OMOI_GO_LIVE_MIN_PAPER_DAYS", f"days of paper trading ({_DEFAULTS.paper_days})"),
    ] = None,
    min_sharpe: Annotated[
        str | None,
        _minimum(
            "OMOI_GO_LIVE_MIN_SHARPE", f"paper Sharpe ratio, or 'off' ({_DEFAULTS.min_sharpe})"
        ),
    ] = None,
    max_drawdown: Annotated[
        str | None,
        _minimum(
            "OMOI_GO_LIVE_MAX_DRAWDOWN",
            f"paper drawdown, a fraction, or 'off' ({_DEFAULTS.max_drawdown})",
        ),
    ] = None,
    min_trades: Annotated[
        str | None,
        _minimum("OMOI_GO_LIVE_MIN_TRADES", f"settled paper trades ({_DEFAULTS.min_trades})"),
    ] = None,
) -> None:
    """Move a strategy through its lifecycle; go-live files an approval request if the
    version's paper record meets the go-live minimums (options or environment)."""
    if action not in LIFECYCLE_ACTIONS:
        raise ValidationError("action", f"must be one of {', '.join(LIFECYCLE_ACTIONS)}", action)
    service, _ = _service()
    strategy_id = service.find(name).id
    if action == "go-live":
        service.minimums = _minimums(
            service.minimums, min_paper_days, min_sharpe, max_drawdown, min_trades
        )
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


def _minimums(
    base: GoLiveMinimums,
    paper_days: str | None,
    sharpe: str | None,
    drawdown: str | None,
    trades: str | None,
) -> GoLiveMinimums:
    """``base`` with the minimums given (None: kept; 'off': not checked)."""
    changes: dict[str, Any] = {}
    if paper_days is not None:
        changes["paper_days"] = float(_bound("min-paper-days", paper_days, at_least=0))
    if sharpe is not None:
        changes["min_sharpe"] = _optional("min-sharpe", sharpe)
    if drawdown is not None:
        changes["max_drawdown"] = _optional("max-drawdown", drawdown, at_least=0, at_most=1)
    if trades is not None:
        count = _bound("min-trades", trades, at_least=0)
        if count != count.to_integral_value():
            raise ValidationError("--min-trades", "must be a whole number", trades)
        changes["min_trades"] = int(count)
    return replace(base, **changes)


def _optional(
    name: str, text: str, at_least: float | None = None, at_most: float | None = None
) -> float | None:
    if text.strip().lower() == "off":
        return None
    return float(_bound(name, text, at_least, at_most))


def _bound(
    name: str, text: str, at_least: float | None = None, at_most: float | None = None
) -> Decimal:
    value = decimal_option(name, text)
    if at_least is not None and value < at_least:
        raise ValidationError(f"--{name}", f"must be at least {at_least}", text)
    if at_most is not None and value > at_most:
        raise ValidationError(f"--{name}", f"must be at most {at_most}", text)
    return value


def _describe(change: dict[str, Any]) -> str:
    op, path = change["op"], change["path"]
    if op == "add":
        return f"+ {path} = {json.dumps(change['new'])}"
    if op == "remove":
        return f"- {path} (was {json.dumps(change['old'])})"
    return f"~ {path}: {json.dumps(change['old'])} -> {json.dumps(change['new'])}"
