"""Backtests: run the trading kernel over historical bars and report what happened.

Results (pure, no I/O but the report writers): :mod:`~omoitrade.backtest.trades` turns
fills into round trips, :mod:`~omoitrade.backtest.metrics` computes the equity curve's
and the trades' metrics, :mod:`~omoitrade.backtest.results` holds one run's results
(deterministic JSON), and :mod:`~omoitrade.backtest.report` writes the HTML and PNG
reports. See ``docs/backtesting.md``.
"""
