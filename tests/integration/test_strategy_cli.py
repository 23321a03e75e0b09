"""``omoitrade strategy`` run as a user runs it: a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[2] / "examples" / "strategies"


def omoitrade(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "omoitrade", "strategy", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_validate_accepts_each_example() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        result = omoitrade("validate", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"valid: {path.stem}"


def test_validate_checks_a_python_strategy_file(tmp_path: Path) -> None:
    good = omoitrade("validate", str(EXAMPLES / "momentum_breakout.py"))
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "valid: MomentumBreakout"
    broken = tmp_path / "breakout.py"
    text = (EXAMPLES / "momentum_breakout.py").read_text()
    broken.write_text(text.replace("entry_period: int = 20", "entry_period: int = 0"))
    refused = omoitrade("validate", str(broken))
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "breakout.py: parameters.entry_period: must be at least 1"
    ]
    none = tmp_path / "empty.py"
    none.write_text("X = 1\n")
    nothing = omoitrade("validate", str(none))
    assert nothing.returncode == 1
    assert " ".join(nothing.stderr.split()) == (  # (wrapped at the terminal's 80 columns)
        "error: strategy: empty.py must define exactly one Strategy subclass (found: none)"
    )


def test_validate_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document["version"] = 0
    document["entry_rules"]["all"][0]["crosses_above"][1]["period"] = "$slower"
    document["entry_rules"]["all"].append({"crosess_above": ["close", 1]})
    document["risk_parameters"]["sizing"] = {"percent_of_equity": "250"}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    result = omoitrade("validate", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "broken.json: version: must be an integer >= 1",
        'broken.json: entry_rules.all[0].crosses_above[1].period: "$slower" is not defined '
        "in parameters",
        'broken.json: entry_rules.all[2]: unknown rule "crosess_above" '
        '(did you mean "crosses_above"?)',
        "broken.json: risk_parameters.sizing.percent_of_equity: must be > 0 and <= 100",
    ]


def test_bad_json_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "name": "x",\n  "version": 1,,\n}')
    result = omoitrade("validate", str(path))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: bad.json line 3, column 16: invalid JSON "
        "(Expecting property name enclosed in double quotes)"
    ]


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = omoitrade("validate", str(tmp_path / "nope.json"))
    assert result.returncode == 1
    missing = tmp_path / "nope.json"
    assert result.stderr.splitlines() == [
        f"error: cannot read {missing}: No such file or directory"
    ]


def test_schema_prints_the_json_schema() -> None:
    result = omoitrade("schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == [
        "name", "version", "instruments", "timeframe", "entry_rules", "risk_parameters"
    ]  # fmt: skip
    assert "rule" in schema["$defs"] and "indicator" in schema["$defs"]
