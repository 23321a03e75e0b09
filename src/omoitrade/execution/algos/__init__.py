"""Execution algorithms: parent orders (TWAP, VWAP, POV, iceberg) that own child orders.

See docs/execution-algorithms.md. Start one with :class:`AlgoEngine`::

    engine = AlgoEngine(node.orders, clock, bus)
    venue.on_market_data(engine.on_market_data)
    algo = engine.submit(parent, TwapParams(interval_ns=10 * SECOND_NS))
"""

from omoitrade.execution.algos.base import AlgoServices, ExecutionAlgorithm
from omoitrade.execution.algos.children import ChildOrder
from omoitrade.execution.algos.engine import ALGORITHMS, AlgoEngine
from omoitrade.execution.algos.events import (
    ALGO_TOPICS,
    AlgoCancelled,
    AlgoChildRejected,
    AlgoChildSent,
    AlgoCompleted,
    AlgoEnded,
    AlgoEvent,
    AlgoExpired,
    AlgoFailed,
    AlgoProgress,
    AlgoStarted,
)
from omoitrade.execution.algos.iceberg import Iceberg, IcebergParams
from omoitrade.execution.algos.params import SECOND_NS, AlgoParams, RejectPolicy
from omoitrade.execution.algos.parent import (
    ALGO_LIFECYCLE,
    AlgoId,
    AlgoStatus,
    AlgoTrigger,
    ParentOrder,
    child_client_order_id,
    parent_of,
)
from omoitrade.execution.algos.pov import Pov, PovParams
from omoitrade.execution.algos.pricing import MARKET_PRICING, ChildPricing, PriceReference
from omoitrade.execution.algos.profile import VolumeProfile, volume_profile_from_bars
from omoitrade.execution.algos.report import AlgoReport
from omoitrade.execution.algos.schedule import Schedule
from omoitrade.execution.algos.scheduled import ScheduledAlgorithm, ScheduleParams
from omoitrade.execution.algos.twap import Twap, TwapParams
from omoitrade.execution.algos.vwap import Vwap, VwapParams

__all__ = [
    "ALGORITHMS",
    "ALGO_LIFECYCLE",
    "ALGO_TOPICS",
    "MARKET_PRICING",
    "SECOND_NS",
    "AlgoCancelled",
    "AlgoChildRejected",
    "AlgoChildSent",
    "AlgoCompleted",
    "AlgoEnded",
    "AlgoEngine",
    "AlgoEvent",
    "AlgoExpired",
    "AlgoFailed",
    "AlgoId",
    "AlgoParams",
    "AlgoProgress",
    "AlgoReport",
    "AlgoServices",
    "AlgoStarted",
    "AlgoStatus",
    "AlgoTrigger",
    "ChildOrder",
    "ChildPricing",
    "ExecutionAlgorithm",
    "Iceberg",
    "IcebergParams",
    "ParentOrder",
    "Pov",
    "PovParams",
    "PriceReference",
    "RejectPolicy",
    "Schedule",
    "ScheduleParams",
    "ScheduledAlgorithm",
    "Twap",
    "TwapParams",
    "VolumeProfile",
    "Vwap",
    "VwapParams",
    "child_client_order_id",
    "parent_of",
    "volume_profile_from_bars",
]
