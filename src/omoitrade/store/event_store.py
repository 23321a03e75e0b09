"""The append-only event store: every domain event, in the order it was recorded.

The database refuses UPDATE and DELETE on this table (a trigger created by the
migrations), so history cannot be rewritten through the application or SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, bindparam, insert, select, text

from omoitrade.core.clock import Clock
from omoitrade.model.events import DomainEvent, event_from_dict, event_to_dict
from omoitrade.store import tables
from omoitrade.store.mapping import PreparedStatement

EVENTS_LOCK_KEY = 0x6F6D6F65
_LOCK_EVENTS = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=EVENTS_LOCK_KEY)
_APPEND = PreparedStatement(  # every column but the sequence, which the database assigns
    insert(tables.events).values(
        {c.name: bindparam(c.name, type_=c.type) for c in tables.events.c if c.name != "sequence"}
    )
)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event with its position in the store and when it was recorded."""

    sequence: int
    recorded_at: datetime
    event: DomainEvent


class EventStore:
    """Append events and read them back by stream or in global order."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock

    def append(self, event: DomainEvent) -> None:
        self.append_all([event])

    def append_all(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        if self.connection.dialect.name == "postgresql":
            # Sequence numbers are taken at insert, not at commit: serializing appenders
            # makes sequence order commit order, so catch-up readers never skip an event.
            self.connection.execute(_LOCK_EVENTS)
        recorded_at = self.clock.utc_now()
        rows = [
            {
                "event_id": UUID(int=event.event_id.int),
                "event_type": type(event).__name__,
                "topic": event.topic,
                "stream_id": UUID(int=event.stream_id.int),
                "occurred_at": event.occurred_at,
                "recorded_at": recorded_at,
                "payload": event_to_dict(event)["data"],
            }
            for event in events
        ]
        _APPEND.execute(self.connection, rows)

    def stream(self, stream_id: UUID) -> list[DomainEvent]:
        """Every event about one entity, oldest first."""
        query = (
            select(tables.events)
            .where(tables.events.c.stream_id == UUID(int=stream_id.int))
            .order_by(tables.events.c.sequence)
        )
        return [self._load(row).event for row in self.connection.execute(query).mappings()]

    def read(self, after_sequence: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events recorded after ``after_sequence``, in recording order (for catch-up readers)."""
        query = (
            select(tables.events)
            .where(tables.events.c.sequence > after_sequence)
            .order_by(tables.events.c.sequence)
            .limit(limit)
        )
        return [self._load(row) for row in self.connection.execute(query).mappings()]

    @staticmethod
    def _load(row: Mapping[Any, Any]) -> StoredEvent:
        event = event_from_dict({"type": row["event_type"], "data": row["payload"]})
        return StoredEvent(row["sequence"], row["recorded_at"], event)
