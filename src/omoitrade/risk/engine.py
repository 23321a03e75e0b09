"""The risk engine: pre-trade checks, trading states, limit monitoring and the kill switch.

Every check fails closed: what cannot be evaluated rejects the order with a reason.
Events are published on the bus (when one is given) and returned to the caller.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.errors import ValidationError
from omoitrade.model.accounts import User
from omoitrade.model.enums import BreachAction, LimitType
from omoitrade.model.events import (
    DomainEvent,
    KillSwitchEngaged,
    KillSwitchReleased,
    StrategyReEnabled,
    StrategyThrottled,
    TradingStateChanged,
)
from omoitrade.model.identifiers import InstrumentId, PortfolioId, StrategyId
from omoitrade.model.orders import Order
from omoitrade.model.risk import EquityMarks, RiskLimit
from omoitrade.risk.checks import (
    PASS,
    Check,
    OrderContext,
    Unavailable,
    check_buying_power,
    check_open_orders,
    reduces_position,
    stateless_checks_for,
)
from omoitrade.risk.config import RiskConfig
from omoitrade.risk.decisions import (
    APPROVED,
    KillSwitchEngagedError,
    ReasonCode,
    Rejection,
    RiskDecision,
)
from omoitrade.risk.kill_switch import KillSwitch, KillSwitchStatus
from omoitrade.risk.limits import EquityTracker, LimitMonitor, PortfolioMeasures
from omoitrade.risk.state import (
    RESTRICT_ROLES,
    RESUME_ROLES,
    TradingState,
    TradingStates,
    require_role,
)
from omoitrade.risk.throttle import (
    DuplicateDetector,
    ExecutionThrottle,
    OrderKey,
    OrderRateTracker,
    order_key,
)
from omoitrade.risk.var import ExposureReport, VarReport, exposure_report, portfolio_var
from omoitrade.risk.view import RiskView

_log = logging.getLogger("omoitrade.risk.engine")
_ACTIVE = TradingState.ACTIVE

_LOSS_CODES = {
    LimitType.MAX_DAILY_LOSS: ReasonCode.DAILY_LOSS,
    LimitType.MAX_DRAWDOWN: ReasonCode.DRAWDOWN,
}
# The measured limits whose value moves with prices alone (equity, or reference prices).
_PRICED = frozenset(
    {LimitType.MAX_DAILY_LOSS, LimitType.MAX_DRAWDOWN, LimitType.MAX_GROSS_EXPOSURE}
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """What judging a portfolio's orders needs from its limits and config, worked out once.

    ``set_limits`` and ``set_config`` drop the portfolio's plan; one built on the default
    config (``own_config`` False) is rebuilt if ``default_config`` is replaced. Limit rows
    are grouped by their type when loaded: change a row's type or instrument through
    ``set_limits``, not in place (nothing in the system does that; values may change).
    """

    limits: list[RiskLimit]
    config: RiskConfig
    own_config: bool  # set with set_config, rather than the engine's default
    by_type: dict[LimitType, tuple[RiskLimit, ...]]
    new_order_checks: tuple[Check, ...]  # in the order their rejections are listed
    amend_checks: tuple[Check, ...]


class RiskEngine:
    """Judges orders for the portfolios it was given limits for (call :meth:`set_limits`
    for each, even with no limits: a portfolio without loaded limits is rejected)."""

    def __init__(
        self,
        view: RiskView,
        clock: Clock,
        bus: MessageBus | None = None,
        config: RiskConfig | None = None,
        throttle: ExecutionThrottle | None = None,
    ) -> None:
        self.view = view
        self.clock = clock
        self.bus = bus
        self.default_config = config or RiskConfig()
        self.throttle = throttle
        self.states = TradingStates()
        self._kill_switch = KillSwitch(self.states, clock)
        self._configs: dict[PortfolioId, RiskConfig] = {}
        self._limits: dict[PortfolioId, list[RiskLimit]] = {}
        self._priced: set[PortfolioId] = set()  # portfolios with limits in _PRICED
        self._equity = EquityTracker()
        self._rates = OrderRateTracker()
        self._duplicates = DuplicateDetector()
        # The duplicate key of the order check_order is judging, made by _check_duplicate
        # and used again to record the order if approved (building and hashing the key,
        # ids and Decimals, is a fair part of that check's cost); None outside check_order.
        self._judged_key: OrderKey | None = None
        self._monitor = LimitMonitor(self.states, clock, self.default_config.warning_threshold)
        self._plans: dict[PortfolioId, _Plan] = {}

    # --- configuration --------------------------------------------------------------------
    def set_limits(self, portfolio_id: PortfolioId, limits: Iterable[RiskLimit]) -> None:
        """Load (replace) the portfolio's limit rows; the engine keeps them current."""
        rows = list(limits)
        for row in rows:
            if row.portfolio_id != portfolio_id:
                raise ValidationError(
                    "limits", f"limit {row.id} belongs to portfolio {row.portfolio_id}", row.id
                )
        self._limits[portfolio_id] = rows
        if any(row.limit_type in _PRICED for row in rows):
            self._priced.add(portfolio_id)
        else:
            self._priced.discard(portfolio_id)
        self._plans.pop(portfolio_id, None)

    def limits(self, portfolio_id: PortfolioId) -> list[RiskLimit]:
        return list(self._limits.get(portfolio_id, ()))

    def has_price_limits(self, portfolio_id: PortfolioId | None = None) -> bool:
        """Whether the portfolio (any portfolio, for None) has limits that a price move alone
        changes (daily loss, drawdown, gross exposure): those to re-measure on marks. O(1)."""
        if portfolio_id is None:
            return bool(self._priced)
        return portfolio_id in self._priced

    def set_config(self, portfolio_id: PortfolioId, config: RiskConfig) -> None:
        self._configs[portfolio_id] = config
        self._plans.pop(portfolio_id, None)

    def config_for(self, portfolio_id: PortfolioId) -> RiskConfig:
        return self._configs.get(portfolio_id, self.default_config)

    def equity_marks(self, portfolio_id: PortfolioId) -> EquityMarks | None:
        """The day-start equity and high-water mark kept for the loss limits, if any yet."""
        return self._equity.get(portfolio_id)

    def seed_equity_marks(self, portfolio_id: PortfolioId, marks: EquityMarks) -> None:
        """Restore the day-start equity and high-water mark after a restart."""
        self._equity.seed(portfolio_id, marks)

    # --- pre-trade checks -----------------------------------------------------------------
    def check_order(self, order: Order, strategy_id: StrategyId | None = None) -> RiskDecision:
        """Judge a new order; an approved one counts toward the rate and duplicate checks."""
        decision, plan = self._judge(order, amend_of=None, strategy_id=strategy_id)
        key = self._judged_key  # (_judge starts it at None)
        self._judged_key = None
        if decision.approved and plan is not None:  # (approved implies a plan)
            now = self.clock.timestamp_ns()
            self._rates.record(order.portfolio_id, now)
            window = plan.config.duplicate_window_ns
            if window is not None:
                self._duplicates.record(order, now, window, key)
        return decision

    def preview_order(self, order: Order, strategy_id: StrategyId | None = None) -> RiskDecision:
        """Judge an order that is not being sent (a signal's prospective entry, say): the
        same checks as :meth:`check_order`, but it counts toward nothing."""
        decision, _ = self._judge(order, amend_of=None, strategy_id=strategy_id)
        self._judged_key = None
        return decision

    def check_amend(
        self,
        order: Order,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> RiskDecision:
        """Judge an amend as the order it would leave (``order`` itself is not changed)."""
        changes = {
            name: value
            for name, value in (
                ("quantity", quantity),
                ("price", price),
                ("stop_price", stop_price),
            )
            if value is not None
        }
        after = dataclasses.replace(order, **changes)  # type: ignore[arg-type]
        decision, _ = self._judge(after, amend_of=order, strategy_id=None)
        if decision.approved:
            self._rates.record(order.portfolio_id, self.clock.timestamp_ns())
        return decision

    def check_cancel(self, order: Order) -> RiskDecision:
        """Cancels always pass: they only ever lower risk, in every state. Each is a
        message to the venue all the same: it counts toward the order-rate limit that
        the next new order or amend is judged by."""
        self._rates.record(order.portfolio_id, self.clock.timestamp_ns())
        return APPROVED

    def _judge(
        self, order: Order, amend_of: Order | None, strategy_id: StrategyId | None
    ) -> tuple[RiskDecision, _Plan | None]:
        """The decision, and the portfolio's plan when it has loaded limits."""
        self._judged_key = None
        portfolio_id = order.portfolio_id
        view = self.view
        try:
            if not view.has_portfolio(portfolio_id):
                return _reject(
                    ReasonCode.UNKNOWN_ACCOUNT, f"portfolio {portfolio_id} is not known"
                ), None
            plan = self._plan(portfolio_id)
            if plan is None:
                return _reject(
                    ReasonCode.MISSING_LIMIT_DATA, f"no limits loaded for portfolio {portfolio_id}"
                ), None
            positions = view.positions(portfolio_id)
            working = view.working_orders(portfolio_id)
            order_id = order.id
            ctx = OrderContext(
                order=order,
                config=plan.config,
                limits=plan.limits,
                positions=positions,
                working=[o for o in working if o.id != order_id] if working else working,
                price_of=view.reference_price,
                amend_of=amend_of,
                strategy_id=strategy_id,
                by_type=plan.by_type,
            )
        except Exception as error:  # the view failed: nothing can be judged
            _log.exception("risk view failed for portfolio %s", portfolio_id)
            return _reject(ReasonCode.CHECK_FAILED, f"the risk view failed: {error}"), None
        checks = plan.new_order_checks if amend_of is None else plan.amend_checks
        # Every check runs (a rejection lists every rule broken); one that cannot be
        # evaluated, or fails, rejects (fail closed).
        found: list[Rejection] = []
        for check in checks:
            try:
                broken = check(ctx)
            except Unavailable as missing:
                found.append(missing.rejection)
                continue
            except Exception as error:  # a broken check must never wave an order through
                _log.exception("risk check %r failed", check)
                found.append(Rejection(ReasonCode.CHECK_FAILED, f"a check failed: {error}"))
                continue
            if broken:
                found.extend(broken)
        if not found:
            return APPROVED, plan
        return RiskDecision(tuple(dict.fromkeys(found))), plan

    def _plan(self, portfolio_id: PortfolioId) -> _Plan | None:
        """The portfolio's plan (see :class:`_Plan`), None when no limits are loaded."""
        plan = self._plans.get(portfolio_id)
        if plan is not None and (plan.own_config or plan.config is self.default_config):
            return plan
        limits = self._limits.get(portfolio_id)
        if limits is None:
            return None
        own = self._configs.get(portfolio_id)
        plan = self._plans[portfolio_id] = self._build_plan(
            limits, self.default_config if own is None else own, own is not None
        )
        return plan

    def _build_plan(self, limits: list[RiskLimit], config: RiskConfig, own_config: bool) -> _Plan:
        """The checks in the order they always ran, less those that cannot find anything
        under these limits and config (each would pass at once, touching no price,
        position or balance, so leaving it out changes no decision)."""
        by_type: dict[LimitType, tuple[RiskLimit, ...]] = {}
        for row in limits:
            by_type[row.limit_type] = (*by_type.get(row.limit_type, ()), row)
        head: list[Check] = [self._check_state, self._check_strategy]
        head.extend(stateless_checks_for(config, by_type))
        head.append(self._check_buying_power)  # always: the balance is read in every config
        if LimitType.MAX_ORDER_RATE in by_type:
            head.append(self._check_rate)
        new_only: list[Check] = []
        if config.max_open_orders is not None:
            new_only.append(check_open_orders)
        if config.duplicate_window_ns is not None:
            new_only.append(self._check_duplicate)
        tail: list[Check] = []
        if any(_is_loss_limit(row) for row in limits):
            tail.append(self._check_losses)
        return _Plan(
            limits=limits,
            config=config,
            own_config=own_config,
            by_type=by_type,
            new_order_checks=(*head, *new_only, *tail),
            amend_checks=(*head, *tail),
        )

    def _check_state(self, ctx: OrderContext) -> Sequence[Rejection]:
        state = self.states.effective(ctx.order.portfolio_id)
        if state is _ACTIVE:  # (a module constant: cheaper than the class's member)
            return PASS
        amend_of = ctx.amend_of
        if state is TradingState.HALTED:
            return [Rejection(ReasonCode.TRADING_HALTED, "trading is halted: only cancels pass")]
        if state is TradingState.REDUCING:
            if amend_of is not None and ctx.order.quantity <= amend_of.quantity:
                return PASS  # an amend that does not grow the order adds no risk
            if not reduces_position(ctx):
                return [
                    Rejection(
                        ReasonCode.REDUCE_ONLY,
                        "trading is reducing: only orders that shrink a position pass",
                    )
                ]
        return PASS

    def _check_strategy(self, ctx: OrderContext) -> Sequence[Rejection]:
        strategy_id = ctx.strategy_id
        if strategy_id is None:
            return PASS
        if self.throttle is not None and not self.throttle.is_enabled(strategy_id):
            return [
                Rejection(ReasonCode.STRATEGY_THROTTLED, f"strategy {strategy_id} is throttled")
            ]
        return PASS

    def _check_buying_power(self, ctx: OrderContext) -> Sequence[Rejection]:
        return check_buying_power(ctx, self.view.available_balance(ctx.order.portfolio_id))

    def _check_rate(self, ctx: OrderContext) -> Sequence[Rejection]:
        limits = ctx.limits_for(LimitType.MAX_ORDER_RATE)
        if not limits:
            return PASS
        count = self._rates.count(ctx.order.portfolio_id, self.clock.timestamp_ns()) + 1
        return [
            Rejection(
                ReasonCode.ORDER_RATE,
                f"{count} messages in one second exceed the limit {limit.limit_value}",
            )
            for limit in limits
            if count > limit.limit_value
        ]

    def _check_duplicate(self, ctx: OrderContext) -> Sequence[Rejection]:
        window = ctx.config.duplicate_window_ns
        if window is None:
            return PASS
        key = self._judged_key = order_key(ctx.order)
        if self._duplicates.is_duplicate(ctx.order, self.clock.timestamp_ns(), window, key):
            return [
                Rejection(
                    ReasonCode.DUPLICATE_ORDER,
                    f"an equal order was accepted less than {window} ns ago",
                )
            ]
        return PASS

    def _check_losses(self, ctx: OrderContext) -> Sequence[Rejection]:
        limits = [limit for limit in ctx.limits if _is_loss_limit(limit)]
        if not limits:
            return PASS
        portfolio_id = ctx.order.portfolio_id
        equity = self.view.equity(portfolio_id)
        if equity is None:
            raise Unavailable(
                ReasonCode.MISSING_LIMIT_DATA, f"no equity known for portfolio {portfolio_id}"
            )
        marks = self._equity.observe_at(portfolio_id, equity, self.clock.timestamp_ns())
        found: list[Rejection] = []
        for limit in limits:
            if limit.limit_type is LimitType.MAX_DAILY_LOSS:
                value = marks.daily_loss(equity)
            else:
                value = marks.drawdown(equity)
            if value <= limit.limit_value or limit.action_on_breach is BreachAction.ALERT:
                continue
            if limit.action_on_breach is BreachAction.REDUCE and reduces_position(ctx):
                continue
            found.append(
                Rejection(
                    _LOSS_CODES[limit.limit_type],
                    f"{limit.limit_type} {value} exceeds the limit {limit.limit_value} "
                    f"({limit.action_on_breach})",
                )
            )
        return found

    # --- limits ---------------------------------------------------------------------------
    def update(self, portfolio_id: PortfolioId) -> list[DomainEvent]:
        """Re-measure the portfolio's limits (call on fills, marks and P&L changes);
        returns and publishes the warnings, breaches and state changes that follow."""
        limits = self._limits.get(portfolio_id)
        view, clock = self.view, self.clock
        equity = view.equity(portfolio_id)
        marks = (
            None
            if equity is None
            else self._equity.observe_at(portfolio_id, equity, clock.timestamp_ns())
        )
        if not limits:
            # Nothing to measure (the equity marks are kept current above, for loss limits
            # loaded later; the order-rate window expires as orders are recorded).
            return []
        measures = PortfolioMeasures(
            positions=view.positions(portfolio_id),
            price_of=view.reference_price,
            equity=equity,
            marks=marks,
            order_rate=self._rates.count(portfolio_id, clock.timestamp_ns()),
        )
        return self._emit(self._monitor.observe(limits, measures))

    def on_portfolio_update(self, portfolio_id: PortfolioId) -> list[DomainEvent]:
        """The same as :meth:`update` (the name the portfolio's listeners call)."""
        return self.update(portfolio_id)

    # --- trading states -------------------------------------------------------------------
    def trading_state(self, portfolio_id: PortfolioId | None = None) -> TradingState:
        """A portfolio's effective state (the stricter of its own and the global one), or the
        global state for None."""
        if portfolio_id is None:
            return self.states.of(None)
        return self.states.effective(portfolio_id)

    def set_trading_state(
        self, portfolio_id: PortfolioId | None, state: TradingState, user: User, reason: str
    ) -> list[DomainEvent]:
        """Set a scope's own state: tightening needs a trading role, loosening ADMIN or
        RISK_MANAGER; the global state cannot leave HALTED while the kill switch is engaged."""
        current = self.states.of(portfolio_id)
        loosening = state.severity < current.severity
        require_role(user, RESUME_ROLES if loosening else RESTRICT_ROLES, f"set state {state}")
        if portfolio_id is None and loosening and self._kill_switch.engaged:
            raise KillSwitchEngagedError("release the kill switch to resume global trading")
        event = self.states.change(portfolio_id, state, reason, self.clock, user)
        return self._emit([] if event is None else [event])

    # --- kill switch ----------------------------------------------------------------------
    @property
    def kill_switch(self) -> KillSwitchStatus:
        return self._kill_switch.status

    def engage_kill_switch(
        self, reason: str, user: User | None = None, flatten: bool = False
    ) -> list[DomainEvent]:
        """Emergency stop; the runtime cancels every working order (and flattens if asked)."""
        return self._emit(self._kill_switch.engage(reason, user, flatten))

    def release_kill_switch(self, user: User, reason: str) -> list[DomainEvent]:
        """Lift the emergency stop; raises RiskPermissionDenied unless ADMIN or RISK_MANAGER."""
        return self._emit(self._kill_switch.release(user, reason))

    def restore(self, events: Iterable[DomainEvent]) -> None:
        """Rebuild states, the kill switch and the throttled strategies (with a throttle:
        throttled and re-enabled, in order) from recorded events, oldest first; other event
        types are ignored. Publishes nothing."""
        for event in events:
            if isinstance(event, TradingStateChanged):
                self.states.apply(event.portfolio_id, TradingState(event.to_state))
            elif isinstance(event, KillSwitchEngaged | KillSwitchReleased):
                self._kill_switch.replay(event)
            elif (
                isinstance(event, StrategyThrottled | StrategyReEnabled)
                and self.throttle is not None
            ):
                self.throttle.replay(event)

    # --- analytics ------------------------------------------------------------------------
    def exposure_report(self, portfolio_id: PortfolioId) -> ExposureReport:
        """Positions and working orders at reference prices, now."""
        return exposure_report(self.view, portfolio_id, self.clock.utc_now())

    def value_at_risk(
        self, portfolio_id: PortfolioId, returns: Mapping[InstrumentId, Sequence[float]]
    ) -> VarReport:
        """One-day VaR (historical and parametric, 95% and 99%) from daily returns."""
        return portfolio_var(self.view, portfolio_id, returns)

    # --- strategy throttle ----------------------------------------------------------------
    def record_execution(self, strategy_id: StrategyId) -> list[DomainEvent]:
        """Count an automated execution of a strategy (needs a throttle)."""
        if self.throttle is None:
            return []
        event = self.throttle.record_execution(strategy_id)
        return self._emit([] if event is None else [event])

    def enable_strategy(
        self, strategy_id: StrategyId, user: User, reason: str
    ) -> list[DomainEvent]:
        """Re-enable a throttled strategy (ADMIN, RISK_MANAGER or TRADER); publishes
        :class:`StrategyReEnabled` (which :meth:`restore` replays) if it was disabled."""
        if self.throttle is None:
            return []
        event = self.throttle.enable(strategy_id, user, reason)
        return self._emit([] if event is None else [event])

    def _emit(self, events: Sequence[DomainEvent]) -> list[DomainEvent]:
        if self.bus is not None:
            for event in events:
                self.bus.publish(event.topic, event)
        return list(events)


def _reject(code: ReasonCode, message: str) -> RiskDecision:
    return RiskDecision((Rejection(code, message),))


def _is_loss_limit(limit: RiskLimit) -> bool:
    """A portfolio-wide daily-loss or drawdown limit (the ones orders are checked against)."""
    return limit.limit_type in _LOSS_CODES and limit.instrument_id is None
