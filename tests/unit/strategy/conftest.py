"""The session's bar series for the indicator tests."""

from __future__ import annotations

import pytest
from indicator_checks import Bars, random_walk_bars


@pytest.fixture(scope="session")
def bars() -> Bars:
    return random_walk_bars(3_000)
