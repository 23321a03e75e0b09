"""The simulated exchange as an HTTP service with its own durable state.

``create_app(DurableExchange(path))`` is a FastAPI app; :func:`serve` runs it
under uvicorn (``omoitrade sim-exchange serve``). Handlers are ``async`` and
never suspend between journaling a command and applying it, so commands are
applied one at a time in the order they were journaled. Errors are RFC 9457
problem details. ``POST /faults`` injects failures for tests: the next command
requests fail before anything is journaled, or their responses are delayed
after the command was journaled and applied.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from omoitrade.core.errors import NotFound, ValidationError
from omoitrade.core.problems import install_problem_handlers, problem
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.catalog import ServiceConfig
from omoitrade.venues.sim.durable import DurableExchange, Outcome

MAX_REPORTS_PER_PAGE = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_log = logging.getLogger("omoitrade.venues.sim.service")
_C = TypeVar("_C")


@dataclass(slots=True)
class Faults:
    """Failures injected into the next command requests (submit, cancel, amend)."""

    fail_count: int = 0
    fail_status: int = 503
    retry_after: float | None = 1.0
    delay_count: int = 0
    delay_s: float = 0.0

    def take_failure(self) -> tuple[int, float | None] | None:
        if self.fail_count <= 0:
            return None
        self.fail_count -= 1
        return self.fail_status, self.retry_after

    def take_delay(self) -> float:
        if self.delay_count <= 0:
            return 0.0
        self.delay_count -= 1
        return self.delay_s


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise ValidationError("body", "must be a JSON document") from None


def _outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "sequence": outcome.sequence,
        "reports": [wire.encode_report(r) for r in outcome.reports],
    }


def create_app(exchange: DurableExchange) -> FastAPI:
    """The HTTP face of ``exchange``."""
    app = FastAPI(title=f"OmoiTrade simulated exchange {exchange.config.venue}")
    app.state.exchange = exchange
    faults = app.state.faults = Faults()
    install_problem_handlers(app, _log, unexpected="the exchange failed to handle this request")

    async def command(
        request: Request, decode: Callable[[Any], _C], apply: Callable[[_C], Outcome]
    ) -> Response:
        failure = faults.take_failure()
        if failure is not None:  # before anything is journaled: the venue never saw it
            status, retry_after = failure
            headers = None if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            detail = "injected fault: the command was not accepted"
            return problem(status, "venue-unavailable", detail, request, headers)
        outcome = apply(decode(await _body(request)))
        delay = faults.take_delay()
        if delay > 0:  # journaled and applied; the answer is late
            await asyncio.sleep(delay)
        return JSONResponse(_outcome(outcome))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "venue": exchange.config.venue,
            "journal_sequence": exchange.journal.last_sequence,
            "last_report_id": exchange.journal.last_report_id(),
            "replayed": exchange.replayed,
        }

    @app.get("/instruments")
    async def instruments() -> list[wire.Json]:
        return [wire.encode_instrument(i) for i in exchange.instruments()]

    @app.post("/accounts", status_code=201)
    async def open_account(request: Request) -> dict[str, Any]:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ValidationError("body", "must be a JSON object")
        account_id = wire.parse_field("account_id", body.get("account_id"), AccountId)
        deposits = wire.decode_amounts(body.get("deposits", {}))
        outcome = exchange.open_account(account_id, deposits)
        balances = exchange.balances(account_id)
        return {
            "sequence": outcome.sequence,
            "account_id": str(account_id),
            "balances": [wire.encode_balance(b) for b in balances],
        }

    @app.post("/orders")
    async def submit(request: Request) -> Response:
        return await command(request, wire.decode_submit, exchange.submit)

    @app.post("/orders/cancel")
    async def cancel(request: Request) -> Response:
        return await command(request, wire.decode_cancel, exchange.cancel)

    @app.post("/orders/amend")
    async def amend(request: Request) -> Response:
        return await command(request, wire.decode_amend, exchange.amend)

    @app.get("/orders/{account_id}/{client_order_id}")
    async def order_status(account_id: str, client_order_id: str) -> wire.Json:
        account = _account(account_id)
        order = wire.parse_field("client_order_id", client_order_id, ClientOrderId)
        report = exchange.order_status(account, order)
        if report is None:
            raise NotFound("order", f"{account}/{order}")
        return wire.encode_report(report)

    @app.get("/accounts/{account_id}/open-orders")
    async def open_orders(account_id: str) -> list[wire.Json]:
        return [wire.encode_report(r) for r in exchange.open_orders(_account(account_id))]

    @app.get("/accounts/{account_id}/fills")
    async def fills(account_id: str, since: str | None = None) -> list[wire.Json]:
        start = _EPOCH if since is None else wire.parse_field("since", since, wire.timestamp)
        fills = exchange.fills_since(_account(account_id), start)
        return [wire.encode_report(r) for r in fills]

    @app.get("/accounts/{account_id}/balances")
    async def balances(account_id: str) -> list[wire.Json]:
        return [wire.encode_balance(b) for b in exchange.balances(_account(account_id))]

    @app.get("/accounts/{account_id}/positions")
    async def positions(account_id: str) -> list[wire.Json]:
        return [wire.encode_position(p) for p in exchange.positions(_account(account_id))]

    @app.get("/reports")
    async def reports(
        after: int = 0, limit: int = MAX_REPORTS_PER_PAGE, account: str | None = None
    ) -> dict[str, Any]:
        if not 1 <= limit <= MAX_REPORTS_PER_PAGE:
            raise ValidationError("limit", f"must be between 1 and {MAX_REPORTS_PER_PAGE}", limit)
        account_id = None if account is None else str(_account(account, "account"))
        page = exchange.journal.reports_after(after, limit, account_id)
        return {"reports": page, "last_report_id": exchange.journal.last_report_id()}

    @app.post("/faults")
    async def inject(request: Request) -> dict[str, Any]:
        body = await _body(request)
        if not isinstance(body, dict):
            raise ValidationError("body", "must be a JSON object")
        faults.fail_count = _count(body, "fail_next", faults.fail_count)
        faults.fail_status = _count(body, "fail_status", faults.fail_status)
        if not 400 <= faults.fail_status <= 599:
            raise ValidationError("fail_status", "must be an HTTP error status", faults.fail_status)
        if "retry_after" in body:
            value = body["retry_after"]
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ValidationError("retry_after", "must be a number of seconds or null", value)
            faults.retry_after = None if value is None else float(value)
        if "delay_next_ms" in body:
            faults.delay_s = _count(body, "delay_next_ms", 0) / 1000
            faults.delay_count = _count(body, "delay_count", 1)
        return {
            "fail_next": faults.fail_count,
            "fail_status": faults.fail_status,
            "retry_after": faults.retry_after,
            "delay_next_ms": round(faults.delay_s * 1000),
            "delay_count": faults.delay_count,
        }

    return app


def _account(value: str, name: str = "account_id") -> AccountId:
    return wire.parse_field(name, value, AccountId)


def _count(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(name, "must be a non-negative integer", value)
    return value


def serve(
    path: Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    config: ServiceConfig | None = None,
    log_level: str = "warning",
) -> None:
    """Open (and replay) the exchange stored at ``path`` and serve it until stopped."""
    import uvicorn

    exchange = DurableExchange(path, config)
    try:
        uvicorn.run(create_app(exchange), host=host, port=port, log_level=log_level)
    finally:
        exchange.close()
