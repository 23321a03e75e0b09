"""OmoiTrade: one engine for backtest, paper and live trading."""
