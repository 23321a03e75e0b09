"""What the Parquet catalogs (bars and trade ticks) share: exact decimal columns,
hive-style directory names, all-or-nothing file replacement, fsync'd writes.

A write stages new files beside their targets (:class:`StagedWrite`), then renames them
into place, keeping the previous versions as hard-linked backups until it is finished,
so a failure part-way leaves the catalog as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from omoitrade.core.errors import OmoiError, ValidationError

DECIMAL = pa.decimal128(38, 18)
TIMESTAMP = pa.timestamp("us", tz="UTC")
ROW_GROUP_ROWS = 8_192
_ONE = Decimal(1)


class CatalogError(OmoiError):
    """A catalog file could not be read or written."""

    code = "catalog-error"


@dataclass(slots=True)
class Replacement:
    temp: Path
    target: Path
    backup: Path
    had_old: bool = False
    done: bool = False


@dataclass(slots=True)
class StagedWrite:
    """Year files written beside their targets but not yet visible to readers.

    :meth:`publish` renames them into place, keeping the previous versions as
    hard-linked backups; :meth:`rollback` restores those; :meth:`finish` drops
    them. Used as a context manager, anything not finished is rolled back.
    """

    files: tuple[Path, ...]
    added: int
    replaced: int
    _items: list[Replacement] = field(default_factory=list, repr=False)
    _state: str = "staged"

    def publish(self) -> None:
        """Make every staged file visible; on failure, undo the renames already made."""
        if self._state != "staged":
            raise ValidationError("StagedWrite", f"cannot publish when {self._state}")
        try:
            for item in self._items:
                if item.target.exists():
                    link_or_copy(item.target, item.backup)
                    item.had_old = True
                os.replace(item.temp, item.target)
                item.done = True
        except BaseException as error:
            self.rollback()
            if isinstance(error, OSError):
                raise CatalogError(f"could not publish {item.target}: {error}") from error
            raise
        self._state = "published"
        for directory in {item.target.parent for item in self._items}:
            fsync_directory(directory)

    def rollback(self) -> None:
        """Put back what was there before; remove staged files."""
        for item in self._items:
            if item.done:
                if item.had_old:
                    os.replace(item.backup, item.target)
                else:
                    item.target.unlink(missing_ok=True)
                item.done = False
            item.temp.unlink(missing_ok=True)
            item.backup.unlink(missing_ok=True)
        self._state = "rolled back"

    def finish(self) -> None:
        """Forget the previous versions: the write is final."""
        if self._state != "published":
            raise ValidationError("StagedWrite", f"cannot finish when {self._state}")
        for item in self._items:
            item.backup.unlink(missing_ok=True)
        self._state = "finished"

    def __enter__(self) -> StagedWrite:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._state in ("staged", "published"):
            self.rollback()


def path_segment(value: str) -> str:
    return quote(value, safe="")


def segment_value(segment: str) -> str:
    """The value of a ``key=value`` directory name."""
    return unquote(segment.split("=", 1)[1])


def read_parquet(path: Path, schema: pa.Schema, condition: pc.Expression | None = None) -> pa.Table:
    """One catalog file, only the rows (and row groups) ``condition`` can match."""
    try:
        return pq.read_table(path, schema=schema, filters=condition, partitioning=None)
    except (pa.ArrowException, OSError) as error:
        raise CatalogError(f"catalog file {path} is unreadable: {error}") from error


def file_summary(path: Path) -> tuple[int, int, int]:
    """(rows, first ns, last ns) of a catalog file, from its footer."""
    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowException, OSError) as error:
        raise CatalogError(f"catalog file {path} is unreadable: {error}") from error
    extra = meta.metadata or {}
    return meta.num_rows, int(extra[b"omoitrade.first_ns"]), int(extra[b"omoitrade.last_ns"])


def range_filter(start: datetime | None, end: datetime | None) -> pc.Expression | None:
    condition = None
    if start is not None:
        condition = pc.field("timestamp") >= pa.scalar(start, type=TIMESTAMP)
    if end is not None:
        upper = pc.field("timestamp") < pa.scalar(end, type=TIMESTAMP)
        condition = upper if condition is None else condition & upper
    return condition


def decimal_array(values: Sequence[Decimal | None], name: str) -> pa.Array:
    try:
        return pa.array(values, type=DECIMAL)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ValidationError(
            name, f"a value does not fit decimal(38, 18), the catalog's column type ({error})"
        ) from None


def nullable_decimals(column: pa.ChunkedArray) -> list[Decimal | None]:
    """A nullable decimal column (bid, ask: rarely stored) as trimmed Decimals."""
    with localcontext() as context:
        context.prec = 40
        return [None if value is None else trim(value) for value in column.to_pylist()]


def decimals_of(texts: Iterable[str]) -> list[Decimal]:
    """Decimals of number texts; equal texts share one object (prices repeat: a million
    bars hold a few thousand distinct prices, and each Decimal costs ~100 bytes)."""
    known: dict[str, Decimal] = {}
    values = []
    for text in texts:
        value = known.get(text)
        if value is None:
            value = known[text] = Decimal(text)
        values.append(value)
    return values


def exact_decimals(column: pa.ChunkedArray) -> list[Decimal]:
    """Decimals without the storage scale's trailing zeros (100.500000000000000000 -> 100.5).

    Arrow formats the text and trims the zeros (much faster than converting
    each value in Python); it writes zero and values below 1e-6 in exponent
    form, which are trimmed here instead.
    """
    raw = pc.cast(column, pa.string())
    text = pc.utf8_rtrim(pc.utf8_rtrim(raw, characters="0"), characters=".")
    values = decimals_of(text.to_numpy(zero_copy_only=False))
    exponent_form = pc.match_substring(raw, "E").to_numpy(zero_copy_only=False)
    if exponent_form.any():
        with localcontext() as context:
            context.prec = 40  # wider than decimal128's 38 digits: trimming never rounds
            for index in np.flatnonzero(exponent_form):
                values[index] = trim(Decimal(raw[int(index)].as_py()))
    return values


def trim(value: Decimal) -> Decimal:
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


def link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:  # a file system without hard links
        destination.write_bytes(source.read_bytes())


def fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def stage_parts(
    directory: Path,
    parts: Sequence[tuple[str, pa.Table]],
    schema: pa.Schema,
    key: str,
    metadata: dict[str, str],
) -> StagedWrite:
    """Merge each ``(name, rows)`` part into ``directory/name.parquet`` (a new row replaces
    the stored one with the same ``key``) and write the results beside their targets.

    Nothing is visible until the returned write is published; a failure rolls back.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CatalogError(f"could not create {directory}: {error}") from error
    staged = StagedWrite(files=(), added=0, replaced=0)
    token = uuid.uuid4().hex[:12]
    files: list[Path] = []
    try:
        for name, part in parts:
            target = directory / f"{name}.parquet"
            merged, replaced = _merge(target, part, schema, key)
            temp = directory / f".{name}.parquet.tmp-{token}"
            backup = directory / f".{name}.parquet.bak-{token}"
            staged._items.append(Replacement(temp, target, backup))
            try:
                write_parquet(merged, temp, metadata)
            except OSError as error:
                raise CatalogError(f"could not write {target}: {error}") from error
            staged.replaced += replaced
            staged.added += part.num_rows - replaced
            files.append(target)
    except BaseException:
        staged.rollback()
        raise
    staged.files = tuple(files)
    return staged


