"""The simulated exchange as a separate service: real process, real SQLite file, real HTTP."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from omoitrade.core.errors import Conflict, ValidationError
from omoitrade.model.enums import (
    DeliveryFailure,
    ExecType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandFailed,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenueAdapter,
    VenuePosition,
    VenueReport,
)
from omoitrade.testing.sim_service import CLI, ServiceProcess, free_port
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.catalog import ServiceConfig, load_instruments
from omoitrade.venues.sim.durable import DurableExchange
from omoitrade.venues.sim.remote import RemoteSimVenue, VenueUnavailable

BTC = InstrumentId.of("SIM", "BTC/USD")
AAPL = InstrumentId.of("SIM", "AAPL")
ALICE, BOB = AccountId("alice"), AccountId("bob")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def limit(
    account: AccountId,
    client_order_id: str,
    side: OrderSide,
    quantity: str,
    price: str,
    instrument: InstrumentId = BTC,
) -> SubmitOrder:
    return SubmitOrder(
        account_id=account,
        client_order_id=ClientOrderId(client_order_id),
        instrument_id=instrument,
        side=side,
        order_type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        price=Decimal(price),
    )


def market(account: AccountId, client_order_id: str, side: OrderSide, quantity: str) -> SubmitOrder:
    return SubmitOrder(
        account_id=account,
        client_order_id=ClientOrderId(client_order_id),
        instrument_id=BTC,
        side=side,
        order_type=OrderType.MARKET,
        quantity=Decimal(quantity),
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    process = ServiceProcess(tmp_path / "exchange.db")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One service for the tests whose requests must all fail before the journal."""
    process = ServiceProcess(tmp_path_factory.mktemp("shared") / "exchange.db")
    process.start()
    yield process
    process.stop()


def _journal_sequence(service: ServiceProcess) -> int:
    sequence: int = httpx.get(f"{service.url}/health").json()["journal_sequence"]
    return sequence


