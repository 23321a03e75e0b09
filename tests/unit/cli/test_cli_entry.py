"""The console script's entry: a Ctrl-C while the application is still being imported is
one line and exit code 130, whatever the machine's speed (the real-process test in
``tests/integration/test_run_interrupt.py`` depends on the imports taking longer than
its 0.3 s)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from importlib.metadata import version
from types import ModuleType

import pytest

from omoitrade.cli import entry

APP = "omoitrade.cli.app"


class _InterruptedImport(MetaPathFinder):
    """Finds the application's module by raising what a Ctrl-C raises during its import."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname == APP:
            raise KeyboardInterrupt
        return None


@pytest.fixture
def interrupted_import() -> Iterator[None]:
    saved = sys.modules.pop(APP, None)
    finder = _InterruptedImport()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        if saved is not None:
            sys.modules[APP] = saved


def _exit_raising(code: int) -> None:
    raise SystemExit(code)  # the process's own exit (os._exit) would end the test run


def test_a_ctrl_c_during_the_imports_is_one_line_and_exit_130(
    interrupted_import: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entry, "_exit", _exit_raising)
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == entry.INTERRUPTED_EXIT == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "interrupted\n")


def test_without_a_ctrl_c_the_application_runs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["omoitrade", "version"])
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code in (0, None)
    assert capsys.readouterr().out.strip() == version("omoitrade")
