"""Market data: normalization of venue payloads, anomaly detection, bar aggregation, the
pipeline that publishes clean updates on the bus, the historical catalog and the synthetic
market."""
