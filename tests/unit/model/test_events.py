"""Tests for domain events: the registry and the exact JSON round trip of every event."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import StrIdentifier, UuidIdentifier
from omoitrade.model import events as events_module
from omoitrade.model.enums import OrderSide, OrderType, TimeInForce
from omoitrade.model.events import (
    EVENT_TYPES,
    DomainEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    SignalExecuted,
    SignalValidated,
    assemble,
    event_from_dict,
    event_from_json,
    event_to_dict,
    event_to_json,
)
from omoitrade.model.identifiers import (
    ClientOrderId,
    EventId,
    InstrumentId,
    OrderId,
    PortfolioId,
    SignalId,
    TradeId,
    VenueTradeId,
)

D = Decimal
CONCRETE = sorted(
    (cls for cls in EVENT_TYPES.values() if cls.topic != "events"), key=lambda c: c.__name__
)
EXPECTED_CONCRETE = {
    "OrderSubmitted",
    "OrderAccepted",
    "OrderRejected",
    "OrderAmended",
    "OrderPartiallyFilled",
    "OrderFilled",
    "OrderCancelled",
    "SignalCreated",
    "SignalValidated",
    "SignalRejected",
    "SignalExecuted",
    "SignalExpired",
    "TradePhaseChanged",
    "StrategyStatusChanged",
    "StrategyVersionCreated",
    "SignalAwaitingApproval",
    "SignalApprovalDecided",
    "SignalExitTriggered",
    "SignalSettled",
    "PositionChanged",
    "PositionOpened",
    "PositionClosed",
    "RiskLimitBreached",
    "RiskLimitWarning",
    "TradingStateChanged",
    "KillSwitchEngaged",
    "KillSwitchReleased",
    "StrategyThrottled",
    "StrategyReEnabled",
    "MarketDataAnomaly",
}


# -- strategies for event fields -------------------------------------------------------------

SPECIAL_DECIMALS = [
    D("1E+2"),
    D("0.10"),
    D("0"),
    D("-0"),
    D("0E-8"),
    D("42000.00"),
    D("1E-30"),
    D("-123.4500"),
    D("12345678901234567890123456789.123456789"),
]
DECIMALS = st.one_of(
    st.sampled_from(SPECIAL_DECIMALS),
    # built from text so that neither the context precision nor rounding gets involved;
    # up to 30 digits with exponents keeping the magnitude inside the model's 1e+-40 bound
    st.builds(
        lambda coefficient, exponent: D(f"{coefficient}E{exponent}"),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.integers(min_value=-40, max_value=10),
    ),
)
DATETIMES = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
ID_TEXT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-",
    min_size=1,
    max_size=64,
)


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """A strategy producing values of the (resolved) type ``annotation``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(strategy_for(arg) for arg in typing.get_args(annotation)))
    if annotation is type(None):
        return st.none()
    if origin is tuple:
        item, ellipsis = typing.get_args(annotation)
        assert ellipsis is Ellipsis
        return st.lists(strategy_for(item), max_size=4).map(tuple)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4)
    if isinstance(annotation, type):
        if issubclass(annotation, UuidIdentifier):
            return st.uuids().map(lambda u, kind=annotation: kind(int=u.int))
        if issubclass(annotation, StrIdentifier):
            return ID_TEXT.map(annotation)
        if issubclass(annotation, Enum):
            return st.sampled_from(annotation)
        if annotation is Decimal:
            return DECIMALS
        if annotation is datetime:
            return DATETIMES
        if annotation is bool:
            return st.booleans()
        if annotation is int:
            return st.integers(min_value=-(2**63), max_value=2**63)
        if annotation is float:
            return st.floats(min_value=0, max_value=1)
        if annotation is str:
            return st.text(max_size=40)
    raise NotImplementedError(f"no strategy for {annotation!r}")


def events_of(cls: type[DomainEvent]) -> st.SearchStrategy[DomainEvent]:
    hints = typing.get_type_hints(cls, vars(events_module))
    fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


def decimal_fields(event: DomainEvent) -> dict[str, Decimal]:
    return {
        f.name: getattr(event, f.name)
        for f in dataclasses.fields(event)
        if isinstance(getattr(event, f.name), Decimal)
    }


def assert_exact_round_trip(event: DomainEvent) -> DomainEvent:
    text = event_to_json(event)
    back = event_from_json(text)

    assert type(back) is type(event)
    assert back == event
    for f in dataclasses.fields(event):
        original, copy = getattr(event, f.name), getattr(back, f.name)
        assert type(copy) is type(original), f.name
        if isinstance(original, Decimal):
            assert str(copy) == str(original), f.name
        if isinstance(original, datetime):
            assert copy.utcoffset() is not None and copy.utcoffset().total_seconds() == 0
            assert copy.microsecond == original.microsecond
        if isinstance(original, tuple):
            assert [type(x) for x in copy] == [type(x) for x in original], f.name
    assert event_to_json(back) == text  # stable: the copy serializes identically
    return back


# -- registry ------------------------------------------------------------------------------------


def test_every_concrete_event_is_registered_under_its_class_name() -> None:
    assert {cls.__name__ for cls in CONCRETE} == EXPECTED_CONCRETE
    for name, cls in EVENT_TYPES.items():
        assert cls.__name__ == name
        assert getattr(events_module, name) is cls


def test_the_base_event_is_not_registered() -> None:
    assert "DomainEvent" not in EVENT_TYPES


