"""What the working orders at the simulated exchange lock, and whether a new one can be paid.

One job: keep each working order's lock (see :meth:`SimAccount.needs`) in step with its
reports, and say what a new order would lock more than the account has free.

- **OCO groups reserve once**: an account's orders of one ``oco_group`` can never all fill
  (the first fill cancels the rest), so the group holds, per currency, the largest of its
  members' locks, not their sum. An order joins its group when it is accepted (NEW) and
  leaves it when it is done.
- **Covers share the short's reserve**: a margin account's buys of one instrument that
  work at once are counted in the order they were accepted, each on the short left after
  the buys before it, so together they never count more of the reserve as released than
  the short holds. An OCO group's buys count once, as their largest, at the place of the
  group's first. While the account is short the instrument, every fill of the instrument
  and every report of one of those buys moves all their locks (and once more when the
  short ends); without a short a buy releases nothing, and each order's lock is its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from omoitrade.model.enums import ExecType, OrderSide, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO
from omoitrade.model.venue import ExecutionReport, SubmitOrder
from omoitrade.venues.sim.accounts import Lock, SimAccount, lock_amount

# enum members bound once: reading one off its class costs more than the test that uses it
_TRADE, _NEW, _MARKET = ExecType.TRADE, ExecType.NEW, OrderType.MARKET
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL

OrderKey = tuple[AccountId, ClientOrderId]
Shortfall = tuple[str, Decimal, Decimal]  # (currency, needed, free)
# one working buy of a margin account, for its share of the reserve: (OCO group, leaves, price)
CoverEntry = tuple[str | None, Decimal, Decimal | None]
Covers = dict[ClientOrderId, ExecutionReport]  # working buys by id, in the order they came


class Reservations:
    """The locks of the working orders of every account at one exchange."""

    def __init__(self, market_price: Callable[[InstrumentId], Decimal | None]) -> None:
        """``market_price``: the price a working market order of an instrument locks at,
        None when it locks nothing (it never rests, or its price is not known)."""
        self._market_price = market_price
        self._locks: dict[OrderKey, Lock] = {}  # each working order's own lock
        # OCO groups: a submitted order's group, then the working members of each group
        self._joining: dict[OrderKey, str] = {}
        self._group_of: dict[OrderKey, str] = {}
        self._groups: dict[tuple[AccountId, str], dict[ClientOrderId, None]] = {}
        # margin accounts' working buys per instrument, in the order they were accepted,
        # with their latest reports: they share the reserve of the short they cover
        self._covers: dict[tuple[AccountId, InstrumentId], Covers] = {}
        # the (account, instrument) pairs short at their covers' last relock
        self._shorted: set[tuple[AccountId, InstrumentId]] = set()

    def joining(self, key: OrderKey, group: str) -> None:
        """A submitted order of ``group``: it joins the group when it is accepted."""
        self._joining[key] = group

    def refused(self, key: OrderKey) -> None:
        """A submitted order was rejected: it joins nothing (and never locked anything)."""
        if self._joining:
            self._joining.pop(key, None)

    def book(
        self,
        account: SimAccount,
        key: OrderKey,
        report: ExecutionReport,
        instrument: Instrument,
    ) -> None:
        """Move the locks a report of ``account`` changes (any fill already booked)."""
        if self._joining and report.exec_type is _NEW and key in self._joining:
            self._join(key, self._joining.pop(key))
        if account.short_margin is not None and (report.side is _BUY or report.exec_type is _TRADE):
            covers = self._track_cover(key, report, instrument)
            if covers and self._sharing(account, instrument.id):
                # a fill or a buy moves the share of the reserve of every cover
                self._relock(account, key, report, instrument, covers)
                return
        group = self._group_of.get(key) if self._group_of else None
        if group is not None:
            self._relock_group(account, key, group, report, instrument)
            return
        previous = self._locks.pop(key, None)
        if previous is not None:
            account.release(previous)
        lock = self._lock_for(account, report, instrument)
        if lock:
            account.hold(lock)
            self._locks[key] = lock

    def problem(
        self,
        account: SimAccount,
        instrument: Instrument,
        command: SubmitOrder,
        price: Decimal | None,
    ) -> str | None:
        """Why ``account`` cannot pay for a new order at ``price`` (None: a market order
        with no price to fund it at), or None when it can."""
        if (
            command.side is _BUY
            and account.short_margin is not None
            and account.is_short(instrument.id)
        ):  # a margin account's cover
            lack = self._cover_shortfall(account, instrument, command, price)
            if lack is None:
                return None
            currency, needed, free, others = lack
            why = " (the working buys of the short would release less)" if others else ""
            return f"insufficient {currency}: needs {needed}{why}, free {free}"
        shortfall = self.shortfall(account, instrument, command, price)
        if shortfall is None:
            return None
        return _insufficient(command.side, instrument, *shortfall)

    def shortfall(
        self,
        account: SimAccount,
        instrument: Instrument,
        command: SubmitOrder,
        price: Decimal | None,
    ) -> Shortfall | None:
        """The first (currency, needed, free) a new order at ``price`` would need more of
        than the account has free, counting what its OCO group holds already as free;
        None when it can be paid."""
        if (
            command.side is _BUY
            and account.short_margin is not None
            and account.is_short(instrument.id)
        ):  # a margin account's cover
            lack = self._cover_shortfall(account, instrument, command, price)
            return None if lack is None else lack[:3]
        group = command.oco_group
        members = None if group is None else self._groups.get((command.account_id, group))
        shared = () if not members else self._group_lock(command.account_id, members)
        need = account.needs(instrument, command.side, command.quantity, price, shared)
        return account.shortfall(need, shared)

    def amend_problem(
        self,
        account: SimAccount,
        instrument: Instrument,
        key: OrderKey,
        side: OrderSide,
        quantity: Decimal,
        price: Decimal,
    ) -> str | None:
        """Why ``account`` cannot pay for its working order ``key`` amended to ``quantity``
        left at ``price``: what it would lock more than it holds now (its own lock, or its
        OCO group's) and has free; None when it can. A buy covering a short is not checked
        here: the covers' shares of the reserve move with it (see the module docstring)."""
        if side is _BUY and account.short_margin is not None and account.is_short(instrument.id):
            return None
        account_id = key[0]
        group = self._group_of.get(key) if self._group_of else None
        need = account.needs(instrument, side, quantity, price)
        if group is None:
            held = self._locks.get(key, ())
        else:  # the group holds the largest lock of its members, this one as amended
            members = self._groups[account_id, group]
            held = self._group_lock(account_id, members)
            others = {m: None for m in members if m != key[1]}
            most = dict(self._group_lock(account_id, others))
            for currency, amount in need:
                if amount > most.get(currency, ZERO):
                    most[currency] = amount
            need = tuple(sorted(most.items()))
        lack = account.shortfall(need, held)
        return None if lack is None else _insufficient(side, instrument, *lack)

    # --- OCO groups -------------------------------------------------------------------------
    def _join(self, key: OrderKey, group: str) -> None:
        self._group_of[key] = group
        self._groups.setdefault((key[0], group), {})[key[1]] = None

    def _leave(self, key: OrderKey) -> None:
        """A member done leaves its group; the last one ends it."""
        group = self._group_of.pop(key)
        members = self._groups[key[0], group]
        members.pop(key[1], None)
        if not members:
            del self._groups[key[0], group]

    def _relock_group(
        self,
        account: SimAccount,
        key: OrderKey,
        group: str,
        report: ExecutionReport,
        instrument: Instrument,
    ) -> None:
        """Move the lock of a member of an OCO group: the group holds the largest of its
        members' locks, per currency; a member done leaves the group."""
        members = self._groups[key[0], group]
        account.release(self._group_lock(key[0], members))
        self._locks.pop(key, None)
        lock = self._lock_for(account, report, instrument)  # with the group's funds free
        if lock:
            self._locks[key] = lock
        if report.leaves_quantity <= ZERO:
            self._leave(key)
        account.hold(self._group_lock(key[0], members))

    def _group_lock(self, account_id: AccountId, members: dict[ClientOrderId, None]) -> Lock:
        """Per currency, the largest lock of the group's ``members``."""
        most: dict[str, Decimal] = {}
        locks = self._locks
        for client_order_id in members:
            for currency, amount in locks.get((account_id, client_order_id), ()):
                if amount > most.get(currency, ZERO):
                    most[currency] = amount
        return tuple(sorted(most.items()))

    # --- covers of a short ------------------------------------------------------------------
    def _track_cover(
        self, key: OrderKey, report: ExecutionReport, instrument: Instrument
    ) -> Covers | None:
        """Note a margin account's buy as working (at its place) or done; the working buys
        of the account and instrument, or None."""
        pair = (key[0], instrument.id)
        covers = self._covers.get(pair)
        if report.side is not _BUY:
            return covers
        if report.leaves_quantity > ZERO:
            if covers is None:
                covers = self._covers[pair] = {}
            covers[key[1]] = report
        elif covers is not None:
            covers.pop(key[1], None)
            if not covers:
                del self._covers[pair]
        return covers

    def _relock(
        self,
        account: SimAccount,
        key: OrderKey,
        report: ExecutionReport,
        instrument: Instrument,
        covers: Covers,
    ) -> None:
        """Move the locks of the reported order and of every working cover of the account
        and instrument, and of the OCO groups they are in, to what they need now."""
        account_id, locks, group_of = key[0], self._locks, self._group_of
        reported_covers = key[1] in covers
        keys = [(account_id, client_order_id) for client_order_id in covers]
        if not reported_covers:
            keys.append(key)
        groups: dict[str, None] = {}
        alone: list[OrderKey] = []
        for k in keys:
            group = group_of.get(k)
            if group is None:
                alone.append(k)
            else:
                groups[group] = None
        for k in alone:  # release what they hold: their own locks, their groups' locks
            account.release(locks.get(k, ()))
        for group in groups:
            account.release(self._group_lock(account_id, self._groups[account_id, group]))
        for k in keys:
            locks.pop(k, None)
        ids = list(covers)
        new = self._cover_locks(account, instrument, self._entries(account_id, covers))
        for index, lock in enumerate(new):
            if lock:
                locks[account_id, ids[index]] = lock
        if not reported_covers:
            lock = self._lock_for(account, report, instrument)
            if lock:
                locks[key] = lock
        if report.leaves_quantity <= ZERO and key in group_of:
            self._leave(key)
        for group in groups:  # hold what they need now
            members = self._groups.get((account_id, group))
            if members:
                account.hold(self._group_lock(account_id, members))
        for k in alone:
            account.hold(locks.get(k, ()))

    def _sharing(self, account: SimAccount, instrument_id: InstrumentId) -> bool:
        """Whether the covers' locks depend on each other now: the account is short the
        instrument, or was at their last relock (once more, to drop the releases)."""
        pair = (account.account_id, instrument_id)
        if account.is_short(instrument_id):
            self._shorted.add(pair)
            return True
        if pair in self._shorted:
            self._shorted.discard(pair)
            return True
        return False

    def _cover_shortfall(
        self,
        account: SimAccount,
        instrument: Instrument,
        command: SubmitOrder,
        price: Decimal | None,
    ) -> tuple[str, Decimal, Decimal, bool] | None:
        """A margin account's buy joins the buys working before it on the short's reserve
        (or its OCO group's place among them): what the account would lock more, counting
        what its group holds as free, against its free quote, and whether working buys
        would lock more for it; None when it can."""
        account_id, locks = command.account_id, self._locks
        covers = self._covers.get((account_id, instrument.id), {})
        ids = list(covers)
        entries = self._entries(account_id, covers)
        entries.append((command.oco_group, command.quantity, price))
        after = self._cover_locks(account, instrument, entries)
        quote = instrument.quote_currency
        own = lock_amount(after[-1], quote)
        moved: dict[ClientOrderId, Lock] = {}  # the working ones' locks, after
        groups: dict[str, None] = {}
        more = ZERO
        others = False  # whether working buys would lock more
        for index, client_order_id in enumerate(ids):
            lock, group = after[index], entries[index][0]
            moved[client_order_id] = lock
            if group is not None:
                groups[group] = None
                continue
            old = locks.get((account_id, client_order_id), ())
            if lock != old:  # (not adding zeros keeps the need's own exponent)
                delta = lock_amount(lock, quote) - lock_amount(old, quote)
                more += delta
                others = others or delta > ZERO
        if command.oco_group is None:
            more += own
        else:
            groups[command.oco_group] = None
        counted = ZERO
        for group in groups:
            held = largest = ZERO
            for client_order_id in self._groups.get((account_id, group), {}):
                was = lock_amount(locks.get((account_id, client_order_id), ()), quote)
                will = moved.get(client_order_id)
                now = was if will is None else lock_amount(will, quote)
                if was > held:
                    held = was
                if now > largest:
                    largest = now
            others = others or largest > held
            if group == command.oco_group:
                counted = held
                if own > largest:
                    largest = own
            if largest != held:
                more += largest - held
        free = account.free(quote)
        if more <= ZERO or more <= free:
            return None
        return quote, more + counted, free + counted, others

    def _entries(self, account_id: AccountId, covers: Covers) -> list[CoverEntry]:
        group_of = self._group_of
        return [
            (group_of.get((account_id, client_order_id)), r.leaves_quantity, self._lock_price(r))
            for client_order_id, r in covers.items()
        ]

    @staticmethod
    def _cover_locks(
        account: SimAccount, instrument: Instrument, entries: Sequence[CoverEntry]
    ) -> list[Lock]:
        """The locks of a margin account's working buys of ``instrument``, in the order
        they came: each is funded on the short left after the buys before it. Members of
        one group fill one at most, so they count once, as their largest, at the place of
        the first."""
        claims: list[list[int]] = []
        place: dict[str, int] = {}
        for index, entry in enumerate(entries):
            group = entry[0]
            if group is None:
                claims.append([index])
            elif group in place:
                claims[place[group]].append(index)
            else:
                place[group] = len(claims)
                claims.append([index])
        locks: list[Lock] = [() for _ in entries]
        ahead = ZERO
        for members in claims:
            most = ZERO
            for index in members:
                _, leaves, price = entries[index]
                if price is not None:
                    locks[index] = account.needs(instrument, _BUY, leaves, price, ahead=ahead)
                if leaves > most:
                    most = leaves
            ahead += most
        return locks

    # --- one order --------------------------------------------------------------------------
    def _lock_price(self, report: ExecutionReport) -> Decimal | None:
        """The price a working order's lock is counted at: its own, or a market order's
        (see ``market_price``); None: it locks nothing."""
        if report.order_type is not _MARKET:
            return report.price or report.stop_price
        return self._market_price(report.instrument_id)

    def _lock_for(
        self, account: SimAccount, report: ExecutionReport, instrument: Instrument
    ) -> Lock:
        """What a working order holds (see :meth:`SimAccount.needs`)."""
        if report.leaves_quantity <= ZERO:
            return ()
        price = self._lock_price(report)
        if price is None:
            return ()
        return account.needs(instrument, report.side, report.leaves_quantity, price)


def _insufficient(
    side: OrderSide, instrument: Instrument, currency: str, needed: Decimal, free: Decimal
) -> str:
    """The reason an order the account cannot pay for is refused."""
    short = side is _SELL and currency != instrument.base_currency
    margin = " for the short margin" if short else ""
    return f"insufficient {currency}{margin}: needs {needed}, free {free}"
