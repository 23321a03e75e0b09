"""``omoitrade strategy``: the strategy document's schema and validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from omoitrade.cli.console import console, errors
from omoitrade.strategy.document import StrategyDocumentError, validate_document
from omoitrade.strategy.schema import strategy_schema

strategy_app = typer.Typer(help="Strategy documents: schema and validation.", no_args_is_help=True)


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
