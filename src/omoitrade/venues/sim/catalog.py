"""What a simulated exchange service trades and how it opens accounts.

The built-in instruments are the demo grids: a crypto pair, an equity and an
FX pair on venue ``SIM``. A JSON file (a list of instrument objects without
ids, see :func:`load_instruments`) replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import InstrumentType
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO
from omoitrade.venues.sim import wire

DEFAULT_VENUE = "SIM"

DEFAULT_INSTRUMENT_SPECS: tuple[Mapping[str, Any], ...] = (
    {
        "symbol": "BTC/USD",
        "instrument_type": InstrumentType.SPOT,
        "base_currency": "BTC",
        "quote_currency": "USD",
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("0.00001"),
        "min_quantity": Decimal("0.00001"),
    },
    {
        "symbol": "AAPL",
        "instrument_type": InstrumentType.EQUITY,
        "base_currency": "AAPL",
        "quote_currency": "USD",
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("1"),
        "min_quantity": Decimal("1"),
    },
    {
        "symbol": "EUR/USD",
        "instrument_type": InstrumentType.FOREX,
        "base_currency": "EUR",
        "quote_currency": "USD",
        "tick_size": Decimal("0.00001"),
        "lot_size": Decimal("1000"),
        "min_quantity": Decimal("1000"),
    },
)


def default_instruments(venue: str = DEFAULT_VENUE) -> list[Instrument]:
    """The built-in instruments on ``venue``."""
    return [Instrument.create(venue, **spec) for spec in DEFAULT_INSTRUMENT_SPECS]


def load_instruments(path: Path, venue: str = DEFAULT_VENUE) -> list[Instrument]:
    """Instruments from a JSON file: a list of objects with ``symbol``, ``instrument_type``,
    ``base_currency``, ``quote_currency`` and ``tick_size``/``lot_size``/``min_quantity``
    as strings. Ids are derived from ``venue`` and the symbol."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValidationError("instruments", f"cannot read {path}: {error}") from None
    if not isinstance(data, list) or not data:
        raise ValidationError("instruments", "must be a non-empty JSON list")
    return [wire.decode_instrument(item, exchange=venue) for item in data]


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything that makes one exchange service's state differ from another's.

    ``starting_cash`` is deposited into an account opened implicitly by its first
    command. The configuration is stored with the journal when the database is
    created: a restart with a different one is refused.
    """

    venue: str = DEFAULT_VENUE
    instruments: Sequence[Instrument] = field(default_factory=default_instruments)
    starting_cash: Mapping[str, Decimal] = field(
        default_factory=lambda: {"USD": Decimal("1000000")}
    )
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    enforce_balances: bool = False

    def __post_init__(self) -> None:
        for instrument in self.instruments:
            if instrument.exchange != self.venue:
                raise ValidationError("instruments", f"{instrument} is not on {self.venue}")
        if not self.instruments:
            raise ValidationError("instruments", "must not be empty")

    def to_json(self) -> wire.Json:
        return {
            "venue": self.venue,
            "instruments": [wire.encode_instrument(i) for i in self.instruments],
            "starting_cash": wire.encode_amounts(self.starting_cash),
            "maker_fee": str(self.maker_fee),
            "taker_fee": str(self.taker_fee),
            "enforce_balances": self.enforce_balances,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceConfig:
        return cls(
            venue=data["venue"],
            instruments=[wire.decode_instrument(i) for i in data["instruments"]],
            starting_cash=wire.decode_amounts(data["starting_cash"], "starting_cash"),
            maker_fee=wire.decimal(data["maker_fee"]),
            taker_fee=wire.decimal(data["taker_fee"]),
            enforce_balances=bool(data["enforce_balances"]),
        )
