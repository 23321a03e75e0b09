"""The exchange service's own SQLite file: a command journal, the report stream, settings.

The journal is the truth: entry ``sequence`` with the time it was accepted
(``timestamp_ns``) and a JSON payload, committed with ``synchronous=FULL``
before the entry is applied. The report table is derived from it (a replay
rebuilds what a crash lost) and serves clients catching up. Own tables, own
metadata: this file belongs to the simulated venue, not to the trading system.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omoitrade.venues.sim import wire

metadata = MetaData()

settings_table = Table(
    "sim_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

journal_table = Table(
    "sim_journal",
    metadata,
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("timestamp_ns", BigInteger, nullable=False),
    Column("payload", Text, nullable=False),
)

reports_table = Table(
    "sim_reports",
    metadata,
    Column("report_id", Integer, primary_key=True, autoincrement=False),
    Column("sequence", Integer, nullable=False),  # the journal entry that caused it
    Column("account_id", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),
)


def _engine(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"timeout": 30, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy decides when transactions begin
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class JournalEntry:
    """One accepted entry: its sequence, acceptance time and payload."""

    __slots__ = ("payload", "sequence", "timestamp_ns")

    def __init__(self, sequence: int, timestamp_ns: int, payload: wire.Json) -> None:
        self.sequence = sequence
        self.timestamp_ns = timestamp_ns
        self.payload = payload


class Journal:
    """The durable record of one exchange service."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = _engine(path)
        metadata.create_all(self.engine)
        with self.engine.connect() as connection:
            last = connection.execute(select(func.max(journal_table.c.sequence))).scalar()
        self.last_sequence: int = last or 0

    # --- settings ---------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            query = select(settings_table.c.value).where(settings_table.c.key == key)
            value: str | None = connection.execute(query).scalar()
        return value

    def set_setting(self, key: str, value: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(settings_table.insert().values(key=key, value=value))

    # --- journal ----------------------------------------------------------------------------
    def append(self, timestamp_ns: int, payloads: Sequence[wire.Json]) -> list[JournalEntry]:
        """Commit ``payloads`` as consecutive entries accepted at ``timestamp_ns``."""
        entries = [
            JournalEntry(self.last_sequence + n, timestamp_ns, payload)
            for n, payload in enumerate(payloads, start=1)
        ]
        with self.engine.begin() as connection:
            connection.execute(
                journal_table.insert(),
                [
                    {
                        "sequence": e.sequence,
                        "timestamp_ns": e.timestamp_ns,
                        "payload": wire.dumps(e.payload),
                    }
                    for e in entries
                ],
            )
        if entries:
            self.last_sequence = entries[-1].sequence
        return entries

    def entries(self, page: int = 10_000) -> Iterator[JournalEntry]:
        """Every entry, in sequence order (read a page at a time, no transaction held open)."""
        after = 0
        while True:
            query = (
                select(journal_table)
                .where(journal_table.c.sequence > after)
                .order_by(journal_table.c.sequence)
                .limit(page)
            )
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield JournalEntry(row.sequence, row.timestamp_ns, json.loads(row.payload))
            after = rows[-1].sequence

    # --- reports ----------------------------------------------------------------------------
    def store_reports(self, sequence: int, reports: Sequence[wire.StreamReport]) -> None:
        """Record the reports entry ``sequence`` caused (those already stored stay as they are)."""
        if not reports:
            return
        rows = [
            {
                "report_id": r.report_id,
                "sequence": sequence,
                "account_id": str(r.account_id),
                "payload": wire.dumps(wire.encode_report(r)),
            }
            for r in reports
        ]
        with self.engine.begin() as connection:
            connection.execute(sqlite_insert(reports_table).on_conflict_do_nothing(), rows)

    def stored_reports(self) -> dict[int, str]:
        """Report id -> canonical JSON of every stored report."""
        query = select(reports_table.c.report_id, reports_table.c.payload)
        with self.engine.connect() as connection:
            return {row.report_id: row.payload for row in connection.execute(query)}

    def reports_after(
        self, after: int, limit: int, account_id: str | None = None
    ) -> list[wire.Json]:
        """Stored reports with ids above ``after``, oldest first, at most ``limit``."""
        query = select(reports_table.c.payload).where(reports_table.c.report_id > after)
        if account_id is not None:
            query = query.where(reports_table.c.account_id == account_id)
        query = query.order_by(reports_table.c.report_id).limit(limit)
        with self.engine.connect() as connection:
            return [json.loads(row.payload) for row in connection.execute(query)]

    def last_report_id(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(select(func.max(reports_table.c.report_id))).scalar()
        return int(value or 0)

    def dispose(self) -> None:
        self.engine.dispose()
