"""The matching engine compiled by ``make install`` is current and behaves as its source."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engine_session import session_digest

import omoitrade
from omoitrade.venues.sim import book, matching

SOURCE_ROOT = Path(omoitrade.__file__).parent.parent
COMPILED = [module for module in (book, matching) if not module.__file__.endswith(".py")]


@pytest.mark.skipif(not COMPILED, reason="the engine is not compiled (run make install)")
def test_compiled_modules_are_newer_than_their_sources() -> None:
    for module in COMPILED:
        binary = Path(module.__file__)
        source = binary.with_name(module.__name__.rsplit(".", 1)[-1] + ".py")
        assert binary.stat().st_mtime >= source.stat().st_mtime, (
            f"{binary.name} is older than {source.name}: run make install to rebuild it"
        )


def test_plain_python_engine_reports_exactly_what_this_one_does(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    shutil.copytree(
        SOURCE_ROOT / "omoitrade",
        sources / "omoitrade",
        ignore=shutil.ignore_patterns("*.so", "__pycache__"),
    )
    script = Path(__file__).with_name("engine_session.py")
    env = {**os.environ, "PYTHONPATH": str(sources)}
    check = "import omoitrade.venues.sim.matching as m; assert m.__file__.endswith('.py')"
    subprocess.run([sys.executable, "-c", check], env=env, check=True)
    result = subprocess.run(
        [sys.executable, str(script)], env=env, check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == session_digest()
