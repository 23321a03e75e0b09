"""Running the ``omoitrade`` command in the test's own process, as ``main()`` runs it:
errors become one line on stderr and an exit code."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from omoitrade.cli.app import main


@dataclass(frozen=True, slots=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


class CommandLine:
    """Calls the command with arguments; output captured by pytest's ``capsys``."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(self, *args: str) -> Outcome:
        self.monkeypatch.setattr(sys, "argv", ["omoitrade", *args])
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = self.capsys.readouterr()
        return Outcome(code, out, err)
