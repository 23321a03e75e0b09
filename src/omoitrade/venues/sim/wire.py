"""JSON encoding of venue commands, reports and account state, for the exchange service.

Decimals travel as strings (``"0.00001"``), exactly; datetimes as ISO 8601
with an offset; enums as their values; identifiers as strings. Decoders are
strict: a missing or malformed field is a :class:`ValidationError` naming it,
which the service answers as a 422 problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.model.enums import (
    ExecType,
    InstrumentType,
    Liquidity,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.venue import (
    AmendOrder,
    Balance,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenuePosition,
)

Json = dict[str, Any]
Command = SubmitOrder | CancelOrder | AmendOrder
StreamReport = ExecutionReport | CommandRejected

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces): equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- field helpers --------------------------------------------------------------------------
def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _time(value: datetime) -> str:
    return value.isoformat()


def _field(data: Mapping[str, Any], name: str, parse: Callable[[Any], _T]) -> _T:
    if name not in data:
        raise ValidationError(name, "is required")
    return parse_field(name, data[name], parse)


def _optional(data: Mapping[str, Any], name: str, parse: Callable[[Any], _T]) -> _T | None:
    value = data.get(name)
    return None if value is None else parse_field(name, value, parse)


def parse_field(name: str, value: Any, parse: Callable[[Any], _T]) -> _T:
    """``parse(value)``; any failure is a ValidationError naming the field ``name``."""
    try:
        return parse(value)
    except ValidationError as error:
        raise ValidationError(name, error.rule, value) from None
    except (OmoiError, ValueError, TypeError, InvalidOperation, KeyError) as error:
        raise ValidationError(name, _rule_of(parse, error), value) from None


def _rule_of(parse: Callable[[Any], Any], error: Exception) -> str:
    if parse is decimal:
        return "must be a decimal number in a string"
    if parse is timestamp:
        return "must be an ISO 8601 date-time with an offset"
    if isinstance(parse, type) and issubclass(parse, StrEnum):
        return "must be one of " + ", ".join(m.value for m in parse)
    return str(error) or "is not valid"


def decimal(value: Any) -> Decimal:
    """A finite Decimal from its string form (numbers in JSON would lose exactness)."""
    if not isinstance(value, str):
        raise TypeError("must be a string")
    result = Decimal(value)
    if not result.is_finite():
        raise ValueError("must be finite")
    return result


def timestamp(value: Any) -> datetime:
    """A tz-aware datetime from ISO 8601 text."""
    if not isinstance(value, str):
        raise TypeError("must be a string")
    result = datetime.fromisoformat(value)
    if result.tzinfo is None:
        raise ValueError("needs an offset")
    return result


def _enum(kind: type[_E]) -> Callable[[Any], _E]:
    return kind


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("must be a string")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("must be true or false")
    return value


def _instrument_id(value: Any) -> InstrumentId:
    return InstrumentId.parse(value)


def _object(value: Any, name: str = "body") -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(name, "must be a JSON object", value)
    return value


# --- commands -------------------------------------------------------------------------------
def encode_command(command: Command) -> Json:
    """A command as JSON (the same shape the service's endpoints take)."""
    body: Json = {
        "account_id": str(command.account_id),
        "client_order_id": str(command.client_order_id),
        "instrument_id": str(command.instrument_id),
    }
    if isinstance(command, SubmitOrder):
        body |= {
            "side": command.side.value,
            "order_type": command.order_type.value,
            "quantity": str(command.quantity),
            "time_in_force": command.time_in_force.value,
            "price": _dec(command.price),
            "stop_price": _dec(command.stop_price),
            "post_only": command.post_only,
            "oco_group": command.oco_group,
        }
    elif isinstance(command, AmendOrder):
        body |= {
            "quantity": _dec(command.quantity),
            "price": _dec(command.price),
            "stop_price": _dec(command.stop_price),
        }
    return body


def _order_key(data: Mapping[str, Any]) -> tuple[AccountId, ClientOrderId, InstrumentId]:
    return (
        _field(data, "account_id", AccountId),
        _field(data, "client_order_id", ClientOrderId),
        _field(data, "instrument_id", _instrument_id),
    )


def decode_submit(value: Any) -> SubmitOrder:
    data = _object(value)
    return SubmitOrder(
        *_order_key(data),
        side=_field(data, "side", _enum(OrderSide)),
        order_type=_field(data, "order_type", _enum(OrderType)),
        quantity=_field(data, "quantity", decimal),
        time_in_force=_optional(data, "time_in_force", _enum(TimeInForce)) or TimeInForce.GTC,
        price=_optional(data, "price", decimal),
        stop_price=_optional(data, "stop_price", decimal),
        post_only=_optional(data, "post_only", _boolean) or False,
        oco_group=_optional(data, "oco_group", _text),
    )


def decode_cancel(value: Any) -> CancelOrder:
    return CancelOrder(*_order_key(_object(value)))


def decode_amend(value: Any) -> AmendOrder:
    data = _object(value)
    return AmendOrder(
        *_order_key(data),
        quantity=_optional(data, "quantity", decimal),
        price=_optional(data, "price", decimal),
        stop_price=_optional(data, "stop_price", decimal),
    )


# --- reports --------------------------------------------------------------------------------
def encode_report(report: StreamReport) -> Json:
    """An execution report or a command rejection, tagged by ``kind``."""
    if isinstance(report, CommandRejected):
        return {
            "kind": "command_rejected",
            "report_id": report.report_id,
            "timestamp": _time(report.timestamp),
            "account_id": str(report.account_id),
            "instrument_id": str(report.instrument_id),
            "client_order_id": str(report.client_order_id),
            "command": report.command,
            "reason": report.reason,
            "order_status": None if report.order_status is None else report.order_status.value,
        }
    r = report
    return {
        "kind": "execution_report",
        "report_id": r.report_id,
        "exec_type": r.exec_type.value,
        "timestamp": _time(r.timestamp),
        "account_id": str(r.account_id),
        "instrument_id": str(r.instrument_id),
        "client_order_id": str(r.client_order_id),
        "venue_order_id": None if r.venue_order_id is None else str(r.venue_order_id),
        "side": r.side.value,
        "order_type": r.order_type.value,
        "time_in_force": r.time_in_force.value,
        "order_status": r.order_status.value,
        "quantity": str(r.quantity),
        "filled_quantity": str(r.filled_quantity),
        "leaves_quantity": str(r.leaves_quantity),
        "price": _dec(r.price),
        "stop_price": _dec(r.stop_price),
        "last_quantity": _dec(r.last_quantity),
        "last_price": _dec(r.last_price),
        "trade_id": None if r.trade_id is None else str(r.trade_id),
        "liquidity": None if r.liquidity is None else r.liquidity.value,
        "commission": str(r.commission),
        "commission_currency": r.commission_currency,
        "reason": r.reason,
    }


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("must be an integer")
    return value


def decode_report(value: Any) -> StreamReport:
    """The inverse of :func:`encode_report`."""
    data = _object(value, "report")
    if data.get("kind") == "command_rejected":
        return CommandRejected(
            report_id=_field(data, "report_id", _int),
            timestamp=_field(data, "timestamp", timestamp),
            account_id=_field(data, "account_id", AccountId),
            instrument_id=_field(data, "instrument_id", _instrument_id),
            client_order_id=_field(data, "client_order_id", ClientOrderId),
            command=_field(data, "command", _text),
            reason=_field(data, "reason", _text),
            order_status=_optional(data, "order_status", _enum(OrderStatus)),
        )
    return decode_execution_report(data)


def decode_execution_report(value: Any) -> ExecutionReport:
    data = _object(value, "report")
    return ExecutionReport(
        report_id=_field(data, "report_id", _int),
        exec_type=_field(data, "exec_type", _enum(ExecType)),
        timestamp=_field(data, "timestamp", timestamp),
        account_id=_field(data, "account_id", AccountId),
        instrument_id=_field(data, "instrument_id", _instrument_id),
        client_order_id=_field(data, "client_order_id", ClientOrderId),
        venue_order_id=_optional(data, "venue_order_id", VenueOrderId),
        side=_field(data, "side", _enum(OrderSide)),
        order_type=_field(data, "order_type", _enum(OrderType)),
        time_in_force=_field(data, "time_in_force", _enum(TimeInForce)),
        order_status=_field(data, "order_status", _enum(OrderStatus)),
        quantity=_field(data, "quantity", decimal),
        filled_quantity=_field(data, "filled_quantity", decimal),
        leaves_quantity=_field(data, "leaves_quantity", decimal),
        price=_optional(data, "price", decimal),
        stop_price=_optional(data, "stop_price", decimal),
        last_quantity=_optional(data, "last_quantity", decimal),
        last_price=_optional(data, "last_price", decimal),
        trade_id=_optional(data, "trade_id", VenueTradeId),
        liquidity=_optional(data, "liquidity", _enum(Liquidity)),
        commission=_field(data, "commission", decimal),
        commission_currency=_optional(data, "commission_currency", _text),
        reason=_optional(data, "reason", _text),
    )


# --- account state and instruments ----------------------------------------------------------
def encode_balance(balance: Balance) -> Json:
    return {
        "currency": balance.currency,
        "total": str(balance.total),
        "free": str(balance.free),
        "locked": str(balance.locked),
    }


def decode_balance(value: Any) -> Balance:
    data = _object(value, "balance")
    return Balance(
        currency=_field(data, "currency", _text),
        total=_field(data, "total", decimal),
        free=_field(data, "free", decimal),
        locked=_field(data, "locked", decimal),
    )


def encode_position(position: VenuePosition) -> Json:
    return {
        "instrument_id": str(position.instrument_id),
        "quantity": str(position.quantity),
        "average_price": _dec(position.average_price),
    }


def decode_position(value: Any) -> VenuePosition:
    data = _object(value, "position")
    return VenuePosition(
        instrument_id=_field(data, "instrument_id", _instrument_id),
        quantity=_field(data, "quantity", decimal),
        average_price=_optional(data, "average_price", decimal),
    )


def encode_instrument(instrument: Instrument) -> Json:
    return {
        "id": str(instrument.id),
        "symbol": instrument.symbol,
        "exchange": instrument.exchange,
        "instrument_type": instrument.instrument_type.value,
        "base_currency": instrument.base_currency,
        "quote_currency": instrument.quote_currency,
        "tick_size": str(instrument.tick_size),
        "lot_size": str(instrument.lot_size),
        "min_quantity": str(instrument.min_quantity),
        "is_active": instrument.is_active,
    }


def decode_instrument(value: Any, exchange: str | None = None) -> Instrument:
    """An instrument; without an ``id`` (a configuration file) it is derived from the symbol."""
    data = _object(value, "instrument")
    venue = exchange or _field(data, "exchange", _text)
    symbol = _field(data, "symbol", _text)
    instrument = Instrument.create(
        venue,
        symbol,
        instrument_type=_field(data, "instrument_type", _enum(InstrumentType)),
        base_currency=_field(data, "base_currency", _text),
        quote_currency=_field(data, "quote_currency", _text),
        tick_size=_field(data, "tick_size", decimal),
        lot_size=_field(data, "lot_size", decimal),
        min_quantity=_field(data, "min_quantity", decimal),
        is_active=_optional(data, "is_active", _boolean) is not False,
    )
    given = _optional(data, "id", _instrument_id)
    if given is not None and given != instrument.id:
        raise ValidationError("id", f"must be the id of {symbol} on {venue}", str(given))
    return instrument


def decode_amounts(value: Any, name: str = "deposits") -> dict[str, Decimal]:
    """A ``{"USD": "100000"}`` map of currency to amount."""
    data = _object(value, name)
    amounts: dict[str, Decimal] = {}
    for currency, amount in data.items():
        if not isinstance(currency, str) or not currency:
            raise ValidationError(name, "currencies must be non-empty strings", currency)
        amounts[currency] = parse_field(f"{name}.{currency}", amount, decimal)
    return amounts


def encode_amounts(amounts: Mapping[str, Decimal]) -> dict[str, str]:
    return {currency: str(amount) for currency, amount in amounts.items()}
