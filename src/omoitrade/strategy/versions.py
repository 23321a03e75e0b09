"""Strategy versions: content hashes, diffs between documents, and the next version.

Versions are immutable and numbered 1, 2, 3, ... per strategy. Each carries the
whole document (with its ``version`` field set to its number), the sha256 of its
canonical JSON, who made it and when, a note, and the diff from the version
before. A rollback makes a new version with an old version's content and
``restored_from`` set, so history only grows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from omoitrade.core.errors import Conflict, NotFound
from omoitrade.core.ids import IdGenerator
from omoitrade.model.identifiers import StrategyId, StrategyVersionId
from omoitrade.model.strategy_versions import StrategyVersion

_ABSENT = object()


def canonical_json(document: dict[str, Any]) -> str:
    """Sorted keys, no spaces: equal documents give equal text."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(document: dict[str, Any]) -> str:
    """The sha256 (hex) of the document's content, its ``version`` number left out."""
    content = {k: v for k, v in document.items() if k != "version"}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def document_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from ``old`` to ``new``: one entry per added, removed or replaced
    value, by path (``risk_parameters.stop_loss.percent``, ``entry_rules.all[2]``)."""
    changes: list[dict[str, Any]] = []
    _diff(old, new, "", changes)
    return [c for c in changes if c["path"] != "version"]


def _diff(old: Any, new: Any, path: str, changes: list[dict[str, Any]]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            child = f"{path}.{key}" if path else key
            _diff(old.get(key, _ABSENT), new.get(key, _ABSENT), child, changes)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{index}]", changes)
    elif old is _ABSENT:
        changes.append({"op": "add", "path": path, "new": new})
    elif new is _ABSENT:
        changes.append({"op": "remove", "path": path, "old": old})
    elif old != new or type(old) is not type(new):
        changes.append({"op": "replace", "path": path, "old": old, "new": new})


def next_version(
    history: Sequence[StrategyVersion],
    strategy_id: StrategyId,
    document: dict[str, Any],
    *,
    author: str,
    at: datetime,
    ids: IdGenerator,
    note: str = "",
    restored_from: int | None = None,
) -> StrategyVersion:
    """The version after ``history`` (oldest first) holding ``document``.

    Raises Conflict when the content equals the latest version's (nothing to version).
    """
    latest = history[-1] if history else None
    number = latest.version + 1 if latest else 1
    document = dict(document) | {"version": number}
    digest = content_hash(document)
    if latest is not None and latest.content_hash == digest:
        raise Conflict(f"the content equals version {latest.version}: nothing to version")
    return StrategyVersion(
        id=StrategyVersionId.new(ids),
        strategy_id=strategy_id,
        version=number,
        document=document,
        content_hash=digest,
        author=author,
        created_at=at,
        change_note=note,
        diff=document_diff(latest.document, document) if latest else [],
        restored_from=restored_from,
    )


def rollback_version(
    history: Sequence[StrategyVersion],
    to_version: int,
    *,
    author: str,
    at: datetime,
    ids: IdGenerator,
    note: str = "",
) -> StrategyVersion:
    """A new version re-activating ``to_version``'s content (``restored_from`` names it)."""
    target = next((v for v in history if v.version == to_version), None)
    if target is None:
        raise NotFound("strategy version", to_version)
    return next_version(
        history,
        target.strategy_id,
        target.document,
        author=author,
        at=at,
        ids=ids,
        note=note or f"rollback to version {to_version}",
        restored_from=to_version,
    )
