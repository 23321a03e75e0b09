"""Settings every algorithm shares: what to do when a child is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omoitrade.core.errors import ValidationError

SECOND_NS = 1_000_000_000


class RejectPolicy(StrEnum):
    """What a rejected child does to its parent."""

    FAIL = "FAIL"  # the parent stops, FAILED, with the child's reason
    CONTINUE = "CONTINUE"  # the quantity is free again and is retried later


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgoParams:
    """Base of every algorithm's parameters.

    With ``RejectPolicy.CONTINUE`` nothing is sent for ``retry_after_ns`` after a
    rejection, and more than ``max_rejects`` rejections in a row (no fill between) fail
    the parent all the same.
    """

    on_reject: RejectPolicy = RejectPolicy.FAIL
    max_rejects: int = 3
    retry_after_ns: int = SECOND_NS

    def __post_init__(self) -> None:
        if self.max_rejects < 0:
            raise ValidationError("max_rejects", "must not be negative", self.max_rejects)
        if self.retry_after_ns <= 0:
            raise ValidationError("retry_after_ns", "must be greater than 0", self.retry_after_ns)


def require_positive_int(name: str, value: object) -> None:
    """A ValidationError unless ``value`` is a whole number greater than zero."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValidationError(name, "must be a whole number greater than 0", value)
