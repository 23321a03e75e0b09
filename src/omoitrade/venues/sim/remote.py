"""A :class:`VenueAdapter` that trades with the simulated exchange service over HTTP.

Commands are blocking HTTP calls; the reports they caused are delivered to
the report handlers, in order, before the call returns. A call that gets no
clear answer becomes a :class:`CommandFailed` report instead:

========================================  =======================================
what happened                             failure
========================================  =======================================
connection refused, connect timeout       TRANSIENT (nothing was sent)
timeout or disconnect after sending       AMBIGUOUS (the venue may have it)
429, or 503 with ``Retry-After``          TRANSIENT, ``retry_after`` from the header
other 5xx                                 AMBIGUOUS for a submit, TRANSIENT for a
                                          cancel or amend
other 4xx (malformed, unknown instrument)  PERMANENT
========================================  =======================================

A 503 with ``Retry-After`` is the server saying it did not take the request
(RFC 9110); any other server error may have come after the venue accepted the
order, so a submit must be looked up (``order_status``) before it is resent. A
cancel or an amend (to absolute values) can simply be resent.

Queries use ``httpx.AsyncClient`` and raise :class:`VenueUnavailable` when the
service cannot answer. The service publishes no market data: market-data
handlers are kept but never called.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx

from omoitrade.core.clock import Clock, LiveClock
from omoitrade.core.errors import OmoiError
from omoitrade.model.enums import DeliveryFailure
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.instruments import Instrument
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandFailed,
    ExecutionReport,
    MarketDataHandler,
    ReportHandler,
    SubmitOrder,
    VenuePosition,
)
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.catalog import DEFAULT_VENUE

Command = SubmitOrder | CancelOrder | AmendOrder
_PATHS = {SubmitOrder: "/orders", CancelOrder: "/orders/cancel", AmendOrder: "/orders/amend"}


class VenueUnavailable(OmoiError):
    """The exchange service did not answer a query."""

    code = "venue-unavailable"


class RemoteSimVenue:
    """The simulated exchange service at ``base_url``, as a venue adapter."""

    def __init__(
        self,
        base_url: str,
        *,
        venue: str = DEFAULT_VENUE,
        timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._venue = venue
        self._clock = clock or LiveClock()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._report_handlers: list[ReportHandler] = []
        self._data_handlers: list[MarketDataHandler] = []
        self._instruments: list[Instrument] | None = None
        self.last_report_id = 0  # the highest report id delivered to the handlers

    # --- VenueAdapter -----------------------------------------------------------------------
    @property
    def venue(self) -> str:
        return self._venue

    def instruments(self) -> list[Instrument]:
        """The service's instruments (fetched once)."""
        if self._instruments is None:
            response = self._query(lambda: self._http.get("/instruments"))
            self._instruments = [wire.decode_instrument(i) for i in response.json()]
        return list(self._instruments)

    def on_report(self, handler: ReportHandler) -> None:
        self._report_handlers.append(handler)

    def on_market_data(self, handler: MarketDataHandler) -> None:
        self._data_handlers.append(handler)

    def submit(self, command: SubmitOrder) -> None:
        self._send(command)

    def cancel(self, command: CancelOrder) -> None:
        self._send(command)

    def amend(self, command: AmendOrder) -> None:
        self._send(command)

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        path = f"/orders/{_segment(account_id)}/{_segment(client_order_id)}"
        body = await self._get(path, not_found_is_none=True)
        return None if body is None else wire.decode_execution_report(body)

    async def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        body = await self._get(f"/accounts/{_segment(account_id)}/open-orders")
        return [wire.decode_execution_report(r) for r in body]

    async def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        path = f"/accounts/{_segment(account_id)}/fills"
        body = await self._get(path, params={"since": since.isoformat()})
        return [wire.decode_execution_report(r) for r in body]

    async def balances(self, account_id: AccountId) -> list[Balance]:
        body = await self._get(f"/accounts/{_segment(account_id)}/balances")
        return [wire.decode_balance(b) for b in body]

    async def positions(self, account_id: AccountId) -> list[VenuePosition]:
        body = await self._get(f"/accounts/{_segment(account_id)}/positions")
        return [wire.decode_position(p) for p in body]

    # --- catching up ------------------------------------------------------------------------
    def catch_up(self, after_report_id: int | None = None) -> list[wire.StreamReport]:
        """Fetch and deliver every stored report after ``after_report_id`` (default: the last
        one delivered), oldest first; returns them. For a client restarted after a crash."""
        after = self.last_report_id if after_report_id is None else after_report_id
        fetched: list[wire.StreamReport] = []
        while True:
            response = self._query(partial(self._http.get, "/reports", params={"after": after}))
            page = [wire.decode_report(r) for r in response.json()["reports"]]
            if not page:
                break
            self._deliver(page)
            fetched += page
            after = page[-1].report_id
        return fetched

    def close(self) -> None:
        self._http.close()

    # --- internals --------------------------------------------------------------------------
    def _send(self, command: Command) -> None:
        body = wire.encode_command(command)
        try:
            response = self._http.post(_PATHS[type(command)], json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            self._fail(command, DeliveryFailure.TRANSIENT, f"not sent: {_describe(error)}")
            return
        except httpx.TransportError as error:  # sent (maybe in part), no answer
            self._fail(command, DeliveryFailure.AMBIGUOUS, f"no answer: {_describe(error)}")
            return
        if response.status_code == 200:
            self._deliver([wire.decode_report(r) for r in response.json()["reports"]])
            return
        failure, retry_after = classify(command, response)
        self._fail(command, failure, _problem_text(response), retry_after)

    def _deliver(self, reports: list[wire.StreamReport]) -> None:
        for report in reports:
            self.last_report_id = max(self.last_report_id, report.report_id)
            for handler in self._report_handlers:
                handler(report)

    def _fail(
        self,
        command: Command,
        failure: DeliveryFailure,
        reason: str,
        retry_after: float | None = None,
    ) -> None:
        report = CommandFailed(self._clock.utc_now(), command, failure, reason, retry_after)
        for handler in self._report_handlers:
            handler(report)

    def _query(self, call: Callable[[], httpx.Response]) -> httpx.Response:
        try:
            response = call()
        except httpx.TransportError as error:
            raise VenueUnavailable(f"{self.base_url}: {_describe(error)}") from None
        if response.status_code != 200:
            raise VenueUnavailable(f"{self.base_url}: {_problem_text(response)}")
        return response

    async def _get(
        self, path: str, params: dict[str, str] | None = None, not_found_is_none: bool = False
    ) -> Any:
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
                response = await client.get(path, params=params)
        except httpx.TransportError as error:
            raise VenueUnavailable(f"{self.base_url}{path}: {_describe(error)}") from None
        if response.status_code == 404 and not_found_is_none:
            return None
        if response.status_code != 200:
            raise VenueUnavailable(f"{self.base_url}{path}: {_problem_text(response)}")
        return response.json()


def classify(command: Command, response: httpx.Response) -> tuple[DeliveryFailure, float | None]:
    """What an error response to ``command`` means for resending it (see the module doc)."""
    status = response.status_code
    retry_after = _retry_after(response)
    if status == 429 or (status == 503 and retry_after is not None):
        return DeliveryFailure.TRANSIENT, retry_after
    if status >= 500:
        if isinstance(command, SubmitOrder):
            return DeliveryFailure.AMBIGUOUS, None
        return DeliveryFailure.TRANSIENT, retry_after
    return DeliveryFailure.PERMANENT, None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: not worth parsing for a simulated venue


def _problem_text(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return f"HTTP {response.status_code}: {detail or response.reason_phrase}"


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _segment(value: str) -> str:
    return quote(value, safe="")
