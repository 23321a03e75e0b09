"""The ``omoitrade`` command line."""

from omoitrade.cli.app import app, main

__all__ = ["app", "main"]
