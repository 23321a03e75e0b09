"""Entity constructors normalize their fields: enums from text, Decimals never from floats,
typed identifiers from UUIDs or text, JSON fields holding only JSON values."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.model import (
    ClientOrderId,
    InstrumentId,
    Order,
    OrderId,
    OrderSide,
    OrderStatus,
    PortfolioId,
    PositionSide,
    Quote,
    SignalId,
    StrategyId,
    Timeframe,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model import fields as fields_module
from omoitrade.model.fields import MAX_JSON_DEPTH
from omoitrade.testing import factories as f


def test_enum_fields_given_as_text_become_members() -> None:
    order = f.make_order(
        f.make_portfolio(f.make_organization()).id, f.make_instrument(), side="SELL"
    )
    assert order.side is OrderSide.SELL
    assert order.status is OrderStatus.PENDING
    position = f.make_position(order.portfolio_id, f.make_instrument(), side="SHORT")
    assert position.side is PositionSide.SHORT
    assert position.signed_quantity == Decimal("-0.5")
    assert f.make_bar(f.make_instrument(), timeframe="5m").timeframe is Timeframe.M5


def test_unknown_enum_text_names_the_field_and_the_allowed_values() -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_order(f.make_portfolio(f.make_organization()).id, f.make_instrument(), side="HOLD")
    assert (caught.value.field, caught.value.rule) == ("side", "must be one of BUY, SELL")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: f.make_bar(f.make_instrument(), close=42000.5), "close"),
        (
            lambda: f.make_signal(
                f.make_strategy(f.PortfolioId.new()).id, f.make_instrument(), entry_price=1.5
            ),
            "entry_price",
        ),
        (lambda: f.make_order(f.PortfolioId.new(), f.make_instrument(), quantity=0.5), "quantity"),
        (lambda: f.make_portfolio(f.make_organization(), cash=0.1), "cash"),
    ],
)
def test_float_money_is_refused_at_construction(build, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == field
    assert caught.value.rule == "must be a Decimal, int or numeric string, not float"


def test_numeric_text_and_ints_become_decimals() -> None:
    bar = f.make_bar(f.make_instrument(), volume="12.5", open=42000, high="42100.50")
    assert (bar.volume, bar.open) == (Decimal("12.5"), Decimal("42000"))
    assert isinstance(bar.open, Decimal)


def test_only_fixed_zero_offset_zones_count_as_utc() -> None:
    london_winter = datetime(2024, 1, 2, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    assert london_winter.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError, match="created_at: must be timezone-aware UTC"):
        f.make_organization(created_at=london_winter)
    assert f.make_organization(created_at=datetime(2024, 1, 2, tzinfo=UTC)).created_at


def test_quote_prices_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="bid_price: must be greater than 0"):
        Quote(
            instrument_id=f.make_instrument().id,
            timestamp=datetime(2024, 1, 2, tzinfo=UTC),
            bid_price=Decimal("0"),
            ask_price=Decimal("1.00"),
            bid_size=Decimal("1"),
            ask_size=Decimal("1"),
        )


@pytest.mark.parametrize(("field", "value"), [("price", Decimal("0")), ("price", Decimal("-5"))])
def test_amend_refuses_non_positive_prices(field: str, value: Decimal) -> None:
    order = f.make_order(f.PortfolioId.new(), f.make_instrument())
    order.submit(f.T0)
    with pytest.raises(ValidationError, match=f"{field}: must be greater than 0"):
        order.amend(f.T0, **{field: value})
    assert order.price == Decimal("42000.00")


# -- typed identifiers --------------------------------------------------------------------------


def order_with(**overrides: object) -> Order:
    portfolio_id = overrides.pop("portfolio_id", PortfolioId.new())
    return f.make_order(portfolio_id, f.make_instrument(), **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field", ["id", "portfolio_id", "instrument_id", "signal_id"], ids=lambda name: name
)
@pytest.mark.parametrize("junk", ["x", "", 42, b"0" * 16, object()])
def test_a_uuid_identifier_field_refuses_junk_naming_the_field(field: str, junk: object) -> None:
    with pytest.raises(ValidationError) as caught:
        order_with(**{field: junk})

    assert (caught.value.field, caught.value.rule) == (field, "must be a UUID")
    assert caught.value.value is junk


def test_order_with_a_junk_id_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"^id: must be a UUID$"):
        order_with(id="x")


@pytest.mark.parametrize(
    ("field", "kind"),
    [("id", OrderId), ("portfolio_id", PortfolioId), ("instrument_id", InstrumentId)],
)
def test_a_uuid_or_its_text_becomes_the_declared_identifier_kind(field: str, kind: type) -> None:
    raw = uuid.uuid4()

    from_uuid = order_with(**{field: raw})
    from_text = order_with(**{field: str(raw).upper()})

    for order in (from_uuid, from_text):
        assert type(getattr(order, field)) is kind
        assert getattr(order, field) == raw


def test_an_optional_identifier_may_be_none_or_is_coerced() -> None:
    assert order_with(signal_id=None).signal_id is None
    raw = uuid.uuid4()
    assert type(order_with(signal_id=str(raw)).signal_id) is SignalId


def test_text_identifier_fields_become_their_kind() -> None:
    order = order_with(client_order_id="c-42", exchange_order_id="V-1")

    assert type(order.client_order_id) is ClientOrderId
    assert type(order.exchange_order_id) is VenueOrderId
    trade = f.make_trade(order, exchange_trade_id="T-1")
    assert type(trade.exchange_trade_id) is VenueTradeId


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("has space", "must contain only letters, digits and . _ : -"),
        ("", "must be a non-empty string"),
        (7, "must be a non-empty string"),
        ("x" * 65, "must be at most 64 characters"),
    ],
)
def test_a_text_identifier_field_refuses_junk_naming_the_field(value: object, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        order_with(client_order_id=value)

    assert (caught.value.field, caught.value.rule) == ("client_order_id", rule)


def test_a_list_of_identifiers_is_coerced_element_by_element() -> None:
    strategy, instrument = uuid.uuid4(), f.make_instrument().id
    agent = f.make_agent(
        assigned_strategies=[str(strategy)], assigned_instruments=(str(instrument),)
    )

    assert agent.assigned_strategies == [strategy]
    assert [type(s) for s in agent.assigned_strategies] == [StrategyId]
    assert agent.assigned_instruments == [instrument]
    assert type(agent.assigned_instruments) is list
    assert [type(i) for i in agent.assigned_instruments] == [InstrumentId]


def test_a_list_of_identifiers_of_the_right_kind_is_kept_as_given() -> None:
    strategies = [StrategyId.new(), StrategyId.new()]

    assert f.make_agent(assigned_strategies=strategies).assigned_strategies is strategies


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (["not-a-uuid"], "must be a UUID"),
        ([StrategyId.new(), None], "must be a UUID"),
        ("0190c0de-0000-7000-8000-000000000000", "must be a list of StrategyId"),
        ({StrategyId.new()}, "must be a list of StrategyId"),
    ],
)
def test_a_list_of_identifiers_refuses_junk_naming_the_field(value: object, rule: str) -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_agent(assigned_strategies=value)

    assert (caught.value.field, caught.value.rule) == ("assigned_strategies", rule)


# -- JSON fields --------------------------------------------------------------------------------

JSON_RULE = "must contain only JSON values (str, int, float, bool, None, lists and objects)"


@pytest.mark.parametrize(
    "value",
    [
        {"price": Decimal("1.5")},
        {"at": datetime(2024, 1, 2, tzinfo=UTC)},
        {"nested": {"deeper": [1, 2, {"x": Decimal("1")}]}},
        {"id": uuid.uuid4()},
        {"ratio": float("nan")},
        {"ratio": float("inf")},
        {"pair": (1, 2)},
        {"tags": {"a", "b"}},
        {1: "integer key"},
        {"blob": b"bytes"},
    ],
)
def test_a_json_field_refuses_what_json_cannot_hold(value: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_instrument(metadata=value)

    assert (caught.value.field, caught.value.rule) == ("metadata", JSON_RULE)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda value: f.make_strategy(f.PortfolioId.new(), entry_rules=value), "entry_rules"),
        (
            lambda value: f.make_strategy(f.PortfolioId.new(), risk_parameters=value),
            "risk_parameters",
        ),
        (lambda value: f.make_agent(trading_permissions=value), "trading_permissions"),
        (lambda value: f.make_task(payload=value), "payload"),
        (lambda value: f.make_task(execution_result=value), "execution_result"),
        (
            lambda value: f.make_signal(
                StrategyId.new(), f.make_instrument(), validation_result=value
            ),
            "validation_result",
        ),
    ],
)
def test_every_json_field_is_checked_at_construction(build, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        build({"max_order_size": Decimal("1.5")})

    assert (caught.value.field, caught.value.rule) == (field, JSON_RULE)


@pytest.mark.parametrize("value", [[], "text", None, [("a", 1)]])
def test_a_json_object_field_must_be_a_dict(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_task(payload=value)

    assert caught.value.field == "payload"
    assert caught.value.rule == "must be a JSON object (a dict with string keys)"


def test_an_optional_json_field_may_be_none() -> None:
    assert f.make_task(execution_result=None).execution_result is None
    assert f.make_signal(StrategyId.new(), f.make_instrument()).validation_result is None


def test_json_nested_beyond_the_depth_limit_or_in_a_cycle_is_refused() -> None:
    cycle: dict = {}
    cycle["self"] = cycle
    deep: dict = {}
    node = deep
    for _ in range(MAX_JSON_DEPTH + 1):
        node["x"] = node = {}

    for value in (cycle, deep):
        with pytest.raises(ValidationError) as caught:
            f.make_task(payload=value)
        assert caught.value.field == "payload"
        assert (
            caught.value.rule
            == f"must not nest lists and objects deeper than {MAX_JSON_DEPTH} levels"
        )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=5))
def test_json_objects_are_accepted_and_survive_a_store_round_trip(value: dict) -> None:
    task = f.make_task(payload=value)

    assert task.payload is value
    assert json.loads(json.dumps(task.payload, allow_nan=False)) == value


INTRUDERS = [Decimal("1"), datetime(2024, 1, 2, tzinfo=UTC), (1,), float("nan"), uuid.uuid4()]
JSON_OBJECTS = st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3)


def _hide(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``children`` (which hold an intruder) inside a list or an object among JSON values."""
    in_list = st.builds(
        lambda good, bad, at: [*good[:at], bad, *good[at:]],
        st.lists(JSON_VALUES, max_size=3),
        children,
        st.integers(min_value=0, max_value=3),
    )
    in_object = st.builds(
        lambda good, key, bad: {**good, key: bad}, JSON_OBJECTS, st.text(), children
    )
    return in_list | in_object