def _merge(target: Path, new: pa.Table, schema: pa.Schema, key: str) -> tuple[pa.Table, int]:
    """``new`` merged into the file at ``target``, in time order (stable: stored rows
    before new ones at equal times); new rows win on equal ``key``."""
    if not target.exists():
        return new, 0
    old = read_parquet(target, schema)
    clash = pc.is_in(old[key], value_set=new[key])
    replaced = int(pc.sum(clash).as_py() or 0)
    kept = old.filter(pc.invert(clash))
    merged = pa.concat_tables([kept, new]).sort_by("timestamp")
    return merged, replaced


def write_parquet(table: pa.Table, path: Path, metadata: dict[str, str]) -> None:
    """Write ``table`` (with ``metadata`` and its first and last timestamp in the footer,
    read back by :func:`file_summary`) and fsync it."""
    stamps = table["timestamp"].cast(pa.int64())
    footer = {
        **metadata,
        "omoitrade.first_ns": str(int(pc.min(stamps).as_py()) * 1000),
        "omoitrade.last_ns": str(int(pc.max(stamps).as_py()) * 1000),
    }
    table = table.replace_schema_metadata(footer)
    pq.write_table(
        table, path, row_group_size=ROW_GROUP_ROWS, compression="zstd", write_statistics=True
    )
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
