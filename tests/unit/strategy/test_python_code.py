"""Python strategies as stored documents: built from a file, validated with every problem
named, and run from what was stored."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.document import StrategyDocument, StrategyDocumentError
from omoitrade.strategy.python_code import (
    PythonStrategyDocument,
    python_document,
    validate_python_document,
    validate_strategy_document,
)
from omoitrade.testing.strategies import FakeStrategyContext

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
BREAKOUT = EXAMPLES / "momentum_breakout.py"


def breakout(**changes: Any) -> dict[str, Any]:
    document = python_document(BREAKOUT, ["SIM:BTC/USD"], "1m")
    return {**document, **changes}


def problems_of(data: Any) -> list[str]:
    with pytest.raises(StrategyDocumentError) as caught:
        validate_python_document(data)
    return [str(problem) for problem in caught.value.problems]


def test_a_python_file_becomes_a_json_document_that_runs_as_stored() -> None:
    document = breakout()
    assert document["name"] == "MomentumBreakout"
    assert document["python"]["class"] == "MomentumBreakout"
    assert document["parameters"] == {"entry_period": 20, "exit_period": 10, "quantity": "1"}
    assert json.loads(json.dumps(document)) == document  # JSON all the way: it is stored
    checked = validate_python_document(document)
    assert checked.to_dict() == document
    strategy = checked.build(FakeStrategyContext())
    assert type(strategy).__name__ == "MomentumBreakout"
    assert strategy.params.quantity == Decimal(1) and strategy.name == "MomentumBreakout"


def test_the_dispatch_takes_rule_documents_and_python_documents() -> None:
    rule = json.loads((EXAMPLES / "sma_cross.json").read_text())
    assert isinstance(validate_strategy_document(rule), StrategyDocument)
    assert isinstance(validate_strategy_document(breakout()), PythonStrategyDocument)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"parameters": {"entry_period": 0}}, "parameters.entry_period: must be at least 1"),
        ({"parameters": {"bogus": 1}}, "parameters.bogus: unknown parameter"),
        ({"instruments": []}, "instruments: must be a non-empty list of instrument names"),
        ({"timeframe": "7m"}, "timeframe: must be one of"),
        ({"name": "no spaces"}, "name: must be 1-64 letters"),
        ({"extra": 1}, "extra: unknown field"),
        ({"python": {"class": "Nope", "file": "b.py", "code": "x = 1\n"}}, "defines no Nope"),
        ({"python": {"class": "A", "file": "b.py", "code": "def (:\n"}}, "b.py (line 1)"),
        ({"python": {"class": "A", "code": ""}}, "python.code: must be a non-empty string"),
    ],
)
def test_each_problem_is_named_with_its_path(changes: dict[str, Any], expected: str) -> None:
    (problem,) = problems_of(breakout(**changes))
    assert expected in problem


def test_a_file_must_define_exactly_one_strategy(tmp_path: Path) -> None:
    empty = tmp_path / "nothing.py"
    empty.write_text("VALUE = 1\n")
    with pytest.raises(ValidationError, match=r"exactly one Strategy subclass \(found: none\)"):
        python_document(empty, ["SIM:BTC/USD"], "1m")