def test_concrete_events_have_distinct_topics_under_events() -> None:
    topics = [cls.topic for cls in CONCRETE]

    assert len(set(topics)) == len(topics)
    assert all(topic.startswith("events.") for topic in topics)


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
def test_stream_field_is_an_id_field_of_the_event(cls: type[DomainEvent]) -> None:
    names = {f.name for f in dataclasses.fields(cls)}

    assert cls.stream_field in names
    assert cls.stream_field.endswith("_id")


def test_stream_id_is_the_id_of_the_entity_the_event_is_about() -> None:
    order_id = OrderId.new()
    event = SignalExecuted(
        event_id=EventId.new(),
        occurred_at=datetime(2024, 1, 2, tzinfo=UTC),
        signal_id=SignalId.new(),
        order_ids=(order_id,),
    )

    assert event.stream_id == event.signal_id
    assert event.stream_id != event.event_id


def test_events_are_immutable() -> None:
    event = SignalValidated(
        event_id=EventId.new(),
        occurred_at=datetime(2024, 1, 2, tzinfo=UTC),
        signal_id=SignalId.new(),
        validation_result={},
    )

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.signal_id = SignalId.new()  # type: ignore[misc]


# -- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_every_event_round_trips_exactly_through_json(
    cls: type[DomainEvent], data: st.DataObject
) -> None:
    assert_exact_round_trip(data.draw(events_of(cls)))


def fill(**overrides: Any) -> OrderFilled:
    fields: dict[str, Any] = {
        "event_id": EventId.new(),
        "occurred_at": datetime(2024, 1, 2, 9, 30, 0, 123456, tzinfo=UTC),
        "order_id": OrderId.new(),
        "portfolio_id": PortfolioId.new(),
        "instrument_id": InstrumentId.of("SIM", "BTC/USD"),
        "side": OrderSide.BUY,
        "trade_id": TradeId.new(),
        "exchange_trade_id": VenueTradeId("T-1"),
        "fill_quantity": D("0.10"),
        "fill_price": D("1E+2"),
        "commission": D("0E-8"),
        "filled_quantity": D("0.5000"),
        "average_fill_price": D("42000.01666666666666666666667"),
    }
    return OrderFilled(**(fields | overrides))


def test_decimals_travel_as_their_exact_text() -> None:
    event = fill()

    data = json.loads(event_to_json(event))["data"]

    assert data["fill_quantity"] == "0.10"
    assert data["fill_price"] == "1E+2"
    assert data["commission"] == "0E-8"
    assert data["average_fill_price"] == "42000.01666666666666666666667"
    back = assert_exact_round_trip(event)
    assert str(back.fill_price) == "1E+2"


def test_timestamps_travel_as_utc_iso_8601_with_microseconds() -> None:
    data = json.loads(event_to_json(fill()))["data"]

    assert data["occurred_at"] == "2024-01-02T09:30:00.123456Z"


def test_event_json_is_compact_and_sorted() -> None:
    event = fill()
    text = event_to_json(event)
    document = json.loads(text)

    assert list(document) == ["data", "type"]
    assert document["type"] == "OrderFilled"
    assert list(document["data"]) == sorted(document["data"])
    assert ", " not in text and ": " not in text


def test_event_to_dict_and_back() -> None:
    event = OrderSubmitted(
        event_id=EventId.new(),
        occurred_at=datetime(2024, 1, 2, tzinfo=UTC),
        order_id=OrderId.new(),
        client_order_id=ClientOrderId("c-1"),
        portfolio_id=PortfolioId.new(),
        instrument_id=InstrumentId.of("SIM", "BTC/USD"),
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=D("0.5"),
        time_in_force=TimeInForce.GTC,
        price=D("42000.00"),
    )

    document = event_to_dict(event)

    assert document["type"] == "OrderSubmitted"
    assert document["data"]["side"] == "BUY"
    assert document["data"]["stop_price"] is None
    assert document["data"]["client_order_id"] == "c-1"
    assert event_from_dict(document) == event


# -- refused documents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "shown"),
    [
        ({"type": "NoSuchEvent", "data": {}}, "'NoSuchEvent'"),
        ({"type": "DomainEvent", "data": {}}, "'DomainEvent'"),
        ({"data": {}}, "None"),
        ({"type": 42, "data": {}}, "42"),
    ],
)
def test_unknown_event_type_is_refused(document: dict, shown: str) -> None:
    with pytest.raises(ValidationError) as caught:
        event_from_json(json.dumps(document))

    assert caught.value.field == "type"
    assert caught.value.rule == f"unknown event type {shown}"


# -- assembling from checked values -------------------------------------------------------------


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_an_assembled_event_equals_the_constructed_one(
    cls: type[DomainEvent], data: st.DataObject
) -> None:
    event = data.draw(events_of(cls))
    values = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    assembled = assemble(cls, **values)
    assert type(assembled) is cls and assembled == event
    assert event_to_json(assembled) == event_to_json(event)


def test_assemble_refuses_missing_and_unknown_fields() -> None:
    base = {"event_id": EventId.new(), "occurred_at": datetime(2024, 1, 2, tzinfo=UTC)}
    with pytest.raises(TypeError, match="order_id"):
        assemble(OrderRejected, reason="x", **base)
    with pytest.raises(TypeError, match="colour"):
        assemble(OrderRejected, order_id=OrderId.new(), reason="x", colour="red", **base)
