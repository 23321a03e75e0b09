"""The runtime: builds and wires the components of one mode (backtest, paper, live)."""
