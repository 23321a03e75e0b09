"""The order path compiled by ``make install`` is current and behaves as its source.

The modules listed in the Makefile's ``NATIVE`` are compiled with mypyc (see
docs/performance.md). Each compiled one must be newer than its source, and a seeded
session through the trading node (``order_path_session.py``) must give the same events,
refusals and final state, byte for byte, compiled and in a plain-Python interpreter.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from order_path_session import session_digest

import omoitrade

SOURCE_ROOT = Path(omoitrade.__file__).parent.parent
MAKEFILE = SOURCE_ROOT.parent / "Makefile"


def native_modules() -> list[str]:
    """The modules the Makefile compiles (the ``NATIVE`` list), as dotted names."""
    text = MAKEFILE.read_text()
    listed = re.search(r"^NATIVE := ((?:.*\\\n)*.*)$", text, re.MULTILINE)
    assert listed is not None, "the Makefile has no NATIVE list"
    variables = dict(re.findall(r"^(\w+) := (\S+)$", text, re.MULTILINE))
    paths = listed.group(1).replace("\\\n", " ").split()
    paths = [re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], p) for p in paths]
    return [p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in paths]


MODULES = [importlib.import_module(name) for name in native_modules()]
COMPILED = [module for module in MODULES if not str(module.__file__).endswith(".py")]


def test_the_order_path_is_in_the_native_list() -> None:
    names = {module.__name__ for module in MODULES}
    for core in (
        "omoitrade.execution.order_manager",
        "omoitrade.execution.report_handling",
        "omoitrade.risk.engine",
        "omoitrade.portfolio.ledger",
        "omoitrade.venues.sim.exchange",
    ):
        assert core in names


@pytest.mark.skipif(not COMPILED, reason="the core is not compiled (run make install)")
def test_compiled_modules_are_newer_than_their_sources() -> None:
    for module in COMPILED:
        binary = Path(str(module.__file__))
        source = binary.with_name(module.__name__.rsplit(".", 1)[-1] + ".py")
        assert binary.stat().st_mtime >= source.stat().st_mtime, (
            f"{binary.name} is older than {source.name}: run make install to rebuild it"
        )


@pytest.mark.skipif(not COMPILED, reason="the core is not compiled (run make install)")
def test_all_listed_modules_are_compiled_or_none() -> None:
    # a partly compiled tree (some .so files deleted by hand) is not what was measured
    assert [m.__name__ for m in MODULES if m not in COMPILED] == []


def test_plain_python_order_path_does_exactly_what_this_one_does(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    shutil.copytree(
        SOURCE_ROOT / "omoitrade",
        sources / "omoitrade",
        ignore=shutil.ignore_patterns("*.so", "__pycache__"),
    )
    script = Path(__file__).with_name("order_path_session.py")
    env = {**os.environ, "PYTHONPATH": str(sources)}
    check = "; ".join(
        [f"import {name}; assert {name}.__file__.endswith('.py')" for name in native_modules()]
    )
    subprocess.run([sys.executable, "-c", check], env=env, check=True)
    result = subprocess.run(
        [sys.executable, str(script)], env=env, check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == session_digest()
