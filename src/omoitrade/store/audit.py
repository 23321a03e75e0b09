"""The audit trail: who did what to which thing, in a hash chain.

Each entry stores the SHA-256 of its own content and of the entry before it,
so changing, removing or reordering an entry breaks every hash after it, and
:meth:`AuditLog.verify` says where. ``details`` are kept as the exact canonical
JSON text that was hashed, so the database cannot reformat what was signed.
The table is append-only in the database (no UPDATE, DELETE or TRUNCATE).

What the chain cannot show on its own: the newest entries being cut off, or
the whole chain recomputed by someone with write access. Against both, anchor
:meth:`AuditLog.head` outside the database (a report, another system).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, insert, select, text

from omoitrade.core.clock import Clock
from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.store import tables

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 0x6F6D6F69  # serializes appends on PostgreSQL


def canonical_json(document: Any) -> str:
    """One text for one value: sorted keys, no spaces; only JSON values are accepted."""
    try:
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as error:
        raise ValidationError("details", f"must contain only JSON values ({error})") from None


class AuditChainBroken(OmoiError):
    """An audit entry does not match its hash or its predecessor."""

    code = "audit-chain-broken"

    def __init__(self, sequence: int, reason: str) -> None:
        super().__init__(f"audit entry {sequence}: {reason}")
        self.sequence = sequence


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditContent:
    """What an audit entry says, and the hash of the entry before it."""

    entry_id: UUID
    recorded_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    details: dict[str, Any]
    prev_hash: str

    def digest(self) -> str:
        """SHA-256 over the canonical JSON of this content (the predecessor's hash included)."""
        return hashlib.sha256(canonical_json(self._document()).encode()).hexdigest()

    def _document(self) -> dict[str, Any]:
        return {
            "entry_id": str(self.entry_id),
            "recorded_at": self.recorded_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry(AuditContent):
    """A stored entry: its place in the log and its own hash."""

    sequence: int
    entry_hash: str


class AuditLog:
    """Append audit entries and verify the chain."""

    def __init__(
        self, connection: Connection, clock: Clock, ids: IdGenerator | None = None
    ) -> None:
        self.connection = connection
        self.clock = clock
        self.ids = ids or IdGenerator(clock.timestamp_ns)

    def record(
        self,
        actor: str,
        action: str,
        entity_type: str,
        entity_id: object,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry chained to the latest one."""
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY}
            )
        last = self.connection.execute(
            select(tables.audit_log.c.entry_hash)
            .order_by(tables.audit_log.c.sequence.desc())
            .limit(1)
        ).scalar()
        content = AuditContent(
            entry_id=self.ids.next_uuid(),
            recorded_at=self.clock.utc_now(),
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            details=dict(details or {}),
            prev_hash=last or GENESIS_HASH,
        )
        digest = content.digest()
        row = {field.name: getattr(content, field.name) for field in fields(AuditContent)}
        stored = {**row, "details": canonical_json(content.details), "entry_hash": digest}
        result = self.connection.execute(insert(tables.audit_log).values(**stored))
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always reports its key
        return AuditEntry(**row, sequence=int(key[0]), entry_hash=digest)

    def head(self) -> tuple[int, str] | None:
        """The newest entry's sequence and hash: the value to anchor outside the database."""
        row = self.connection.execute(
            select(tables.audit_log.c.sequence, tables.audit_log.c.entry_hash)
            .order_by(tables.audit_log.c.sequence.desc())
            .limit(1)
        ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def entries(self, after_sequence: int = 0, limit: int | None = None) -> list[AuditEntry]:
        query = (
            select(tables.audit_log)
            .where(tables.audit_log.c.sequence > after_sequence)
            .order_by(tables.audit_log.c.sequence)
            .limit(limit)
        )
        return [
            AuditEntry(**{**row, "details": json.loads(row["details"])})
            for row in self.connection.execute(query).mappings()
        ]

    def verify(self) -> int:
        """Check every entry's hash and link; returns how many were checked."""
        expected_prev = GENESIS_HASH
        checked = 0
        for entry in self.entries():
            if entry.prev_hash != expected_prev:
                raise AuditChainBroken(entry.sequence, "does not link to the entry before it")
            recomputed = entry.digest()
            if recomputed != entry.entry_hash:
                raise AuditChainBroken(entry.sequence, "content does not match its hash")
            expected_prev = entry.entry_hash
            checked += 1
        return checked
