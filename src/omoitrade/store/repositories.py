"""Repositories: load and save domain entities, one table each, inside a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from omoitrade.core.errors import Conflict, NotFound
from omoitrade.model import (
    Bar,
    ClientOrderId,
    EquityMarks,
    Instrument,
    InstrumentId,
    Order,
    OrderId,
    OrderStatus,
    Organization,
    OrganizationId,
    Portfolio,
    PortfolioId,
    Position,
    RiskLimit,
    Signal,
    SignalId,
    Strategy,
    TaskStatus,
    Timeframe,
    Trade,
    TradingAgent,
    TradingTask,
    User,
    VenueTradeId,
)
from omoitrade.store import tables
from omoitrade.store.mapping import EntityMapper, PreparedStatement

E = TypeVar("E")


def key_of(value: UUID) -> UUID:
    return UUID(int=value.int)


class Repository(Generic[E]):
    """Create, read, update and delete one kind of entity by its ``id``."""

    entity_cls: ClassVar[type]
    table: ClassVar[Table]
    mapper: ClassVar[EntityMapper[Any]]
    _insert: ClassVar[PreparedStatement]  # INSERT of every column, built once per table
    _update_by_id: ClassVar[PreparedStatement]  # UPDATE of every column by id (``_id``)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.mapper = EntityMapper(cls.entity_cls, cls.table)
        table = cls.table
        values = {c.name: bindparam(c.name, type_=c.type) for c in table.columns}
        cls._insert = PreparedStatement(insert(table).values(values))
        del values["id"]
        cls._update_by_id = PreparedStatement(
            update(table)
            .where(table.c.id == bindparam("_id", type_=table.c.id.type))
            .values(values)
        )

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def kind(self) -> str:
        return self.entity_cls.__name__

    def add(self, entity: E) -> None:
        """Insert a new entity; a duplicate key or unique field raises Conflict."""
        self.add_all([entity])

    def add_all(self, entities: Sequence[E], *, savepoint: bool = True) -> None:
        """Insert ``entities``; a duplicate key raises Conflict.

        With ``savepoint`` (the default) a refusal leaves the transaction usable; a caller
        that abandons the whole transaction on any refusal can skip it (two fewer round
        trips).
        """
        if entities:
            self._write(self._insert, [self.mapper.to_row(e) for e in entities], savepoint)

    def update(self, entity: E, *, savepoint: bool = True) -> None:
        """Overwrite the stored entity with the same id; NotFound if there is none."""
        self.update_all([entity], savepoint=savepoint)

    def update_all(self, entities: Sequence[E], *, savepoint: bool = True) -> None:
        """Overwrite each stored entity with the same id, all in one round trip; NotFound
        (naming the first id not stored) overwrites none of them. ``savepoint`` as in
        :meth:`add_all`."""
        rows = [self.mapper.to_row(entity) for entity in entities]
        for row in rows:
            row["_id"] = row.pop("id")
        if rows:
            self._write(self._update_by_id, rows, savepoint, ids=[row["_id"] for row in rows])

    def _write(
        self,
        statement: PreparedStatement,
        rows: list[dict[str, Any]],
        savepoint: bool,
        ids: list[UUID] | None = None,
    ) -> None:
        """Run ``statement`` for ``rows``, in a savepoint if asked: a refusal is Conflict,
        and for an update (``ids``) a row not stored is NotFound."""
        try:
            with self.connection.begin_nested() if savepoint else nullcontext():
                changed = statement.execute(self.connection, rows)
                if ids is not None and changed != len(ids):  # a missing id (or no count)
                    query = select(self.table.c.id).where(self.table.c.id.in_(ids))
                    stored: set[UUID] = set(self.connection.execute(query).scalars())
                    missing = next((key for key in ids if key not in stored), None)
                    if missing is not None:
                        raise NotFound(self.kind, missing)
        except IntegrityError as error:
            raise Conflict(f"{self.kind} could not be stored: {error.orig}") from error

    def find(self, entity_id: UUID, *, for_update: bool = False) -> E | None:
        """The entity, or None. ``for_update`` locks its row until the transaction ends."""
        return self._one(self.table.c.id == key_of(entity_id), for_update=for_update)

    def get(self, entity_id: UUID, *, for_update: bool = False) -> E:
        found = self.find(entity_id, for_update=for_update)
        if found is None:
            raise NotFound(self.kind, entity_id)
        return found

    def delete(self, entity_id: UUID) -> None:
        result = self.connection.execute(
            delete(self.table).where(self.table.c.id == key_of(entity_id))
        )
        if result.rowcount == 0:
            raise NotFound(self.kind, entity_id)

    def list(
        self,
        where: ColumnElement[bool] | None = None,
        order_by: Sequence[Any] = (),
        limit: int | None = None,
    ) -> list[E]:
        query = select(self.table)
        if where is not None:
            query = query.where(where)
        query = query.order_by(*order_by, self.table.c.id).limit(limit)
        return [self.mapper.from_row(row) for row in self.connection.execute(query).mappings()]

    def count(self, where: ColumnElement[bool] | None = None) -> int:
        query = select(func.count()).select_from(self.table)
        if where is not None:
            query = query.where(where)
        return int(self.connection.execute(query).scalar_one())

    def _one(self, where: ColumnElement[bool], *, for_update: bool = False) -> E | None:
        query = select(self.table).where(where)
        if for_update:
            query = query.with_for_update()  # SQLite: BEGIN IMMEDIATE already serializes writers
        row = self.connection.execute(query).mappings().first()
        return None if row is None else self.mapper.from_row(row)


class OrganizationRepository(Repository[Organization]):
    entity_cls = Organization
    table = tables.organizations

    def by_slug(self, slug: str) -> Organization | None:
        return self._one(self.table.c.slug == slug)


class UserRepository(Repository[User]):
    entity_cls = User
    table = tables.users

    def by_email(self, email: str) -> User | None:
        return self._one(self.table.c.email == email)


class PortfolioRepository(Repository[Portfolio]):
    entity_cls = Portfolio
    table = tables.portfolios

    def for_organization(self, organization_id: OrganizationId) -> list[Portfolio]:
        c = self.table.c
        return self.list(c.organization_id == key_of(organization_id), order_by=[c.created_at])


class InstrumentRepository(Repository[Instrument]):
    entity_cls = Instrument
    table = tables.instruments

    def by_symbol(self, exchange: str, symbol: str) -> Instrument | None:
        c = self.table.c
        return self._one((c.exchange == exchange) & (c.symbol == symbol))


class MarketDataRepository(Repository[Bar]):
    entity_cls = Bar
    table = tables.market_data

    def bars(
        self,
        instrument_id: InstrumentId,
        timeframe: Timeframe,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Bar]:
        """Bars of one instrument and timeframe in time order, ``start <= t < end``."""
        c = self.table.c
        where: ColumnElement[bool] = (c.instrument_id == key_of(instrument_id)) & (
            c.timeframe == timeframe
        )
        if start is not None:
            where &= c.timestamp >= start
        if end is not None:
            where &= c.timestamp < end
        return self.list(where, order_by=[c.timestamp])


class StrategyRepository(Repository[Strategy]):
    entity_cls = Strategy
    table = tables.strategies


class SignalRepository(Repository[Signal]):
    entity_cls = Signal
    table = tables.signals


class OrderRepository(Repository[Order]):
    entity_cls = Order
    table = tables.orders

    def by_client_order_id(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId
    ) -> Order | None:
        c = self.table.c
        return self._one(
            (c.portfolio_id == key_of(portfolio_id)) & (c.client_order_id == str(client_order_id))
        )

    def for_signal(self, signal_id: SignalId) -> list[Order]:
        """The orders a signal made (entry, stop, target, exits), oldest first."""
        c = self.table.c
        return self.list(c.signal_id == key_of(signal_id), order_by=[c.created_at])

    def open_orders(self, portfolio_id: PortfolioId | None = None) -> list[Order]:
        """Orders not yet FILLED, CANCELLED or REJECTED, oldest first."""
        c = self.table.c
        where: ColumnElement[bool] = c.status.in_(
            [OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.PARTIAL]
        )
        if portfolio_id is not None:
            where &= c.portfolio_id == key_of(portfolio_id)
        return self.list(where, order_by=[c.created_at])


class TradeRepository(Repository[Trade]):
    entity_cls = Trade
    table = tables.trades

    def for_order(self, order_id: OrderId) -> list[Trade]:
        c = self.table.c
        return self.list(c.order_id == key_of(order_id), order_by=[c.executed_at])

    def by_exchange_trade_id(
        self, order_id: OrderId, exchange_trade_id: VenueTradeId
    ) -> Trade | None:
        c = self.table.c
        return self._one(
            (c.order_id == key_of(order_id)) & (c.exchange_trade_id == str(exchange_trade_id))
        )


class PositionRepository(Repository[Position]):
    entity_cls = Position
    table = tables.positions

    def for_instrument(
        self, portfolio_id: PortfolioId, instrument_id: InstrumentId
    ) -> Position | None:
        c = self.table.c
        return self._one(
            (c.portfolio_id == key_of(portfolio_id)) & (c.instrument_id == key_of(instrument_id))
        )


class RiskLimitRepository(Repository[RiskLimit]):
    entity_cls = RiskLimit
    table = tables.risk_limits

    def for_portfolio(self, portfolio_id: PortfolioId) -> list[RiskLimit]:
        return self.list(self.table.c.portfolio_id == key_of(portfolio_id))


class TradingAgentRepository(Repository[TradingAgent]):
    entity_cls = TradingAgent
    table = tables.trading_agents


class TradingTaskRepository(Repository[TradingTask]):
    entity_cls = TradingTask
    table = tables.trading_tasks

    def pending_by_priority(self, limit: int = 100) -> list[TradingTask]:
        """Pending tasks, highest priority first, then oldest first."""
        c = self.table.c
        return self.list(
            c.status == TaskStatus.PENDING, order_by=[c.priority.desc(), c.created_at], limit=limit
        )


class EquityMarksRepository:
    """Each portfolio's day-start equity and high-water mark (one row per portfolio)."""

    table = tables.equity_marks

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def save(self, portfolio_id: PortfolioId, marks: EquityMarks, at: datetime) -> None:
        """Insert or overwrite the portfolio's marks."""
        c = self.table.c
        values = {
            "day": marks.day,
            "day_start": marks.day_start,
            "high_water_mark": marks.high_water_mark,
            "updated_at": at,
        }
        key = key_of(portfolio_id)
        result = self.connection.execute(
            update(self.table).where(c.portfolio_id == key).values(values)
        )
        if result.rowcount == 0:
            self.connection.execute(insert(self.table).values(portfolio_id=key, **values))

    def get(self, portfolio_id: PortfolioId) -> EquityMarks | None:
        c = self.table.c
        row = self.connection.execute(
            select(c.day, c.day_start, c.high_water_mark).where(
                c.portfolio_id == key_of(portfolio_id)
            )
        ).first()
        return None if row is None else EquityMarks(row.day, row.day_start, row.high_water_mark)
