"""A simulated exchange whose state survives its process: journal first, then apply.

Every state-changing call becomes a journal entry, committed before it is
applied. The exchange runs on a :class:`SimulatedClock` moved to each entry's
recorded time, so on start a replay of the journal through a fresh exchange
rebuilds exactly the same books, fills, balances and report ids (the matching
engine is deterministic). Replayed reports are checked against the stored ones;
a difference stops the start-up rather than serve a different history.

Queries that make STATUS reports (``order_status``, ``open_orders``) use up
report ids, so they are journaled too; ``fills_since``, ``balances`` and
``positions`` are pure reads.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import Conflict, OmoiError
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.instruments import Instrument
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandFailed,
    ExecutionReport,
    SubmitOrder,
    VenuePosition,
    VenueReport,
)
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.catalog import ServiceConfig
from omoitrade.venues.sim.exchange import ExchangeMode, SimExchangeConfig, SimulatedExchange
from omoitrade.venues.sim.journal import Journal, JournalEntry

_log = logging.getLogger("omoitrade.venues.sim.durable")
_T = TypeVar("_T")
_BOOK_INTERVAL_NS = 60 * 1_000_000_000  # nobody subscribes to the service's book snapshots


def run_now(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """The result of a coroutine that never suspends (the in-memory exchange's queries)."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        result: _T = stop.value
        return result
    coroutine.close()
    raise RuntimeError("the simulated exchange's query suspended")


class Outcome:
    """What applying one or more journal entries produced."""

    __slots__ = ("reports", "result", "sequence")

    def __init__(self, sequence: int, reports: list[wire.StreamReport], result: Any) -> None:
        self.sequence = sequence
        self.reports = reports
        self.result = result


class DurableExchange:
    """A :class:`SimulatedExchange` in book mode behind a command journal."""

    def __init__(
        self,
        path: Path,
        config: ServiceConfig | None = None,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.journal = Journal(path)
        self._now_ns = now_ns
        self.config, genesis_ns = self._settings(config)
        self.clock = SimulatedClock(genesis_ns)
        self.exchange = SimulatedExchange(
            self.clock,
            list(self.config.instruments),
            SimExchangeConfig(
                venue=self.config.venue,
                mode=ExchangeMode.BOOK,
                maker_fee=self.config.maker_fee,
                taker_fee=self.config.taker_fee,
                book_interval_ns=_BOOK_INTERVAL_NS,
                enforce_balances=self.config.enforce_balances,
            ),
        )
        self._emitted: list[VenueReport] = []
        self.exchange.on_report(self._emitted.append)
        self._accounts: set[AccountId] = set()
        self.replayed = self._replay()

    def _settings(self, config: ServiceConfig | None) -> tuple[ServiceConfig, int]:
        stored = self.journal.setting("config")
        if stored is None:
            config = config or ServiceConfig()
            genesis_ns = self._now_ns()
            self.journal.set_setting("config", wire.dumps(config.to_json()))
            self.journal.set_setting("genesis_ns", str(genesis_ns))
            return config, genesis_ns
        if config is not None and wire.dumps(config.to_json()) != stored:
            raise Conflict(
                f"{self.journal.path} was created with another configuration "
                "(instruments, starting cash, fees or balance checks)"
            )
        genesis = self.journal.setting("genesis_ns")
        if genesis is None:  # created, then killed before its first entry: start afresh
            genesis = str(self._now_ns())
            self.journal.set_setting("genesis_ns", genesis)
        return ServiceConfig.from_json(json.loads(stored)), int(genesis)

    # --- replay -----------------------------------------------------------------------------
    def _replay(self) -> int:
        """Apply every journal entry again; returns how many there were."""
        stored = self.journal.stored_reports()
        count = 0
        for entry in self.journal.entries():
            reports, _ = self._apply(entry)
            for report in reports:
                known = stored.get(report.report_id)
                if known is not None and known != wire.dumps(wire.encode_report(report)):
                    raise Conflict(
                        f"replay of journal entry {entry.sequence} diverged at report "
                        f"{report.report_id}: the journal does not reproduce the stored reports"
                    )
            missing = [r for r in reports if r.report_id not in stored]
            self.journal.store_reports(entry.sequence, missing)  # lost to a crash: rebuilt
            count += 1
        if count:
            _log.info("replayed %d journal entries from %s", count, self.journal.path)
        return count

    def _apply(self, entry: JournalEntry) -> tuple[list[wire.StreamReport], Any]:
        """Apply one entry at its recorded time: the same code path live and in replay."""
        self.clock.advance_to(max(entry.timestamp_ns, self.clock.timestamp_ns()))
        payload = entry.payload
        kind = payload["kind"]
        result: Any = None
        error: OmoiError | None = None
        try:
            if kind == "open_account":
                account_id = AccountId(payload["account_id"])
                self.exchange.open_account(account_id, wire.decode_amounts(payload["deposits"]))
                self._accounts.add(account_id)
            elif kind == "submit":
                self.exchange.submit(wire.decode_submit(payload["command"]))
            elif kind == "cancel":
                self.exchange.cancel(wire.decode_cancel(payload["command"]))
            elif kind == "amend":
                self.exchange.amend(wire.decode_amend(payload["command"]))
            elif kind == "order_status":
                result = run_now(
                    self.exchange.order_status(
                        AccountId(payload["account_id"]), ClientOrderId(payload["client_order_id"])
                    )
                )
            elif kind == "open_orders":
                result = run_now(self.exchange.open_orders(AccountId(payload["account_id"])))
            else:
                raise Conflict(f"journal entry {entry.sequence} has an unknown kind {kind!r}")
        except OmoiError as caught:  # the same error live and in replay; state is what it is
            _log.warning("journal entry %d failed: %s", entry.sequence, caught.message)
            error = caught
        emitted, self._emitted[:] = list(self._emitted), []
        reports = [r for r in emitted if not isinstance(r, CommandFailed)]
        return reports, error if error is not None else result

    def _accept(self, payloads: Sequence[wire.Json]) -> Outcome:
        """Journal ``payloads`` (committed), then apply them; raises what applying raised."""
        at = max(self._now_ns(), self.clock.timestamp_ns())
        entries = self.journal.append(at, payloads)
        reports: list[wire.StreamReport] = []
        result: Any = None
        for entry in entries:
            caused, result = self._apply(entry)
            self.journal.store_reports(entry.sequence, caused)
            reports += caused
        if isinstance(result, OmoiError):
            raise result
        return Outcome(entries[-1].sequence, reports, result)

    # --- commands ---------------------------------------------------------------------------
    def open_account(self, account_id: AccountId, deposits: dict[str, Decimal]) -> Outcome:
        if account_id in self._accounts:
            raise Conflict(f"account {account_id} is already open at {self.config.venue}")
        return self._accept([_opening(account_id, deposits)])

    def submit(self, command: SubmitOrder) -> Outcome:
        return self._command("submit", command)

    def cancel(self, command: CancelOrder) -> Outcome:
        return self._command("cancel", command)

    def amend(self, command: AmendOrder) -> Outcome:
        return self._command("amend", command)

    def _command(self, kind: str, command: SubmitOrder | CancelOrder | AmendOrder) -> Outcome:
        self.exchange.instrument(command.instrument_id)  # NotFound before anything is journaled
        payloads: list[wire.Json] = []
        if command.account_id not in self._accounts:  # opened on first use
            payloads.append(_opening(command.account_id, dict(self.config.starting_cash)))
        payloads.append({"kind": kind, "command": wire.encode_command(command)})
        return self._accept(payloads)

    # --- queries ----------------------------------------------------------------------------
    def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        if account_id not in self._accounts:
            return None
        payload = {
            "kind": "order_status",
            "account_id": str(account_id),
            "client_order_id": str(client_order_id),
        }
        result: ExecutionReport | None = self._accept([payload]).result
        return result

    def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        if account_id not in self._accounts:
            return []
        payload = {"kind": "open_orders", "account_id": str(account_id)}
        result: list[ExecutionReport] = self._accept([payload]).result
        return result

    def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        return run_now(self.exchange.fills_since(account_id, since))

    def balances(self, account_id: AccountId) -> list[Balance]:
        return run_now(self.exchange.balances(account_id))

    def positions(self, account_id: AccountId) -> list[VenuePosition]:
        return run_now(self.exchange.positions(account_id))

    def instruments(self) -> list[Instrument]:
        return self.exchange.instruments()

    def close(self) -> None:
        self.journal.dispose()


def _opening(account_id: AccountId, deposits: dict[str, Decimal]) -> wire.Json:
    return {
        "kind": "open_account",
        "account_id": str(account_id),
        "deposits": wire.encode_amounts(deposits),
    }
