"""Signals: a strategy's or a bot's wish to trade, before risk has had its say."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import SignalStatus, SignalType
from omoitrade.model.fields import normalize_fields, require_json
from omoitrade.model.identifiers import InstrumentId, SignalId, StrategyId
from omoitrade.model.money import require_positive
from omoitrade.model.state_machines import SIGNAL_LIFECYCLE, SignalTrigger
from omoitrade.model.timestamps import require_utc


def _require_strength(value: object) -> None:
    """A signal's strength: a number from 0 to 1 inclusive (int, float or Decimal)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError("strength", "must be a number between 0 and 1", value)
    try:
        finite = math.isfinite(value)
    except ValueError:  # a signaling NaN cannot even be asked
        finite = False
    if not finite or not 0 <= value <= 1:
        raise ValidationError("strength", "must be between 0 and 1", value)


@dataclass(slots=True, eq=False)
class Signal:
    """A suggested trade with its strength (0..1), prices and expiry."""

    id: SignalId
    strategy_id: StrategyId
    instrument_id: InstrumentId
    signal_type: SignalType
    strength: float
    source: str
    created_at: datetime
    entry_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    expiry_at: datetime | None = None
    status: SignalStatus = SignalStatus.PENDING
    validation_result: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        _require_strength(self.strength)
        if not self.source:
            raise ValidationError("source", "must name the strategy or agent that emitted it")
        for name in ("entry_price", "stop_loss", "take_profit"):
            value = getattr(self, name)
            if value is not None:
                require_positive(name, value)
        require_utc("created_at", self.created_at)
        require_utc("expiry_at", self.expiry_at)
        if self.expiry_at is not None and self.expiry_at <= self.created_at:
            raise ValidationError("expiry_at", "must be after created_at", self.expiry_at)

    def is_expired(self, now: datetime) -> bool:
        return self.expiry_at is not None and now >= self.expiry_at

    def validate(self, result: dict[str, Any], *, trusted: bool = False) -> None:
        """PENDING -> VALIDATED, keeping what the checks found (a JSON object; checked
        unless ``trusted``: the validator builds it from texts, numbers and booleans)."""
        if not trusted:
            require_json("result", result)
        self.status = SIGNAL_LIFECYCLE.next_state(self.status, SignalTrigger.VALIDATE)
        self.validation_result = result

    def reject(self, result: dict[str, Any]) -> None:
        """PENDING or VALIDATED -> REJECTED, keeping why (a JSON object)."""
        require_json("result", result)
        self.status = SIGNAL_LIFECYCLE.next_state(self.status, SignalTrigger.REJECT)
        self.validation_result = result

    def execute(self) -> None:
        """VALIDATED -> EXECUTED: orders have been created for it."""
        self.status = SIGNAL_LIFECYCLE.next_state(self.status, SignalTrigger.EXECUTE)

    def expire(self) -> None:
        """PENDING -> EXPIRED: nobody acted on it in time."""
        self.status = SIGNAL_LIFECYCLE.next_state(self.status, SignalTrigger.EXPIRE)
