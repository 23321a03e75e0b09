"""The simulated exchange: an L3 matching engine per instrument, and bar fills for backtests."""
