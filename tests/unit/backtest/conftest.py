"""Fixtures of the backtest results tests (builders in ``backtest_builders``)."""

from __future__ import annotations

import pytest
from backtest_builders import FillMaker, fill_maker


@pytest.fixture
def fill() -> FillMaker:
    """A fill maker with its own id counter (see ``backtest_builders.fill_maker``)."""
    return fill_maker()
