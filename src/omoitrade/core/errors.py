"""Typed errors shared by every layer.

Each error carries a stable machine-readable ``code`` (used as the ``type`` of
RFC 9457 problem details at the API edge) and a human message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class OmoiError(Exception):
    """Base of every error the system raises on purpose."""

    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data (for logs, events and problem details)."""
        return {"code": self.code, "message": self.message}


class ValidationError(OmoiError):
    """A value broke a rule; names the field and the rule."""

    code = "validation-error"

    def __init__(self, field: str, rule: str, value: Any = None) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field, "rule": self.rule}


class IllegalTransition(OmoiError):
    """A state machine was asked for a transition its table does not allow."""

    code = "illegal-transition"

    def __init__(self, machine: str, state: Any, trigger: Any, allowed: Iterable[Any]) -> None:
        self.machine = machine
        self.state = state
        self.trigger = trigger
        self.allowed = tuple(allowed)
        allowed_text = ", ".join(str(_plain(t)) for t in self.allowed) or "none"
        super().__init__(
            f"{machine}: trigger {_plain(trigger)} is not allowed in state {_plain(state)} "
            f"(allowed: {allowed_text})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "machine": self.machine,
            "state": _plain(self.state),
            "trigger": _plain(self.trigger),
            "allowed": [_plain(t) for t in self.allowed],
        }


class NotFound(OmoiError):
    """A thing looked up by its identifier does not exist."""

    code = "not-found"

    def __init__(self, kind: str, key: Any) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = key


class Conflict(OmoiError):
    """A request contradicts what is already recorded."""

    code = "conflict"


def _plain(value: Any) -> Any:
    """Enum members print as their value; everything else as itself."""
    return getattr(value, "value", value)
