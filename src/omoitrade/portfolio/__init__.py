"""Portfolio accounting: positions from fills, cash, P&L, equity, margin and analytics."""

from omoitrade.portfolio.accounts import PortfolioAccount, PortfolioSnapshot, RealizedPnl
from omoitrade.portfolio.analytics import (
    Drawdown,
    EquitySeries,
    Exposure,
    ExposureReport,
    PnlSummary,
    max_drawdown,
    pnl_by_day,
    pnl_by_strategy,
    returns,
    sharpe_ratio,
    sortino_ratio,
)
from omoitrade.portfolio.books import CurrencyBalance, PositionBook, margin_rate
from omoitrade.portfolio.fx import FxRates, MissingFxRate
from omoitrade.portfolio.ledger import PortfolioLedger
from omoitrade.portfolio.lots import FifoLotReport, FifoLots, Lot

__all__ = [
    "CurrencyBalance",
    "Drawdown",
    "EquitySeries",
    "Exposure",
    "ExposureReport",
    "FifoLotReport",
    "FifoLots",
    "FxRates",
    "Lot",
    "MissingFxRate",
    "PnlSummary",
    "PortfolioAccount",
    "PortfolioLedger",
    "PortfolioSnapshot",
    "PositionBook",
    "RealizedPnl",
    "margin_rate",
    "max_drawdown",
    "pnl_by_day",
    "pnl_by_strategy",
    "returns",
    "sharpe_ratio",
    "sortino_ratio",
]