POISONED = st.recursive(st.sampled_from(INTRUDERS), _hide, max_leaves=6)


@settings(max_examples=200, deadline=None)
@given(
    value=st.builds(lambda good, key, bad: {**good, key: bad}, JSON_OBJECTS, st.text(), POISONED)
)
def test_one_non_json_value_at_any_depth_is_refused(value: dict) -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_task(payload=value)

    assert (caught.value.field, caught.value.rule) == ("payload", JSON_RULE)


def test_enum_members_and_text_identifiers_count_as_json_strings() -> None:
    payload = {"side": OrderSide.BUY, "venue_order": VenueOrderId("V-1"), "ok": True}

    assert f.make_task(payload=payload).payload == {"side": "BUY", "venue_order": "V-1", "ok": True}


@pytest.mark.parametrize("value", [["SIM", 1], "SIM", [None], ("SIM",)])
def test_a_list_of_strings_field_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_portfolio(f.make_organization(), connected_exchanges=value)

    assert (caught.value.field, caught.value.rule) == (
        "connected_exchanges",
        "must be a list of strings",
    )


def test_the_normalizer_is_generated_once_per_class() -> None:
    order_with()
    normalizer = fields_module._NORMALIZERS[Order]

    order_with(client_order_id="c-1", quantity="0.5")

    assert fields_module._NORMALIZERS[Order] is normalizer


