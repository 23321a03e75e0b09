"""The import-layer contract holds, and breaks the build when a lower layer imports a higher one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint_imports(python_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_code_keeps_the_layer_contract() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import"),
    [
        ("core/fsm.py", "import omoitrade.model"),  # the foundation knows no trading words
        ("model/orders.py", "import omoitrade.store"),  # the domain does no I/O
        ("store/tables.py", "import omoitrade.api"),  # nothing imports the API
        ("store/mapping.py", "import omoitrade.testing"),  # nor the test factories
        ("risk/__init__.py", "import omoitrade.store"),  # L2 packages do not import each other
    ],
)
def test_an_upward_or_sideways_import_breaks_the_contract(
    tmp_path: Path, module: str, bad_import: str
) -> None:
    copy = tmp_path / "omoitrade"
    shutil.copytree(ROOT / "src" / "omoitrade", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = target.read_text() if target.exists() else '"""A layer."""\n'
    target.write_text(existing + f"\n{bad_import}\n")
    result = lint_imports(python_path=tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