class Client:
    """A remote venue and every report it delivered."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.venue = RemoteSimVenue(url, timeout=timeout)
        self.reports: list[VenueReport] = []
        self.venue.on_report(self.reports.append)

    def take(self) -> list[VenueReport]:
        taken, self.reports[:] = list(self.reports), []
        return taken


@pytest.fixture
def client(service: ServiceProcess) -> Iterator[Client]:
    made = Client(service.url)
    yield made
    made.venue.close()


def _execs(reports: list[VenueReport]) -> list[ExecutionReport]:
    assert all(isinstance(r, ExecutionReport) for r in reports), reports
    return [r for r in reports if isinstance(r, ExecutionReport)]


def _fault(service: ServiceProcess, **fault: Any) -> None:
    response = httpx.post(f"{service.url}/faults", json=fault)
    assert response.status_code == 200, response.text


# --- round trips ----------------------------------------------------------------------------
def test_the_remote_venue_is_a_venue_adapter_with_the_service_instruments(client: Client) -> None:
    assert isinstance(client.venue, VenueAdapter)
    instruments = {i.symbol: i for i in client.venue.instruments()}
    assert sorted(instruments) == ["AAPL", "BTC/USD", "EUR/USD"]
    btc = instruments["BTC/USD"]
    assert btc.id == BTC and btc.exchange == "SIM"
    assert str(btc.lot_size) == "0.00001" and str(instruments["EUR/USD"].tick_size) == "0.00001"


def test_submit_amend_cancel_round_trip(client: Client) -> None:
    venue = client.venue
    venue.submit(limit(ALICE, "a-1", OrderSide.BUY, "0.50000", "100.10"))
    (new,) = _execs(client.take())
    assert (new.exec_type, new.order_status, new.report_id) == (
        ExecType.NEW,
        OrderStatus.SUBMITTED,
        1,
    )
    assert str(new.quantity) == "0.50000" and str(new.price) == "100.10"  # exact, exponent kept
    assert new.venue_order_id == "SIM-BTC/USD-1"

    venue.amend(AmendOrder(ALICE, ClientOrderId("a-1"), BTC, price=Decimal("99.95")))
    (replaced,) = _execs(client.take())
    assert (replaced.exec_type, replaced.price, replaced.report_id) == (
        ExecType.REPLACED,
        Decimal("99.95"),
        2,
    )

    venue.cancel(CancelOrder(ALICE, ClientOrderId("a-1"), BTC))
    (cancelled,) = _execs(client.take())
    assert (cancelled.exec_type, cancelled.order_status) == (
        ExecType.CANCELLED,
        OrderStatus.CANCELLED,
    )

    venue.cancel(CancelOrder(ALICE, ClientOrderId("a-1"), BTC))
    (refused,) = client.take()
    assert isinstance(refused, CommandRejected)
    assert (refused.command, refused.order_status) == ("CANCEL", OrderStatus.CANCELLED)
    assert venue.last_report_id == refused.report_id == 4

    status = asyncio.run(venue.order_status(ALICE, ClientOrderId("a-1")))
    assert status is not None
    assert (status.exec_type, status.order_status) == (ExecType.STATUS, OrderStatus.CANCELLED)
    assert asyncio.run(venue.order_status(ALICE, ClientOrderId("never"))) is None


def test_a_fill_moves_balances_and_positions_exactly(client: Client) -> None:
    venue = client.venue
    venue.submit(limit(BOB, "b-1", OrderSide.SELL, "0.3", "42000.01"))
    venue.submit(market(ALICE, "a-1", OrderSide.BUY, "0.1"))
    reports = _execs(client.take())
    assert [(r.account_id, r.exec_type) for r in reports] == [
        (BOB, ExecType.NEW),
        (ALICE, ExecType.NEW),
        (ALICE, ExecType.TRADE),
        (BOB, ExecType.TRADE),
    ]
    assert reports[2].last_price == Decimal("42000.01") and reports[2].trade_id == "SIM-BTC/USD-T1"

    async def state() -> tuple[list[Balance], list[VenuePosition], list[ExecutionReport], Any]:
        return (
            await venue.balances(ALICE),
            await venue.positions(ALICE),
            await venue.fills_since(ALICE, EPOCH),
            await venue.open_orders(BOB),
        )

    balances, positions, fills, bob_open = asyncio.run(state())
    assert {b.currency: b.total for b in balances} == {
        "BTC": Decimal("0.1"),
        "USD": Decimal("1000000") - Decimal("4200.001"),
    }
    assert positions == [VenuePosition(BTC, Decimal("0.1"), Decimal("42000.01"))]
    assert fills == [reports[2]]
    (working,) = bob_open
    assert (working.order_status, working.leaves_quantity) == (OrderStatus.PARTIAL, Decimal("0.2"))
    assert asyncio.run(venue.fills_since(ALICE, datetime.now(UTC))) == []


def test_accounts_can_be_opened_with_their_own_cash(service: ServiceProcess) -> None:
    body = {"account_id": "carol", "deposits": {"USD": "2500.50", "BTC": "0.25"}}
    response = httpx.post(f"{service.url}/accounts", json=body)
    assert response.status_code == 201
    assert response.json()["balances"] == [
        {"currency": "BTC", "total": "0.25", "free": "0.25", "locked": "0"},
        {"currency": "USD", "total": "2500.50", "free": "2500.50", "locked": "0"},
    ]
    again = httpx.post(f"{service.url}/accounts", json=body)
    assert again.status_code == 409
    assert again.json()["type"] == "https://omoitrade.dev/problems/conflict"


# --- durability -----------------------------------------------------------------------------
def _busy_book(client: Client) -> None:
    venue = client.venue
    venue.submit(limit(BOB, "b-1", OrderSide.SELL, "0.5", "101.00"))
    venue.submit(limit(BOB, "b-2", OrderSide.SELL, "0.5", "102.00"))
    venue.submit(limit(BOB, "b-3", OrderSide.BUY, "3", "150.00", instrument=AAPL))
    venue.submit(limit(ALICE, "a-1", OrderSide.BUY, "0.7", "101.50"))  # fills b-1, rests 0.2
    venue.submit(market(ALICE, "a-2", OrderSide.BUY, "0.1"))  # part of b-2
    venue.amend(AmendOrder(BOB, ClientOrderId("b-2"), BTC, quantity=Decimal("0.3")))
    venue.submit(limit(ALICE, "a-3", OrderSide.SELL, "2", "150.00", instrument=AAPL))  # 3 -> 1
    venue.cancel(CancelOrder(ALICE, ClientOrderId("a-1"), BTC))
    venue.submit(limit(ALICE, "a-4", OrderSide.BUY, "0.05", "99.00"))


async def _snapshot(venue: RemoteSimVenue) -> dict[str, Any]:
    snapshot: dict[str, Any] = {}
    for account in (ALICE, BOB):
        snapshot[f"{account}-open"] = [
            r._replace(report_id=0) for r in await venue.open_orders(account)
        ]
        snapshot[f"{account}-fills"] = await venue.fills_since(account, EPOCH)
        snapshot[f"{account}-balances"] = await venue.balances(account)
        snapshot[f"{account}-positions"] = await venue.positions(account)
    return snapshot


def test_the_book_survives_sigkill_and_restart(service: ServiceProcess, client: Client) -> None:
    _busy_book(client)
    delivered = client.take()
    assert any(isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE for r in delivered)
    before = asyncio.run(_snapshot(client.venue))
    assert len(before["alice-open"]) == 1 and len(before["bob-open"]) == 2
    status = asyncio.run(client.venue.order_status(BOB, ClientOrderId("b-2")))
    assert status is not None and status.order_status is OrderStatus.PARTIAL
    stream = httpx.get(f"{service.url}/reports").json()["reports"]

    service.kill()
    health = service.start()
    assert health["replayed"] == health["journal_sequence"] and health["replayed"] != 0

    after = asyncio.run(_snapshot(client.venue))
    assert after == before
    assert httpx.get(f"{service.url}/reports").json()["reports"] == stream
    # the report id counter went on from where it stood: the status query used status.report_id
    # and the snapshot after the restart used one id per open order
    client.venue.submit(limit(ALICE, "a-5", OrderSide.BUY, "0.01", "98.00"))
    (new,) = _execs(client.take())
    assert new.report_id == status.report_id + len(before["alice-open"] + before["bob-open"]) + 1
    assert new.venue_order_id == "SIM-BTC/USD-6"  # the sixth BTC/USD order


def test_a_restarted_client_catches_up_from_the_stored_stream(
    service: ServiceProcess, client: Client
) -> None:
    _busy_book(client)
    delivered = client.take()
    late = Client(service.url)
    assert late.venue.catch_up() == delivered and late.reports == delivered
    assert late.venue.catch_up() == []  # nothing new after the last delivered id
    middle = delivered[5]
    assert isinstance(middle, ExecutionReport | CommandRejected)
    assert late.venue.catch_up(middle.report_id) == delivered[6:]


def test_reports_lost_to_a_crash_are_rebuilt_and_a_diverging_journal_is_refused(
    tmp_path: Path,
) -> None:
    db = tmp_path / "exchange.db"
    clock = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 1_000_000))
    exchange = DurableExchange(db, now_ns=lambda: next(clock))
    exchange.submit(limit(BOB, "b-1", OrderSide.SELL, "1", "100.00"))
    exchange.submit(market(ALICE, "a-1", OrderSide.BUY, "0.4"))
    stored = exchange.journal.stored_reports()
    exchange.close()
    assert len(stored) == 4
    with sqlite3.connect(db) as connection:  # as if killed after the journal commit
        connection.execute("DELETE FROM sim_reports WHERE report_id > 1")
    reopened = DurableExchange(db, now_ns=lambda: next(clock))
    assert reopened.journal.stored_reports() == stored
    reopened.close()
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE sim_reports SET payload = replace(payload, '0.4', '0.5')")
    with pytest.raises(Conflict, match="diverged"):
        DurableExchange(db, now_ns=lambda: next(clock))


def test_a_restart_with_another_configuration_is_refused(tmp_path: Path) -> None:
    process = ServiceProcess(tmp_path / "exchange.db")
    process.start()
    process.stop()
    changed = ServiceProcess(tmp_path / "exchange.db", "--cash", "USD=5", port=process.port)
    with pytest.raises(RuntimeError, match="another configuration"):
        changed.start()


# --- delivery failures ----------------------------------------------------------------------
def test_a_response_delayed_after_acceptance_is_ambiguous_and_the_order_is_there(
    service: ServiceProcess,
) -> None:
    client = Client(service.url, timeout=0.5)
    _fault(service, delay_next_ms=2000)
    command = limit(ALICE, "a-1", OrderSide.BUY, "0.1", "100.00")
    client.venue.submit(command)
    (failed,) = client.take()
    assert isinstance(failed, CommandFailed)
    assert (failed.failure, failed.command) == (DeliveryFailure.AMBIGUOUS, command)
    assert "Timeout" in failed.reason
    status = asyncio.run(client.venue.order_status(ALICE, ClientOrderId("a-1")))
    assert status is not None and status.order_status is OrderStatus.SUBMITTED
    (new,) = _execs(client.venue.catch_up())
    assert (new.exec_type, new.client_order_id) == (ExecType.NEW, "a-1")


def test_a_venue_killed_after_accepting_is_ambiguous_and_has_the_order_after_restart(
    service: ServiceProcess,
) -> None:
    client = Client(service.url, timeout=30)
    _fault(service, delay_next_ms=20_000)
    killer = threading.Timer(1.0, service.kill)  # while the answer is held back
    killer.start()
    command = limit(ALICE, "a-1", OrderSide.BUY, "0.1", "100.00")
    client.venue.submit(command)
    killer.join()
    (failed,) = client.take()
    assert isinstance(failed, CommandFailed)
    assert failed.failure is DeliveryFailure.AMBIGUOUS, failed.reason
    service.start()
    status = asyncio.run(client.venue.order_status(ALICE, ClientOrderId("a-1")))
    assert status is not None and status.venue_order_id == "SIM-BTC/USD-1"


def test_a_failure_before_journaling_is_transient_and_nothing_happened(
    service: ServiceProcess, client: Client
) -> None:
    _fault(service, fail_next=1)
    command = limit(ALICE, "a-1", OrderSide.BUY, "0.1", "100.00")
    client.venue.submit(command)
    (failed,) = client.take()
    assert isinstance(failed, CommandFailed)
    assert (failed.failure, failed.retry_after) == (DeliveryFailure.TRANSIENT, 1.0)
    assert asyncio.run(client.venue.order_status(ALICE, ClientOrderId("a-1"))) is None
    assert _journal_sequence(service) == 0
    client.venue.submit(command)  # resent: the fault was used up
    assert [r.exec_type for r in _execs(client.take())] == [ExecType.NEW]


@pytest.mark.parametrize(
    ("fault", "kind", "failure", "retry_after"),
    [
        ({"fail_status": 503, "retry_after": None}, "submit", DeliveryFailure.AMBIGUOUS, None),
        ({"fail_status": 502, "retry_after": None}, "submit", DeliveryFailure.AMBIGUOUS, None),
        ({"fail_status": 500, "retry_after": None}, "cancel", DeliveryFailure.TRANSIENT, None),
        ({"fail_status": 503, "retry_after": None}, "amend", DeliveryFailure.TRANSIENT, None),
        ({"fail_status": 429, "retry_after": 2.5}, "submit", DeliveryFailure.TRANSIENT, 2.5),
        ({"fail_status": 400, "retry_after": None}, "cancel", DeliveryFailure.PERMANENT, None),
    ],
)
def test_http_errors_map_to_delivery_failures(
    shared: ServiceProcess,
    fault: dict[str, Any],
    kind: str,
    failure: DeliveryFailure,
    retry_after: float | None,
) -> None:
    client = Client(shared.url)
    before = _journal_sequence(shared)
    _fault(shared, fail_next=1, **fault)
    key = (ALICE, ClientOrderId("a-1"), BTC)
    if kind == "submit":
        client.venue.submit(limit(ALICE, "a-1", OrderSide.BUY, "0.1", "100.00"))
    elif kind == "cancel":
        client.venue.cancel(CancelOrder(*key))
    else:
        client.venue.amend(AmendOrder(*key, quantity=Decimal("0.2")))
    (failed,) = client.take()
    assert isinstance(failed, CommandFailed)
    assert (failed.failure, failed.retry_after) == (failure, retry_after)
    assert f"HTTP {fault['fail_status']}" in failed.reason
    assert _journal_sequence(shared) == before


def test_a_refused_connection_is_transient_and_queries_raise() -> None:
    client = Client(f"http://127.0.0.1:{free_port()}")
    command = CancelOrder(ALICE, ClientOrderId("a-1"), BTC)
    client.venue.cancel(command)
    (failed,) = client.take()
    assert isinstance(failed, CommandFailed)
    assert (failed.failure, failed.command) == (DeliveryFailure.TRANSIENT, command)
    with pytest.raises(VenueUnavailable, match="ConnectError"):
        asyncio.run(client.venue.balances(ALICE))


def test_refused_commands_are_permanent(client: Client) -> None:
    unknown = InstrumentId.of("SIM", "DOGE/USD")
    client.venue.submit(limit(ALICE, "a-1", OrderSide.BUY, "1", "1.00", instrument=unknown))
    client.venue.submit(limit(ALICE, "a-2", OrderSide.BUY, "NaN", "1.00"))
    first, second = client.take()
    assert isinstance(first, CommandFailed) and isinstance(second, CommandFailed)
    assert (first.failure, second.failure) == (DeliveryFailure.PERMANENT,) * 2
    assert "404" in first.reason and "quantity" in second.reason


# --- problem details ------------------------------------------------------------------------
VALID = {
    "account_id": "alice",
    "client_order_id": "a-1",
    "instrument_id": str(BTC),
    "side": "BUY",
    "order_type": "LIMIT",
    "quantity": "0.1",
    "price": "100.00",
}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/orders", b"{not json", 422, "body"),
        ("POST", "/orders", [1, 2], 422, "body"),
        ("POST", "/orders", {**VALID, "quantity": 0.1}, 422, "quantity"),
        ("POST", "/orders", {**VALID, "side": "HOLD"}, 422, "side"),
        ("POST", "/orders", {k: v for k, v in VALID.items() if k != "side"}, 422, "side"),
        ("POST", "/orders", {**VALID, "instrument_id": "BTC"}, 422, "instrument_id"),
        ("POST", "/orders", {**VALID, "client_order_id": "a b"}, 422, "client_order_id"),
        ("POST", "/orders/amend", {**VALID, "price": "1e"}, 422, "price"),
        ("POST", "/faults", {"fail_next": -1}, 422, "fail_next"),
        ("POST", "/accounts", {"deposits": {}}, 422, "account_id"),
        ("POST", "/accounts", {"account_id": "x", "deposits": {"USD": 5}}, 422, "deposits.USD"),
        ("GET", "/accounts/nobody/balances", None, 404, None),
        ("GET", "/orders/alice/a-1", None, 404, None),
        ("GET", "/reports?limit=0", None, 422, "limit"),
        ("GET", "/reports?after=x", None, 422, None),
        ("GET", "/accounts/alice/fills?since=yesterday", None, 422, "since"),
        ("GET", "/nothing-here", None, 404, None),
    ],
)
def test_malformed_requests_get_problem_details_and_change_nothing(
    shared: ServiceProcess, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    before = _journal_sequence(shared)
    content = body if isinstance(body, bytes) else None
    payload = None if isinstance(body, bytes) or body is None else body
    response = httpx.request(method, shared.url + path, content=content, json=payload)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["instance"] == path.split("?")[0]
    assert problem["type"].startswith("https://omoitrade.dev/problems/")
    if field is not None:
        assert problem["field"] == field
    assert _journal_sequence(shared) == before


def test_the_cli_registers_the_service() -> None:
    import subprocess

    result = subprocess.run(
        [CLI, "sim-exchange", "serve", "--help"], capture_output=True, text=True, check=True
    )
    assert "--db" in result.stdout and "--port" in result.stdout


def test_time_in_force_and_stops_travel_intact(client: Client) -> None:
    stop = SubmitOrder(
        account_id=ALICE,
        client_order_id=ClientOrderId("s-1"),
        instrument_id=BTC,
        side=OrderSide.BUY,
        order_type=OrderType.STOP_LIMIT,
        quantity=Decimal("0.25"),
        price=Decimal("105.00"),
        stop_price=Decimal("104.50"),
        time_in_force=TimeInForce.DAY,
        oco_group="exit",
    )
    client.venue.submit(stop)
    (new,) = _execs(client.take())
    assert (new.order_type, new.time_in_force, new.stop_price, new.price) == (
        OrderType.STOP_LIMIT,
        TimeInForce.DAY,
        Decimal("104.50"),
        Decimal("105.00"),
    )


# --- the wire format ------------------------------------------------------------------------
def test_every_report_field_round_trips_exactly(tmp_path: Path) -> None:
    clock = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 1_000_000))
    exchange = DurableExchange(
        tmp_path / "exchange.db",
        ServiceConfig(maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.00050")),
        now_ns=lambda: next(clock),
    )
    reports: list[wire.StreamReport] = []
    for command in (
        limit(BOB, "b-1", OrderSide.SELL, "0.50000", "101.10"),
        market(ALICE, "a-1", OrderSide.BUY, "0.2"),
    ):
        reports += exchange.submit(command).reports
    reports += exchange.cancel(CancelOrder(ALICE, ClientOrderId("a-1"), BTC)).reports
    exchange.close()
    trade = next(r for r in reports if isinstance(r, ExecutionReport) and r.trade_id)
    assert trade.commission == Decimal("0.01011") and trade.liquidity is not None
    assert any(isinstance(r, CommandRejected) for r in reports)
    for report in reports:
        encoded = wire.encode_report(report)
        decoded = wire.decode_report(json.loads(wire.dumps(encoded)))
        assert decoded == report and type(decoded) is type(report)
        assert wire.encode_report(decoded) == encoded  # the same digits, not just equal values


def test_instruments_can_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "instruments.json"
    spec = {
        "symbol": "ETH/USD",
        "instrument_type": "SPOT",
        "base_currency": "ETH",
        "quote_currency": "USD",
        "tick_size": "0.05",
        "lot_size": "0.001",
        "min_quantity": "0.010",
    }
    path.write_text(json.dumps([spec]))
    (eth,) = load_instruments(path)
    assert (eth.id, eth.tick_size, str(eth.min_quantity)) == (
        InstrumentId.of("SIM", "ETH/USD"),
        Decimal("0.05"),
        "0.010",
    )
    path.write_text(json.dumps([{**spec, "tick_size": 0.05}]))
    with pytest.raises(ValidationError, match="tick_size"):
        load_instruments(path)
