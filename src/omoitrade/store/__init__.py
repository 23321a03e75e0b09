"""Persistence: SQLAlchemy tables, mappers to and from the model, repositories,
migrations, the append-only event store and the hash-chained audit log."""

from omoitrade.store.database import Database, create_database_engine, normalize_url
from omoitrade.store.unit_of_work import UnitOfWork

__all__ = ["Database", "UnitOfWork", "create_database_engine", "normalize_url"]
