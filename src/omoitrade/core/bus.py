"""In-process message bus: topic publish/subscribe and named endpoints.

The bus is the wiring of the single-threaded, deterministic core. Delivery is
synchronous and deterministic (higher priority first, then first subscribed first), a
failing subscriber never stops the others, and the hot path of
:meth:`MessageBus.publish` is a cached tuple lookup followed by a tight loop.

Topic patterns use two wildcards: ``*`` matches any run of characters
(including dots, so ``events.*`` matches ``events.a.b``) and ``?`` matches
exactly one character. Every other character matches itself.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from omoitrade.core.errors import Conflict, NotFound, ValidationError

__all__ = [
    "HANDLER_FAILED_TOPIC",
    "Handler",
    "HandlerFailure",
    "MessageBus",
    "Subscription",
]

Handler = Callable[[Any], Any]
"""A callable that receives one message (a subscriber or an endpoint)."""

HANDLER_FAILED_TOPIC = "bus.handler_failed"
"""Topic on which every :class:`HandlerFailure` is published."""

_log = logging.getLogger("omoitrade.core.bus")

_WILDCARDS = frozenset("*?")
_MAX_CACHED_TOPICS = 65_536


@dataclass(frozen=True, slots=True, eq=False)
class Subscription:
    """A handle on one subscription; pass it to :meth:`MessageBus.unsubscribe`."""

    pattern: str
    handler: Handler
    priority: int
    sequence: int


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """Plain record of one handler that raised while a message was delivered."""

    topic: str
    pattern: str
    handler_name: str
    error_type: str
    error_message: str


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a topic pattern (``*`` = any run, ``?`` = one character) to a regex."""
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            if not parts or parts[-1] != ".*":
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def _handler_name(handler: Handler) -> str:
    qualname = getattr(handler, "__qualname__", None)
    if qualname is None:
        return repr(handler)
    module = getattr(handler, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


class MessageBus:
    """Synchronous, deterministic publish/subscribe and request/response bus."""

    __slots__ = (
        "_cache",
        "_endpoints",
        "_exact",
        "_reporting",
        "_sequence",
        "_subscriptions",
        "_wildcards",
        "failures",
    )

    def __init__(self, max_failures: int = 1000) -> None:
        """Create an empty bus keeping the last ``max_failures`` handler failures."""
        self._subscriptions: dict[tuple[str, Handler], Subscription] = {}
        self._exact: dict[str, list[Subscription]] = {}
        self._wildcards: list[tuple[re.Pattern[str], Subscription]] = []
        self._cache: dict[str, tuple[tuple[Handler, Subscription], ...]] = {}
        self._endpoints: dict[str, Handler] = {}
        self._sequence = 0
        self._reporting = False
        self.failures: deque[HandlerFailure] = deque(maxlen=max_failures)

    # -- publish / subscribe -------------------------------------------------

    def publish(self, topic: str, message: object) -> None:
        """Deliver ``message`` to every subscriber whose pattern matches ``topic``.

        Never raises because of a subscriber: failures are recorded, logged and
        published on :data:`HANDLER_FAILED_TOPIC`.
        """
        try:
            entries = self._cache[topic]
        except KeyError:
            entries = self._resolve(topic)
        for handler, subscription in entries:
            try:
                handler(message)
            except Exception as exc:
                self._handler_failed(topic, subscription.pattern, handler, exc)

    def subscribe(self, pattern: str, handler: Handler, priority: object = 0) -> Subscription:
        """Deliver messages on topics matching ``pattern`` to ``handler``.

        Higher ``priority`` (an int, checked here) is delivered first; among equal
        priorities the first subscribed is delivered first. Subscribing the same handler to the same
        pattern again returns the existing subscription (one delivery); doing so
        with another priority raises :class:`Conflict`. Takes effect from the next publish.
        """
        if not isinstance(pattern, str) or not pattern:
            raise ValidationError("pattern", "must be a non-empty string", pattern)
        if not callable(handler):
            raise ValidationError("handler", "must be callable", handler)
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ValidationError("priority", "must be an integer", priority)
        key = (pattern, handler)
        existing = self._subscriptions.get(key)
        if existing is not None:
            if existing.priority != priority:
                raise Conflict(
                    f"{_handler_name(handler)} is already subscribed to {pattern!r} "
                    f"with priority {existing.priority}, not {priority}"
                )
            return existing
        subscription = Subscription(pattern, handler, priority, self._sequence)
        self._sequence += 1
        self._subscriptions[key] = subscription
        if _WILDCARDS.isdisjoint(pattern):
            self._exact.setdefault(pattern, []).append(subscription)
        else:
            self._wildcards.append((compile_pattern(pattern), subscription))
        self._cache.clear()
        return subscription

    def unsubscribe(self, subscription: Subscription | str, handler: Handler | None = None) -> bool:
        """Remove a subscription, given its handle or its ``(pattern, handler)``.

        Returns whether something was removed (unsubscribing twice is harmless).
        Takes effect from the next publish.
        """
        if isinstance(subscription, Subscription):
            key = (subscription.pattern, subscription.handler)
        elif handler is not None:
            key = (subscription, handler)
        else:
            raise ValidationError("handler", "is required when unsubscribing by pattern")
        removed = self._subscriptions.pop(key, None)
        if removed is None:
            return False
        pattern = removed.pattern
        if pattern in self._exact:
            remaining = [s for s in self._exact[pattern] if s is not removed]
            if remaining:
                self._exact[pattern] = remaining
            else:
                del self._exact[pattern]
        else:
            self._wildcards = [(r, s) for r, s in self._wildcards if s is not removed]
        self._cache.clear()
        return True

    def _resolve(self, topic: str) -> tuple[tuple[Handler, Subscription], ...]:
        """Work out (and cache) the sorted handlers of a concrete topic."""
        matched = list(self._exact.get(topic, ()))
        matched.extend(s for regex, s in self._wildcards if regex.match(topic))
        matched.sort(key=lambda s: (-s.priority, s.sequence))
        entries = tuple((s.handler, s) for s in matched)
        if len(self._cache) >= _MAX_CACHED_TOPICS:
            self._cache.clear()
        self._cache[topic] = entries
        return entries

    # -- endpoints -----------------------------------------------------------

    def register(self, endpoint: str, handler: Handler) -> None:
        """Name ``handler`` as the one receiver of :meth:`send` and :meth:`request`.

        Registering the same handler again is harmless; another handler under a
        taken name raises :class:`Conflict`.
        """
        if not isinstance(endpoint, str) or not endpoint:
            raise ValidationError("endpoint", "must be a non-empty string", endpoint)
        if not callable(handler):
            raise ValidationError("handler", "must be callable", handler)
        existing = self._endpoints.get(endpoint)
        if existing is not None and existing != handler:
            raise Conflict(
                f"endpoint {endpoint} is already registered to {_handler_name(existing)}"
            )
        self._endpoints[endpoint] = handler

    def deregister(self, endpoint: str) -> None:
        """Remove a named endpoint; an unknown name raises :class:`NotFound`."""
        if self._endpoints.pop(endpoint, None) is None:
            raise NotFound("endpoint", endpoint)

    def send(self, endpoint: str, message: object) -> None:
        """Hand ``message`` to an endpoint without waiting for an answer.

        An unknown endpoint raises :class:`NotFound`; a failure of the handler is
        isolated and reported like a subscriber failure.
        """
        try:
            handler = self._endpoints[endpoint]
        except KeyError:
            raise NotFound("endpoint", endpoint) from None
        try:
            handler(message)
        except Exception as exc:
            self._handler_failed(endpoint, endpoint, handler, exc)

    def request(self, endpoint: str, message: object) -> Any:
        """Call an endpoint and return its answer; its exceptions propagate."""
        try:
            handler = self._endpoints[endpoint]
        except KeyError:
            raise NotFound("endpoint", endpoint) from None
        return handler(message)

    # -- introspection -------------------------------------------------------

    def topics(self) -> list[str]:
        """The distinct patterns with at least one subscription, sorted."""
        return sorted({pattern for pattern, _ in self._subscriptions})

    def subscriptions(self) -> list[Subscription]:
        """Every active subscription, first subscribed first."""
        return sorted(self._subscriptions.values(), key=lambda s: s.sequence)

    def endpoints(self) -> list[str]:
        """The registered endpoint names, sorted."""
        return sorted(self._endpoints)

    # -- failures ------------------------------------------------------------

    def _handler_failed(self, topic: str, pattern: str, handler: Handler, error: Exception) -> None:
        """Record, log and (unless already reporting) publish a handler failure.

        Must be called from inside the ``except`` block that caught ``error``.
        """
        failure = HandlerFailure(
            topic=topic,
            pattern=pattern,
            handler_name=_handler_name(handler),
            error_type=type(error).__qualname__,
            error_message=str(error),
        )
        _log.exception(
            "handler %s failed on topic %s (pattern %s)",
            failure.handler_name,
            topic,
            pattern,
        )
        self.failures.append(failure)
        # A failure while reporting a failure is only logged and recorded, so a
        # failing failure handler can never recurse.
        if self._reporting or topic == HANDLER_FAILED_TOPIC:
            return
        self._reporting = True
        try:
            self.publish(HANDLER_FAILED_TOPIC, failure)
        finally:
            self._reporting = False
