"""RFC 9457 problem details for every HTTP surface of the system (the API, the services).

Each problem has a stable ``type`` URI built from the error's code, a short ``title``,
the HTTP ``status``, a human ``detail`` and, for validation errors, the offending field and
rule. An unexpected error is logged and answered without its internals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from omoitrade.core.errors import Conflict, IllegalTransition, NotFound, OmoiError, ValidationError

PROBLEM_TYPE_BASE = "https://omoitrade.dev/problems/"
MEDIA_TYPE = "application/problem+json"

_STATUS_BY_ERROR: tuple[tuple[type[OmoiError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (IllegalTransition, 409),
    (ValidationError, 422),
)


def problem(
    status: int,
    code: str,
    detail: str,
    request: Request,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem-details response."""
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_for(error: OmoiError, by_code: Mapping[str, int] | None = None) -> int:
    """The HTTP status of an error: by its code if listed, else by its kind (400 default)."""
    if by_code and error.code in by_code:
        return by_code[error.code]
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def install_problem_handlers(
    app: FastAPI,
    logger: logging.Logger,
    *,
    status_by_code: Mapping[str, int] | None = None,
    unexpected: str = "the server failed to handle this request",
) -> None:
    """Answer every error, ours or the framework's, as problem details."""

    @app.exception_handler(OmoiError)
    async def _domain_error(request: Request, error: OmoiError) -> JSONResponse:
        extra = {k: v for k, v in error.to_dict().items() if k not in ("code", "message")}
        status = status_for(error, status_by_code)
        return problem(status, error.code, error.message, request, **extra)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(part) for part in e["loc"]), "rule": e["msg"]}
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['rule']}" for e in errors)
        return problem(422, "validation-error", detail, request, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "-")
        return problem(error.status_code, code, str(error.detail), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        # The cause goes to the server log, never to the client.
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal-error", unexpected, request)
