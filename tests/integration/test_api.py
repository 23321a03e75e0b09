"""The API skeleton on a real HTTP server: health and RFC 9457 problem details."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from omoitrade.api.app import create_app
from omoitrade.config import Settings
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.store.migrate import head_revision, upgrade


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.resolved_database_url())
    app = create_app(settings)

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

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert instance.started, "server did not start"
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


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