def test_a_class_without_typed_fields_gets_a_normalizer_that_does_nothing() -> None:
    @dataclasses.dataclass
    class Note:
        text: str
        count: int = 0

    note = Note("hello")
    fields_module.normalize_fields(note)

    assert (note.text, note.count) == ("hello", 0)


# -- Decimal fields given as Decimals are still checked -----------------------------------------


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (Decimal("NaN"), "must be finite"),
        (Decimal("sNaN"), "must be finite"),
        (Decimal("-Infinity"), "must be finite"),
        (Decimal("1E+999999999"), "must be between 1e-40 and 1e40 in magnitude"),
        (Decimal("1E-41"), "must be between 1e-40 and 1e40 in magnitude"),
    ],
)
def test_a_decimal_field_refuses_non_finite_and_unbounded_decimals(
    value: Decimal, rule: str
) -> None:
    for build, field in (
        (lambda: order_with(quantity=value), "quantity"),
        (lambda: order_with(price=value), "price"),
        (lambda: f.make_bar(f.make_instrument(), volume=value), "volume"),
        (lambda: f.make_instrument(tick_size=value), "tick_size"),
    ):
        with pytest.raises(ValidationError) as caught:
            build()
        assert (caught.value.field, caught.value.rule) == (field, rule)


def test_a_valid_decimal_field_keeps_the_given_object() -> None:
    quantity = Decimal("0.50")

    assert order_with(quantity=quantity).quantity is quantity
