"""The signal pipeline's ports over a trading node: its order manager, risk engine, prices
and ledger. The only place where the signal and order paths meet."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from omoitrade.core.approvals import ApprovalDesk
from omoitrade.execution.cancel_replace import replaced_client_id
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model.enums import LimitType, OrderSide, OrderType
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PortfolioId,
    SignalId,
    StrategyId,
)
from omoitrade.model.market_data import Quote, TradeTick
from omoitrade.model.orders import Order
from omoitrade.model.venue import MarketData
from omoitrade.runtime.trading_node import TradingNode
from omoitrade.signals.pipeline import SignalPipeline
from omoitrade.signals.plan import SettingsBook
from omoitrade.signals.ports import StrategyControl

_LIMIT_NAMES = {kind: kind.value.lower() for kind in LimitType}  # as limit_usage names them


class NodeOrders:
    """:class:`~omoitrade.signals.ports.OrderPort` over the node's order manager."""

    def __init__(self, node: TradingNode) -> None:
        self._orders = node.orders

    def place(
        self,
        portfolio_id: PortfolioId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        side: OrderSide,
        order_type: OrderType,
        quantity: Decimal,
        *,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        signal_id: SignalId | None = None,
        strategy_id: StrategyId | None = None,
        oco_group: str | None = None,
    ) -> Order:
        return self._orders.submit(
            OrderRequest(
                portfolio_id,
                instrument_id,
                client_order_id,
                side,
                order_type,
                quantity,
                price=price,
                stop_price=stop_price,
                signal_id=signal_id,
                strategy_id=strategy_id,
                oco_group=oco_group,
            )
        )

    def amend(
        self,
        portfolio_id: PortfolioId,
        client_order_id: ClientOrderId,
        *,
        quantity: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        self._orders.amend(portfolio_id, client_order_id, quantity=quantity, stop_price=stop_price)

    def cancel(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId, reason: str
    ) -> None:
        self._orders.cancel(portfolio_id, client_order_id, reason)


class NodeRiskPreview:
    """:class:`~omoitrade.signals.ports.RiskPreview` by the node's risk engine."""

    def __init__(self, node: TradingNode) -> None:
        self._preview = node.risk.preview_order

    def __call__(self, order: Order, strategy_id: StrategyId | None) -> tuple[str, str] | None:
        decision = self._preview(order, strategy_id)
        if decision.approved:
            return None
        first = decision.rejections[0]
        return first.code.value, "; ".join(r.message for r in decision.rejections)


class NodeMarket:
    """:class:`~omoitrade.signals.ports.MarketView` from the node's prices, ledger and limits."""

    def __init__(self, node: TradingNode) -> None:
        self._node = node

    def price(self, instrument_id: InstrumentId) -> Decimal | None:
        return self._node.prices.get(instrument_id)

    def equity(self, portfolio_id: PortfolioId) -> Decimal | None:
        return self._node.ledger.equity(portfolio_id)

    def limit_usage(self, portfolio_id: PortfolioId) -> Sequence[tuple[str, float]]:
        return [
            (_LIMIT_NAMES[limit.limit_type], float(limit.utilization))
            for limit in self._node.risk.limits(portfolio_id)
        ]


def signal_pipeline(
    node: TradingNode,
    desk: ApprovalDesk,
    settings: SettingsBook | None = None,
    control: StrategyControl | None = None,
) -> SignalPipeline:
    """A signal pipeline trading through ``node``; trailing stops follow its prices."""
    pipeline = SignalPipeline(
        clock=node.clock,
        bus=node.bus,
        ids=node.ids,
        instruments=node.instruments,
        orders=NodeOrders(node),
        risk=NodeRiskPreview(node),
        market=NodeMarket(node),
        desk=desk,
        settings=settings,
        control=control,
        replaced_id=replaced_client_id,  # management follows cancel-replaced orders
    )

    def follow(data: MarketData) -> None:  # after the node's own handler set the price
        if isinstance(data, Quote | TradeTick):
            price = node.prices.get(data.instrument_id)
            if price is not None:
                pipeline.on_price(data.instrument_id, price)

    for venue in node.orders.venues.values():
        venue.on_market_data(follow)
    return pipeline
