"""Typed identifiers.

Two families: :class:`UuidIdentifier` (a ``uuid.UUID`` subclass; generated as
time-ordered UUIDv7 so that rows indexed by them are appended in order) and
:class:`StrIdentifier` (a validated ``str`` subclass for names that other
systems choose). Subclasses name what they identify, so a function that wants
one kind cannot silently receive another in type-checked code.

Generation goes through an :class:`IdGenerator` that takes its time and
randomness from outside, so a backtest on a simulated clock with a fixed seed
produces the same identifiers every run.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, Self
from uuid import UUID, SafeUUID

from pydantic_core import core_schema

from omoitrade.core.errors import ValidationError

_RAND_BITS = 74  # rand_a (12 bits) + rand_b (62 bits) of RFC 9562 UUIDv7
_RAND_LIMIT = 1 << _RAND_BITS
_RAND_A_MASK = (1 << 12) - 1
_RAND_B_MASK = (1 << 62) - 1


class IdGenerator:
    """Makes monotonic UUIDv7 values from an injected clock and random source.

    Within one millisecond the 74 random bits are incremented, so values made
    by one generator are strictly increasing (RFC 9562, method 2).
    """

    __slots__ = ("_last", "_last_ms", "_lock", "_now_ns", "_random")

    def __init__(
        self,
        now_ns: Callable[[], int] = time.time_ns,
        seed: int | None = None,
        *,
        thread_safe: bool = True,
    ) -> None:
        self._now_ns = now_ns
        self._random: random.Random = (
            random.Random(seed) if seed is not None else random.SystemRandom()
        )
        self._last_ms = -1
        self._last = _encode(-1, 0)  # the last value made: _last_ms's, counter included
        # API worker threads share the default generator; a component of the single-
        # threaded trading core may do without the lock (``thread_safe=False``).
        self._lock = threading.Lock() if thread_safe else None

    def next_int(self) -> int:
        """The next UUIDv7 as a 128-bit integer."""
        lock = self._lock
        if lock is None:
            return self._next_locked()
        with lock:
            return self._next_locked()

    def _next_locked(self) -> int:
        ms = self._now_ns() // 1_000_000
        last = self._last
        if ms <= self._last_ms and last & _RAND_B_MASK != _RAND_B_MASK:
            # the counter's increment, when it does not carry out of rand_b: the value + 1
            last += 1
            self._last = last
            return last
        if ms <= self._last_ms:
            ms = self._last_ms
            rand = ((last >> 64) & _RAND_A_MASK) << 62 | (last & _RAND_B_MASK)
            rand += 1
            if rand >= _RAND_LIMIT:  # the counter ran out within one millisecond
                ms += 1
                rand = self._random.getrandbits(_RAND_BITS - 1)
        else:
            # leave headroom so the counter rarely overflows within a millisecond
            rand = self._random.getrandbits(_RAND_BITS - 1)
        self._last_ms = ms
        last = self._last = _encode(ms, rand)
        return last

    def next_uuid(self) -> UUID:
        return UUID(int=self.next_int())


def _encode(ms: int, rand: int) -> int:
    """The UUIDv7 of a millisecond and a 74-bit counter (rand_a: its top 12 bits)."""
    rand_a = rand >> 62
    rand_b = rand & _RAND_B_MASK
    return (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b


_default_generator = IdGenerator()
_set_int = UUID.__dict__["int"].__set__
_set_safe = UUID.__dict__["is_safe"].__set__
_UNKNOWN = SafeUUID.unknown


class UuidIdentifier(UUID):
    """Base of UUID-valued identifiers; ``Kind.new()`` makes a fresh time-ordered one.

    Identifiers are dictionary keys everywhere, so each keeps its hash (computed once).
    """

    __slots__ = ("_hash",)
    _hash: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "_hash", hash(self.int))

    def __hash__(self) -> int:
        return self._hash

    def __setstate__(self, state: Any) -> None:  # unpickling and copying
        super().__setstate__(state)  # type: ignore[misc]
        object.__setattr__(self, "_hash", hash(self.int))

    @classmethod
    def new(cls, generator: IdGenerator | None = None) -> Self:
        """A new identifier from ``generator`` (wall clock and system randomness by default)."""
        if generator is None:
            generator = _default_generator
        # a valid 128-bit UUIDv7 (without the lock's detour when the generator has none)
        value = generator._next_locked() if generator._lock is None else generator.next_int()
        identifier = object.__new__(cls)
        _set_int(identifier, value)  # the slots' own setters: UUID refuses setattr
        _set_safe(identifier, _UNKNOWN)
        _set_hash(identifier, hash(value))
        return identifier

    @classmethod
    def parse(cls, value: Any) -> Self:
        """Accept an instance, a ``UUID`` or its text; anything else is a ValidationError."""
        if isinstance(value, cls):
            return value
        if isinstance(value, UUID):
            return cls(int=value.int)
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
        raise ValidationError(cls.__name__, "must be a UUID", value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="json"),
        )


_set_hash = UuidIdentifier.__dict__["_hash"].__set__


class StrIdentifier(str):
    """Base of text identifiers: non-empty, bounded length, a declared character set."""

    __slots__ = ()
    max_length: ClassVar[int] = 128
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"[\x21-\x7e]+")  # printable, no spaces
    rule: ClassVar[str] = "printable characters without spaces"

    def __new__(cls, value: str) -> Self:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str) or not value:
            raise ValidationError(cls.__name__, "must be a non-empty string", value)
        if len(value) > cls.max_length:
            raise ValidationError(
                cls.__name__, f"must be at most {cls.max_length} characters", value
            )
        if cls.pattern.fullmatch(value) is None:
            raise ValidationError(cls.__name__, f"must contain only {cls.rule}", value)
        return super().__new__(cls, value)

    @classmethod
    def random(cls, prefix: str = "", rng: random.Random | None = None) -> Self:
        """A random identifier (hex) with an optional prefix, e.g. for client order ids."""
        bits = rng.getrandbits(96) if rng is not None else secrets.randbits(96)
        return cls(f"{prefix}{bits:024x}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())
