"""Terminal output shared by the command groups."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.engine import make_url

console = Console()
errors = Console(stderr=True)


def safe_url(url: object) -> str:
    """A database URL without its password."""
    return make_url(str(url)).render_as_string(hide_password=True)
