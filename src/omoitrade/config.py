"""Settings from the environment (prefix ``OMOI_``), with embedded defaults.

With nothing set, the system runs in one process on a SQLite file under
``./var/``; set ``OMOI_DATABASE_URL`` to use PostgreSQL instead.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; components receive their own frozen configs built from these."""

    model_config = SettingsConfigDict(env_prefix="OMOI_", frozen=True, extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="where the embedded database lives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to SQLite at DATA_DIR/omoitrade.db"
    )
    redis_url: str | None = Field(default=None, description="Redis for cross-process events")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        """The database URL to use; the SQLite default lives under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'omoitrade.db').as_posix()}"
