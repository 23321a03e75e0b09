"""The HTTP API (FastAPI): one thin router per resource, errors as RFC 9457 problem details."""
