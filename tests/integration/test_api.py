"""The API skeleton on a real HTTP server: health and RFC 9457 problem details."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from omoitrade.api.app import create_app
from omoitrade.config import Settings
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.model import InstrumentId
from omoitrade.runtime.paper import PaperMarket
from omoitrade.store.migrate import head_revision, upgrade
from omoitrade.venues.sim.catalog import default_instruments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real HTTP server on a free local port, for the duration of the block."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert instance.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


def _paper_market() -> PaperMarket:
    clock = SimulatedClock(1_704_186_000_000_000_000)
    market = PaperMarket(clock, default_instruments())
    market.start()
    clock.advance_by(90 * 1_000_000_000)  # a minute and a half of market
    return market


@pytest.fixture
def market() -> PaperMarket:
    return _paper_market()


@pytest.fixture
def server(tmp_path: Path, market: PaperMarket) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url())
    app = create_app(settings, market=market)

    @app.get("/test/raise/{kind}")
    def raise_error(kind: str) -> None:
        errors = {
            "not-found": NotFound("Order", "o-1"),
            "conflict": Conflict("client order id c-1 was used for a different order"),
            "invalid": ValidationError("quantity", "must be greater than 0", "0"),
        }
        if kind == "crash":
            raise RuntimeError("secret internals")
        raise errors[kind]

    with serving(app) as url:
        yield url


def test_health_reports_the_schema_revision(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {
        "dialect": "sqlite",
        "revision": head_revision(),
        "head": head_revision(),
    }


def test_unknown_route_is_a_problem_document(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://omoitrade.dev/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/api/v1/nothing-here",
    }


@pytest.mark.parametrize(
    ("kind", "status", "code", "detail"),
    [
        ("not-found", 404, "not-found", "Order o-1 not found"),
        ("conflict", 409, "conflict", "client order id c-1 was used for a different order"),
        ("invalid", 422, "validation-error", "quantity: must be greater than 0"),
    ],
)
def test_domain_errors_map_to_problem_details(
    server: str, kind: str, status: int, code: str, detail: str
) -> None:
    response = httpx.get(f"{server}/test/raise/{kind}")
    assert response.status_code == status
    body = response.json()
    assert body["type"] == f"https://omoitrade.dev/problems/{code}"
    assert body["detail"] == detail
    if kind == "invalid":
        assert (body["field"], body["rule"]) == ("quantity", "must be greater than 0")


def test_an_unexpected_error_is_a_500_problem_without_internals(server: str) -> None:
    response = httpx.get(f"{server}/test/raise/crash")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://omoitrade.dev/problems/internal-error"
    assert "secret" not in response.text


def test_market_data_lists_instruments_and_serves_the_latest_values(
    server: str, market: PaperMarket
) -> None:
    listed = httpx.get(f"{server}/api/v1/market-data").json()
    assert sorted(i["symbol"] for i in listed) == ["AAPL", "BTC/USD", "EUR/USD"]
    btc = next(i for i in listed if i["symbol"] == "BTC/USD")
    body = httpx.get(f"{server}/api/v1/market-data/{btc['id']}").json()
    expected = market.pipeline.latest_quote(InstrumentId(btc["id"]))
    assert expected is not None
    assert body["quote"]["bid_price"] == str(expected.bid_price)
    assert Decimal(body["quote"]["ask_price"]) > Decimal(body["quote"]["bid_price"])
    assert body["bar_1m"]["timeframe"] == "1m"
    assert len(body["book"]["bids"]) >= 3
    assert body["anomalies"] == {}  # a clean synthetic stream


def test_market_data_counts_the_anomalies_kept_out(server: str, market: PaperMarket) -> None:
    btc = market.instruments[0]
    quote = market.pipeline.latest_quote(btc.id)
    assert quote is not None
    crossed = replace(quote, bid_price=quote.ask_price + btc.tick_size)
    assert market.pipeline.on_data(crossed) is not None
    body = httpx.get(f"{server}/api/v1/market-data/{btc.id}").json()
    assert body["anomalies"] == {"crossed_book": 1}
    assert body["quote"] == {**body["quote"], "bid_price": str(quote.bid_price)}


def test_market_data_of_an_unknown_instrument_is_a_404_problem(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/market-data/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Instrument 00000000")


def test_without_a_market_the_market_data_routes_answer_503(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url())
    with serving(create_app(settings)) as url:
        response = httpx.get(f"{url}/api/v1/market-data")
    assert response.status_code == 503
    assert response.json()["type"] == "https://omoitrade.dev/problems/market-data-unavailable"
