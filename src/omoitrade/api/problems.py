"""The API's problem details: the shared RFC 9457 handlers with the API's own statuses."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from omoitrade.core.problems import install_problem_handlers as _install

_log = logging.getLogger("omoitrade.api")
STATUS_BY_CODE = {"market-data-unavailable": 503}  # the market is not running


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, ours or the framework's, as problem details."""
    _install(app, _log, status_by_code=STATUS_BY_CODE)
