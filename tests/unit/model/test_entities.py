"""Tests for the other entities: signals, strategies, positions, portfolios, accounts,
risk limits, trading agents and tasks, and trades."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import IllegalTransition, ValidationError
from omoitrade.model import (
    AgentStatus,
    Instrument,
    Organization,
    OrganizationId,
    Portfolio,
    PortfolioId,
    Position,
    PositionSide,
    RiskProfile,
    Signal,
    SignalStatus,
    StrategyId,
    StrategyStatus,
    TaskStatus,
    money,
    signals,
)
from omoitrade.model.state_machines import StrategyTrigger
from omoitrade.testing.factories import (
    T0,
    make_agent,
    make_instrument,
    make_order,
    make_organization,
    make_portfolio,
    make_position,
    make_risk_limit,
    make_signal,
    make_strategy,
    make_task,
    make_trade,
    make_user,
)

D = Decimal
T1 = T0 + timedelta(seconds=1)
T2 = T0 + timedelta(seconds=2)
NAIVE = datetime(2024, 1, 2, 9, 30)


@pytest.fixture
def instrument() -> Instrument:
    return make_instrument()


@pytest.fixture
def organization() -> Organization:
    return make_organization()


def error_of(call: object, *args: object, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.field, caught.value.rule


# -- signals -------------------------------------------------------------------------------------


def signal(instrument: Instrument, **overrides: object) -> Signal:
    return make_signal(StrategyId.new(), instrument, **overrides)


def test_factory_signal_is_pending(instrument: Instrument) -> None:
    s = signal(instrument)

    assert s.status is SignalStatus.PENDING
    assert s.validation_result is None


@pytest.mark.parametrize("strength", [0, 0.0, 1, 1.0, 0.5, D("0.25"), D("0.75"), D("1.000")])
def test_signal_strength_from_zero_to_one_is_accepted(
    instrument: Instrument, strength: object
) -> None:
    assert signal(instrument, strength=strength).strength == strength


@pytest.mark.parametrize(
    "strength",
    [-0.01, 1.01, 1.0000001, float("nan"), float("inf"), 5, 2, D("-1E-30"), D("NaN"), D("sNaN")],
)
def test_signal_strength_outside_zero_to_one_is_refused(
    instrument: Instrument, strength: object
) -> None:
    assert error_of(signal, instrument, strength=strength) == (
        "strength",
        "must be between 0 and 1",
    )


@pytest.mark.parametrize("strength", [True, False, "0.5", None, [0.5]])
def test_signal_strength_must_be_a_number(instrument: Instrument, strength: object) -> None:
    assert error_of(signal, instrument, strength=strength) == (
        "strength",
        "must be a number between 0 and 1",
    )


def test_signal_strength_check_lives_with_signals_not_money() -> None:
    assert not hasattr(money, "require_unit_interval")
    assert signals._require_strength(0.5) is None


@pytest.mark.parametrize("method", ["validate", "reject"])
@pytest.mark.parametrize(
    "result",
    [{"score": D("0.5")}, {"at": T0}, {"ids": (1, 2)}, {"ratio": float("nan")}, ["not", "a dict"]],
)
def test_signal_validation_result_must_be_a_json_object_and_a_refusal_changes_nothing(
    instrument: Instrument, method: str, result: object
) -> None:
    s = signal(instrument)

    field, _ = error_of(getattr(s, method), result)

    assert field == "result"
    assert s.status is SignalStatus.PENDING
    assert s.validation_result is None


def test_signal_must_name_its_source(instrument: Instrument) -> None:
    assert error_of(signal, instrument, source="") == (
        "source",
        "must name the strategy or agent that emitted it",
    )


@pytest.mark.parametrize("field", ["entry_price", "stop_loss", "take_profit"])
def test_signal_prices_must_be_positive_when_given(instrument: Instrument, field: str) -> None:
    assert error_of(signal, instrument, **{field: D("0")}) == (field, "must be greater than 0")
    assert getattr(signal(instrument, **{field: None}), field) is None


@pytest.mark.parametrize("expiry_at", [T0, T0 - timedelta(microseconds=1)])
def test_signal_expiry_must_be_after_creation(instrument: Instrument, expiry_at: datetime) -> None:
    assert error_of(signal, instrument, expiry_at=expiry_at) == (
        "expiry_at",
        "must be after created_at",
    )


def test_signal_expiry_is_optional(instrument: Instrument) -> None:
    s = signal(instrument, expiry_at=None)

    assert not s.is_expired(T0 + timedelta(days=365))


@pytest.mark.parametrize("field", ["created_at", "expiry_at"])
def test_signal_timestamps_must_be_utc(instrument: Instrument, field: str) -> None:
    assert error_of(signal, instrument, **{field: NAIVE + timedelta(hours=1)}) == (
        field,
        "must be timezone-aware UTC",
    )


def test_signal_is_expired_from_its_expiry_on(instrument: Instrument) -> None:
    s = signal(instrument, expiry_at=T0 + timedelta(minutes=5))

    assert not s.is_expired(T0 + timedelta(minutes=5) - timedelta(microseconds=1))
    assert s.is_expired(T0 + timedelta(minutes=5))
    assert s.is_expired(T0 + timedelta(minutes=6))


def test_signal_validate_then_execute(instrument: Instrument) -> None:
    s = signal(instrument)

    s.validate({"risk": "ok"})
    assert s.status is SignalStatus.VALIDATED
    assert s.validation_result == {"risk": "ok"}

    s.execute()
    assert s.status is SignalStatus.EXECUTED


@pytest.mark.parametrize("validate_first", [False, True])
def test_signal_reject_from_pending_or_validated(
    instrument: Instrument, validate_first: bool
) -> None:
    s = signal(instrument)
    if validate_first:
        s.validate({"risk": "ok"})

    s.reject({"risk": "limit breached"})

    assert s.status is SignalStatus.REJECTED
    assert s.validation_result == {"risk": "limit breached"}


def test_signal_expire_only_while_pending(instrument: Instrument) -> None:
    pending = signal(instrument)
    pending.expire()
    assert pending.status is SignalStatus.EXPIRED

    validated = signal(instrument)
    validated.validate({})
    with pytest.raises(IllegalTransition):
        validated.expire()
    assert validated.status is SignalStatus.VALIDATED


def test_signal_cannot_execute_before_validation(instrument: Instrument) -> None:
    s = signal(instrument)

    with pytest.raises(IllegalTransition) as caught:
        s.execute()

    assert str(caught.value) == (
        "Signal: trigger EXECUTE is not allowed in state PENDING "
        "(allowed: VALIDATE, REJECT, EXPIRE)"
    )
    assert s.status is SignalStatus.PENDING


def test_a_refused_signal_transition_keeps_the_validation_result(instrument: Instrument) -> None:
    s = signal(instrument)
    s.validate({"risk": "ok"})
    s.execute()

    with pytest.raises(IllegalTransition):
        s.reject({"late": True})

    assert s.validation_result == {"risk": "ok"}
    assert s.status is SignalStatus.EXECUTED


# -- strategies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "1"])
def test_strategy_version_must_be_an_integer_of_at_least_one(version: object) -> None:
    assert error_of(make_strategy, PortfolioId.new(), version=version) == (
        "version",
        "must be an integer >= 1",
    )


def test_strategy_version_one_and_above_is_accepted() -> None:
    assert make_strategy(PortfolioId.new()).version == 1
    assert make_strategy(PortfolioId.new(), version=7).version == 7


def test_strategy_name_must_not_be_blank() -> None:
    assert error_of(make_strategy, PortfolioId.new(), name="  ") == ("name", "must not be empty")


def test_strategy_timestamps_must_be_utc() -> None:
    assert error_of(make_strategy, PortfolioId.new(), created_at=NAIVE)[0] == "created_at"
    assert error_of(make_strategy, PortfolioId.new(), updated_at=NAIVE)[0] == "updated_at"


def test_strategy_starts_as_draft_updated_when_created() -> None:
    strategy = make_strategy(PortfolioId.new())

    assert strategy.status is StrategyStatus.DRAFT
    assert strategy.updated_at == T0


def test_strategy_apply_walks_the_lifecycle_returning_the_previous_status() -> None:
    strategy = make_strategy(PortfolioId.new())
    steps = [
        (StrategyTrigger.START_BACKTEST, StrategyStatus.DRAFT, StrategyStatus.BACKTESTING),
        (StrategyTrigger.START_PAPER, StrategyStatus.BACKTESTING, StrategyStatus.PAPER),
        (StrategyTrigger.GO_LIVE, StrategyStatus.PAPER, StrategyStatus.LIVE),
        (StrategyTrigger.PAUSE, StrategyStatus.LIVE, StrategyStatus.PAUSED),
        (StrategyTrigger.RESUME, StrategyStatus.PAUSED, StrategyStatus.LIVE),
        (StrategyTrigger.PAUSE, StrategyStatus.LIVE, StrategyStatus.PAUSED),
        (StrategyTrigger.STOP, StrategyStatus.PAUSED, StrategyStatus.STOPPED),
    ]

    for n, (trigger, previous, current) in enumerate(steps, start=1):
        at = T0 + timedelta(minutes=n)
        assert strategy.apply(trigger, at) is previous
        assert strategy.status is current
        assert strategy.updated_at == at


def test_strategy_stop_from_live() -> None:
    strategy = make_strategy(PortfolioId.new(), status=StrategyStatus.LIVE)

    assert strategy.apply(StrategyTrigger.STOP, T1) is StrategyStatus.LIVE
    assert strategy.status is StrategyStatus.STOPPED


def test_strategy_apply_accepts_a_trigger_given_as_text() -> None:
    strategy = make_strategy(PortfolioId.new())

    assert strategy.apply("START_BACKTEST", T1) is StrategyStatus.DRAFT  # type: ignore[arg-type]
    assert strategy.status is StrategyStatus.BACKTESTING


@pytest.mark.parametrize(
    ("trigger", "at", "field"),
    [
        ("LAUNCH", T1, "trigger"),
        (None, T1, "trigger"),
        (StrategyTrigger.START_BACKTEST, NAIVE, "at"),
        (StrategyTrigger.START_BACKTEST, None, "at"),
    ],
)
def test_strategy_apply_refuses_bad_arguments_and_changes_nothing(
    trigger: object, at: object, field: str
) -> None:
    strategy = make_strategy(PortfolioId.new())

    assert error_of(strategy.apply, trigger, at)[0] == field
    assert strategy.status is StrategyStatus.DRAFT
    assert strategy.updated_at == T0


def test_strategy_illegal_apply_changes_nothing() -> None:
    strategy = make_strategy(PortfolioId.new())

    with pytest.raises(IllegalTransition) as caught:
        strategy.apply(StrategyTrigger.GO_LIVE, T1)

    assert caught.value.allowed == (StrategyTrigger.START_BACKTEST,)
    assert strategy.status is StrategyStatus.DRAFT
    assert strategy.updated_at == T0


# -- positions -----------------------------------------------------------------------------------


def position(instrument: Instrument, **overrides: object) -> Position:
    return make_position(PortfolioId.new(), instrument, **overrides)


def test_flat_position_has_zero_quantity(instrument: Instrument) -> None:
    flat = position(
        instrument,
        side=PositionSide.FLAT,
        quantity=D("0"),
        average_entry_price=None,
        current_price=None,
        unrealized_pnl=D("0"),
    )

    assert flat.signed_quantity == 0
    assert flat.updated_at == T0


def test_flat_position_with_a_quantity_is_refused(instrument: Instrument) -> None:
    assert error_of(position, instrument, side=PositionSide.FLAT, quantity=D("0.5")) == (
        "side",
        "must be FLAT exactly when quantity is 0",
    )


@pytest.mark.parametrize("side", [PositionSide.LONG, PositionSide.SHORT])
def test_long_or_short_position_without_a_quantity_is_refused(
    instrument: Instrument, side: PositionSide
) -> None:
    assert error_of(position, instrument, side=side, quantity=D("0")) == (
        "side",
        "must be FLAT exactly when quantity is 0",
    )


def test_position_quantity_is_never_negative(instrument: Instrument) -> None:
    assert error_of(position, instrument, side=PositionSide.SHORT, quantity=D("-0.5")) == (
        "quantity",
        "must not be negative",
    )


def test_position_margin_is_never_negative(instrument: Instrument) -> None:
    assert error_of(position, instrument, margin_used=D("-1")) == (
        "margin_used",
        "must not be negative",
    )


def test_position_timestamps_must_be_utc(instrument: Instrument) -> None:
    assert error_of(position, instrument, opened_at=NAIVE)[0] == "opened_at"
    assert error_of(position, instrument, updated_at=NAIVE)[0] == "updated_at"


def test_signed_quantity_is_negative_for_shorts(instrument: Instrument) -> None:
    assert position(instrument, side=PositionSide.LONG).signed_quantity == D("0.5")
    assert position(instrument, side=PositionSide.SHORT).signed_quantity == D("-0.5")


def test_mark_of_a_long_position(instrument: Instrument) -> None:
    long = position(instrument, side=PositionSide.LONG, quantity=D("0.5"))

    assert long.mark(D("42100.00"), T1) == D("50.0000")
    assert long.unrealized_pnl == D("50")
    assert long.current_price == D("42100.00")
    assert long.updated_at == T1
    assert long.mark(D("41900.00"), T2) == D("-50")


def test_mark_of_a_short_position(instrument: Instrument) -> None:
    short = position(instrument, side=PositionSide.SHORT, quantity=D("0.5"))

    assert short.mark(D("42100.00"), T1) == D("-50")
    assert short.mark(D("41900.00"), T2) == D("50")
    assert short.unrealized_pnl == D("50")


def test_mark_of_a_flat_position_or_one_without_entry_price_is_zero(
    instrument: Instrument,
) -> None:
    flat = position(instrument, side=PositionSide.FLAT, quantity=D("0"), unrealized_pnl=D("0"))
    no_entry = position(instrument, average_entry_price=None)

    assert flat.mark(D("50000"), T1) == 0
    assert no_entry.mark(D("50000"), T1) == 0
    assert no_entry.current_price == D("50000")


def test_mark_keeps_realized_pnl(instrument: Instrument) -> None:
    long = position(instrument, realized_pnl=D("12.34"))

    long.mark(D("1"), T1)

    assert long.realized_pnl == D("12.34")


def test_mark_stores_a_normalized_decimal_price(instrument: Instrument) -> None:
    long = position(instrument, side=PositionSide.LONG, quantity=D("0.5"))

    assert long.mark("42100.00", T1) == D("50")  # type: ignore[arg-type]
    assert type(long.current_price) is Decimal
    assert long.current_price == D("42100.00")


@pytest.mark.parametrize(
    ("price", "at", "field"),
    [
        (42100.0, T1, "price"),
        ("high", T1, "price"),
        ("1E+999999999", T1, "price"),
        (D("42100.00"), NAIVE, "at"),
        (D("42100.00"), None, "at"),
    ],
)
def test_mark_refuses_bad_arguments_and_changes_nothing(
    instrument: Instrument, price: object, at: object, field: str
) -> None:
    long = position(instrument)
    before = (long.current_price, long.unrealized_pnl, long.updated_at)

    assert error_of(long.mark, price, at)[0] == field
    assert (long.current_price, long.unrealized_pnl, long.updated_at) == before


PRICES = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)


@settings(max_examples=100, deadline=None)
@given(
    entry=PRICES,
    mark=PRICES,
    quantity=st.decimals(min_value=D("0.0001"), max_value=D("1000"), places=4),
)
def test_long_and_short_marks_are_mirror_images(
    entry: Decimal, mark: Decimal, quantity: Decimal
) -> None:
    instrument = make_instrument()
    long = position(
        instrument, side=PositionSide.LONG, quantity=quantity, average_entry_price=entry
    )
    short = position(
        instrument, side=PositionSide.SHORT, quantity=quantity, average_entry_price=entry
    )

    long_pnl = long.mark(mark, T1)
    short_pnl = short.mark(mark, T1)

    assert long_pnl == (mark - entry) * quantity
    assert short_pnl == -long_pnl


# -- portfolios ----------------------------------------------------------------------------------


def test_portfolio_open_starts_equity_cash_and_margin_at_the_capital() -> None:
    portfolio = Portfolio.open(
        PortfolioId.new(), OrganizationId.new(), "Main", "USD", D("100000.00"), T0
    )

    assert portfolio.initial_capital == D("100000.00")
    assert portfolio.current_equity == D("100000.00")
    assert portfolio.cash == D("100000.00")
    assert portfolio.margin_available == D("100000.00")
    assert portfolio.risk_profile is RiskProfile.MODERATE
    assert portfolio.connected_exchanges == []
    assert portfolio.created_at == portfolio.updated_at == T0


def test_portfolio_open_with_a_risk_profile() -> None:
    portfolio = Portfolio.open(
        PortfolioId.new(),
        OrganizationId.new(),
        "Safe",
        "EUR",
        D("5000"),
        T0,
        risk_profile=RiskProfile.CONSERVATIVE,
    )

    assert portfolio.risk_profile is RiskProfile.CONSERVATIVE


def test_portfolio_name_must_not_be_blank(organization: Organization) -> None:
    assert error_of(make_portfolio, organization, name=" ") == ("name", "must not be empty")


def test_portfolio_base_currency_must_be_a_code(organization: Organization) -> None:
    assert error_of(make_portfolio, organization, base_currency="US") == (
        "base_currency",
        "must be a currency code",
    )


@pytest.mark.parametrize("capital", [D("0"), D("-1")])
def test_portfolio_initial_capital_must_be_positive(
    organization: Organization, capital: Decimal
) -> None:
    assert error_of(make_portfolio, organization, initial_capital=capital) == (
        "initial_capital",
        "must be greater than 0",
    )


def test_portfolio_margin_available_must_not_be_negative(organization: Organization) -> None:
    assert error_of(make_portfolio, organization, margin_available=D("-0.01")) == (
        "margin_available",
        "must not be negative",
    )


def test_portfolio_created_at_must_be_utc(organization: Organization) -> None:
    assert error_of(make_portfolio, organization, created_at=NAIVE) == (
        "created_at",
        "must be timezone-aware UTC",
    )


# -- organizations and users ---------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["acme", "acme-capital", "a1", "1-2-3", "x"])
def test_organization_slug_accepted(slug: str) -> None:
    assert make_organization(slug=slug).slug == slug


@pytest.mark.parametrize(
    "slug", ["", "Acme", "acme--capital", "-acme", "acme-", "acme_capital", "acme capital", "é"]
)
def test_organization_slug_refused(slug: str) -> None:
    assert error_of(make_organization, slug=slug) == (
        "slug",
        "must be lowercase letters and digits joined by '-'",
    )


def test_organization_name_must_not_be_blank() -> None:
    assert error_of(make_organization, name="") == ("name", "must not be empty")


def test_organization_created_at_must_be_utc() -> None:
    assert error_of(make_organization, created_at=NAIVE)[0] == "created_at"


@pytest.mark.parametrize("email", ["trader@acme.example", "a.b+c@d.co", "x@y.z"])
def test_user_email_accepted(organization: Organization, email: str) -> None:
    assert make_user(organization, email=email).email == email


@pytest.mark.parametrize(
    "email", ["", "trader", "trader@acme", "@acme.example", "a b@acme.example", "a@@acme.example"]
)
def test_user_email_refused(organization: Organization, email: str) -> None:
    assert error_of(make_user, organization, email=email) == (
        "email",
        "must be an e-mail address",
    )


def test_user_created_at_must_be_utc(organization: Organization) -> None:
    assert error_of(make_user, organization, created_at=NAIVE)[0] == "created_at"


# -- risk limits ---------------------------------------------------------------------------------


def test_risk_limit_value_must_be_positive() -> None:
    assert error_of(make_risk_limit, PortfolioId.new(), limit_value=D("0")) == (
        "limit_value",
        "must be greater than 0",
    )


def test_risk_limit_starts_unbreached_and_unused() -> None:
    limit = make_risk_limit(PortfolioId.new())

    assert not limit.is_breached
    assert limit.current_value == 0
    assert limit.utilization == 0
    assert limit.updated_at == T0


def test_risk_limit_observe_reports_only_the_start_of_a_breach() -> None:
    limit = make_risk_limit(PortfolioId.new(), limit_value=D("2500.00"))

    assert limit.observe(D("1000"), T1) is False
    assert limit.observe(D("2500.00"), T1) is False  # at the limit is not over it
    assert limit.observe(D("2500.01"), T1) is True  # breach starts
    assert limit.is_breached
    assert limit.observe(D("3000"), T1) is False  # still breached: not a new breach
    assert limit.is_breached
    assert limit.observe(D("100"), T2) is False  # back under the limit
    assert not limit.is_breached
    assert limit.observe(D("2600"), T2) is True  # a second breach starts
    assert limit.current_value == D("2600")
    assert limit.updated_at == T2


def test_risk_limit_utilization_is_the_used_fraction() -> None:
    limit = make_risk_limit(PortfolioId.new(), limit_value=D("2500.00"))

    limit.observe(D("1250"), T1)
    assert limit.utilization == D("0.5")

    limit.observe(D("5000"), T1)
    assert limit.utilization == D("2")


def test_risk_limit_observe_stores_a_normalized_decimal() -> None:
    limit = make_risk_limit(PortfolioId.new(), limit_value=D("2500.00"))

    assert limit.observe("3000", T1) is True  # type: ignore[arg-type]
    assert type(limit.current_value) is Decimal
    assert limit.current_value == D("3000")


@pytest.mark.parametrize(
    ("value", "at", "field"),
    [
        (3000.0, T1, "value"),
        ("lots", T1, "value"),
        ("NaN", T1, "value"),
        (D("3000"), NAIVE, "at"),
        (D("3000"), None, "at"),
    ],
)
def test_risk_limit_observe_refuses_bad_arguments_and_changes_nothing(
    value: object, at: object, field: str
) -> None:
    limit = make_risk_limit(PortfolioId.new())

    assert error_of(limit.observe, value, at)[0] == field
    assert (limit.current_value, limit.is_breached, limit.updated_at) == (D("0"), False, T0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_risk_limit_breach_starts_exactly_when_crossing_the_limit(values: list[int]) -> None:
    limit = make_risk_limit(PortfolioId.new(), limit_value=D("100"))
    breached = False

    for value in values:
        started = limit.observe(D(value), T1)
        assert started is (value > 100 and not breached)
        breached = value > 100
        assert limit.is_breached is breached
        assert limit.utilization == D(value) / D("100")


# -- agents and tasks ----------------------------------------------------------------------------


def test_agent_starts_idle_without_heartbeat() -> None:
    agent = make_agent()

    assert agent.status is AgentStatus.IDLE
    assert agent.last_heartbeat_at is None


def test_agent_heartbeat_records_the_time() -> None:
    agent = make_agent()

    agent.heartbeat(T1)
    agent.heartbeat(T2)

    assert agent.last_heartbeat_at == T2


def test_agent_heartbeat_must_be_utc() -> None:
    agent = make_agent()

    with pytest.raises(ValidationError) as caught:
        agent.heartbeat(NAIVE)

    assert (caught.value.field, caught.value.rule) == ("at", "must be timezone-aware UTC")
    assert agent.last_heartbeat_at is None


def test_agent_name_must_not_be_blank() -> None:
    assert error_of(make_agent, name="   ") == ("name", "must not be empty")


def test_agent_timestamps_must_be_utc() -> None:
    assert error_of(make_agent, registered_at=NAIVE)[0] == "registered_at"
    assert error_of(make_agent, last_heartbeat_at=NAIVE)[0] == "last_heartbeat_at"


@pytest.mark.parametrize("priority", [0, 5, -3, 10**6])
def test_task_priority_is_any_integer(priority: int) -> None:
    task = make_task(priority=priority)

    assert task.priority == priority
    assert task.status is TaskStatus.PENDING


@pytest.mark.parametrize("priority", [True, False, 1.0, "1", None, D("1")])
def test_task_priority_must_be_an_integer(priority: object) -> None:
    assert error_of(make_task, priority=priority) == ("priority", "must be an integer")


@pytest.mark.parametrize("field", ["created_at", "started_at", "completed_at"])
def test_task_timestamps_must_be_utc(field: str) -> None:
    assert error_of(make_task, **{field: NAIVE}) == (field, "must be timezone-aware UTC")


# -- trades --------------------------------------------------------------------------------------


def test_trade_notional(instrument: Instrument) -> None:
    order = make_order(PortfolioId.new(), instrument)

    trade = make_trade(order, execution_price=D("42000.00"), quantity=D("0.5"))

    assert trade.notional == D("21000.0000")


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("execution_price", D("0"), "must be greater than 0"),
        ("quantity", D("-0.5"), "must be greater than 0"),
        ("commission", D("-0.01"), "must not be negative"),
        ("executed_at", NAIVE, "must be timezone-aware UTC"),
    ],
)
def test_trade_rules(instrument: Instrument, field: str, value: object, rule: str) -> None:
    order = make_order(PortfolioId.new(), instrument)

    assert error_of(make_trade, order, **{field: value}) == (field, rule)


def test_a_heartbeat_needs_a_time() -> None:
    from omoitrade.testing.factories import make_agent

    agent = make_agent()
    with pytest.raises(ValidationError, match="at: must be a datetime"):
        agent.heartbeat(None)  # type: ignore[arg-type]
    assert agent.last_heartbeat_at is None
