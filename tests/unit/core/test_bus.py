"""Behaviour of the in-process message bus."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.bus import (
    HANDLER_FAILED_TOPIC,
    HandlerFailure,
    MessageBus,
    Subscription,
    compile_pattern,
)
from omoitrade.core.errors import Conflict, NotFound, ValidationError


class Recorder:
    """Collects (label, message) pairs from any number of labelled handlers."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def handler(self, label: str) -> Callable[[object], None]:
        def handle(message: object) -> None:
            self.calls.append((label, message))

        handle.__qualname__ = f"handle_{label}"
        return handle

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.calls]


def boom(message: object) -> None:
    raise RuntimeError(f"boom on {message}")


# -- topics and patterns -------------------------------------------------------


def test_exact_topic_is_delivered_to_its_subscriber() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("events.a.done", rec.handler("a"))
    bus.publish("events.a.done", 42)
    assert rec.calls == [("a", 42)]


def test_exact_pattern_does_not_match_other_topics() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("events.a", rec.handler("a"))
    bus.publish("events.a.done", 1)
    bus.publish("events", 2)
    bus.publish("events.ab", 3)
    bus.publish("xevents.a", 4)
    assert rec.calls == []


def test_star_matches_any_run_including_dots() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("events.a.*", rec.handler("segment"))
    bus.subscribe("events.*", rec.handler("multi"))
    bus.subscribe("*", rec.handler("all"))
    bus.publish("events.a.done", 1)
    bus.publish("events.b", 2)
    assert rec.calls == [("segment", 1), ("multi", 1), ("all", 1), ("multi", 2), ("all", 2)]


def test_star_matches_the_empty_run() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("events.*", rec.handler("a"))
    bus.publish("events.", 1)
    bus.publish("events", 2)
    assert rec.calls == [("a", 1)]


def test_star_in_the_middle_spans_segments() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("events.*.done", rec.handler("a"))
    bus.publish("events.x.y.done", 1)
    bus.publish("events.x.done", 2)
    bus.publish("events.x.done.later", 3)
    assert rec.calls == [("a", 1), ("a", 2)]


def test_question_mark_matches_exactly_one_character() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("tick.?", rec.handler("a"))
    bus.publish("tick.1", 1)
    bus.publish("tick.12", 2)
    bus.publish("tick.", 3)
    bus.publish("tick..", 4)
    assert rec.calls == [("a", 1), ("a", 4)]


def test_regex_characters_in_patterns_are_literal() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("a+b.(c)[d]", rec.handler("a"))
    bus.subscribe("a+b.*", rec.handler("b"))
    bus.publish("a+b.(c)[d]", 1)
    bus.publish("aab.(c)d", 2)
    assert rec.calls == [("a", 1), ("b", 1)]


def test_non_matching_patterns_get_nothing() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("events.b.*", rec.handler("b"))
    bus.subscribe("other.*", rec.handler("o"))
    bus.subscribe("events.?", rec.handler("q"))
    bus.publish("events.a.done", 1)
    assert rec.calls == []


def test_publish_without_subscribers_does_nothing() -> None:
    bus = MessageBus()
    bus.publish("nobody.listens", object())
    assert list(bus.failures) == []


# -- ordering ------------------------------------------------------------------


def test_higher_priority_first_then_subscription_order() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("t", rec.handler("low1"), priority=-5)
    bus.subscribe("t", rec.handler("mid1"))
    bus.subscribe("*", rec.handler("high"), priority=10)
    bus.subscribe("?", rec.handler("mid2"))
    bus.subscribe("t", rec.handler("low2"), priority=-5)
    bus.publish("t", None)
    assert rec.labels == ["high", "mid1", "mid2", "low1", "low2"]


def test_delivery_order_is_the_same_every_publish() -> None:
    bus, rec = MessageBus(), Recorder()
    for i in range(20):
        bus.subscribe("t.*" if i % 2 else "t.x", rec.handler(str(i)), priority=i % 3)
    bus.publish("t.x", None)
    first = rec.labels
    rec.calls.clear()
    bus.publish("t.x", None)
    assert rec.labels == first
    assert first == [str(i) for i in sorted(range(20), key=lambda i: (-(i % 3), i))]


def test_subscribing_the_same_handler_twice_is_idempotent() -> None:
    bus, rec = MessageBus(), Recorder()
    handler = rec.handler("a")
    first = bus.subscribe("t.*", handler)
    second = bus.subscribe("t.*", handler)
    bus.publish("t.x", 1)
    assert first is second
    assert rec.calls == [("a", 1)]
    assert len(bus.subscriptions()) == 1


def test_resubscribing_with_another_priority_conflicts() -> None:
    bus, rec = MessageBus(), Recorder()
    handler = rec.handler("a")
    bus.subscribe("t", handler, priority=1)
    with pytest.raises(Conflict):
        bus.subscribe("t", handler, priority=2)


def test_bound_methods_are_recognised_as_the_same_handler() -> None:
    class Listener:
        def __init__(self) -> None:
            self.seen: list[object] = []

        def on(self, message: object) -> None:
            self.seen.append(message)

    bus, listener = MessageBus(), Listener()
    bus.subscribe("t", listener.on)
    bus.subscribe("t", listener.on)
    bus.publish("t", 1)
    assert listener.seen == [1]
    assert bus.unsubscribe("t", listener.on)
    bus.publish("t", 2)
    assert listener.seen == [1]


def test_same_handler_on_two_matching_patterns_is_delivered_twice() -> None:
    bus, rec = MessageBus(), Recorder()
    handler = rec.handler("a")
    bus.subscribe("t.x", handler)
    bus.subscribe("t.*", handler)
    bus.publish("t.x", 1)
    assert rec.calls == [("a", 1), ("a", 1)]


# -- unsubscribe and re-entrancy -----------------------------------------------


def test_unsubscribe_by_handle_stops_delivery() -> None:
    bus, rec = MessageBus(), Recorder()
    sub = bus.subscribe("t.*", rec.handler("a"))
    bus.subscribe("t.*", rec.handler("b"))
    bus.publish("t.x", 1)
    assert bus.unsubscribe(sub) is True
    bus.publish("t.x", 2)
    assert rec.calls == [("a", 1), ("b", 1), ("b", 2)]


def test_unsubscribe_by_pattern_and_handler_stops_delivery() -> None:
    bus, rec = MessageBus(), Recorder()
    handler = rec.handler("a")
    bus.subscribe("t", handler)
    bus.publish("t", 1)
    assert bus.unsubscribe("t", handler) is True
    bus.publish("t", 2)
    assert rec.calls == [("a", 1)]
    assert bus.topics() == []


def test_unsubscribing_twice_is_harmless() -> None:
    bus, rec = MessageBus(), Recorder()
    sub = bus.subscribe("t", rec.handler("a"))
    assert bus.unsubscribe(sub) is True
    assert bus.unsubscribe(sub) is False
    assert bus.unsubscribe("never", rec.handler("b")) is False


def test_unsubscribe_by_pattern_needs_the_handler() -> None:
    bus = MessageBus()
    with pytest.raises(ValidationError):
        bus.unsubscribe("t")


def test_unsubscribing_during_delivery_takes_effect_from_the_next_publish() -> None:
    bus, rec = MessageBus(), Recorder()
    later = rec.handler("later")
    subs: list[Subscription] = []

    def remover(message: object) -> None:
        rec.calls.append(("remover", message))
        bus.unsubscribe(subs[0])

    bus.subscribe("t", remover, priority=1)
    subs.append(bus.subscribe("t", later))
    bus.publish("t", 1)
    bus.publish("t", 2)
    assert rec.calls == [("remover", 1), ("later", 1), ("remover", 2)]


def test_subscribing_during_delivery_takes_effect_from_the_next_publish() -> None:
    bus, rec = MessageBus(), Recorder()
    added = rec.handler("added")

    def adder(message: object) -> None:
        rec.calls.append(("adder", message))
        bus.subscribe("t", added)

    bus.subscribe("t", adder)
    bus.publish("t", 1)
    bus.publish("t", 2)
    assert rec.calls == [("adder", 1), ("adder", 2), ("added", 2)]


def test_handler_can_unsubscribe_itself() -> None:
    bus, rec = MessageBus(), Recorder()

    def once(message: object) -> None:
        rec.calls.append(("once", message))
        bus.unsubscribe("t", once)

    bus.subscribe("t", once)
    bus.publish("t", 1)
    bus.publish("t", 2)
    assert rec.calls == [("once", 1)]


def test_nested_publish_is_delivered_depth_first() -> None:
    bus, rec = MessageBus(), Recorder()

    def relay(message: object) -> None:
        rec.calls.append(("relay", message))
        bus.publish("inner", f"{message}>inner")

    bus.subscribe("outer", relay, priority=1)
    bus.subscribe("outer", rec.handler("outer-after"))
    bus.subscribe("inner", rec.handler("inner-1"))
    bus.subscribe("*", rec.handler("any"), priority=-1)
    bus.publish("outer", "m")
    expected = [
        ("relay", "m"),
        ("inner-1", "m>inner"),
        ("any", "m>inner"),
        ("outer-after", "m"),
        ("any", "m"),
    ]
    assert rec.calls == expected
    rec.calls.clear()
    bus.publish("outer", "m")
    assert rec.calls == expected


def test_new_subscription_receives_a_topic_that_was_already_published() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("t.x", rec.handler("first"))
    bus.publish("t.x", 1)
    bus.publish("t.y", 1)
    bus.subscribe("t.*", rec.handler("late"))
    bus.publish("t.x", 2)
    bus.publish("t.y", 2)
    assert rec.calls == [("first", 1), ("first", 2), ("late", 2), ("late", 2)]


def test_subscription_rejects_bad_arguments() -> None:
    bus = MessageBus()
    with pytest.raises(ValidationError):
        bus.subscribe("", print)
    with pytest.raises(ValidationError):
        bus.subscribe("t", "not callable")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        bus.subscribe("t", print, priority=1.5)  # type: ignore[arg-type]


# -- failures --------------------------------------------------------------------


def test_failing_subscriber_does_not_stop_the_others() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("t.x", rec.handler("before"), priority=1)
    bus.subscribe("t.*", boom)
    bus.subscribe("t.x", rec.handler("after"), priority=-1)
    bus.publish("t.x", 7)
    assert rec.calls == [("before", 7), ("after", 7)]


def test_handler_failure_is_recorded(caplog: pytest.LogCaptureFixture) -> None:
    bus = MessageBus()
    bus.subscribe("t.*", boom)
    with caplog.at_level(logging.ERROR, logger="omoitrade.core.bus"):
        bus.publish("t.x", 7)
    assert list(bus.failures) == [
        HandlerFailure(
            topic="t.x",
            pattern="t.*",
            handler_name=f"{__name__}.boom",
            error_type="RuntimeError",
            error_message="boom on 7",
        )
    ]
    [record] = caplog.records
    assert record.name == "omoitrade.core.bus"
    assert record.exc_info is not None
    assert "t.x" in record.getMessage()


def test_handler_failure_is_published_on_handler_failed_topic() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe(HANDLER_FAILED_TOPIC, rec.handler("watch"))
    bus.subscribe("t", boom)
    bus.publish("t", 1)
    [(label, failure)] = rec.calls
    assert label == "watch"
    assert isinstance(failure, HandlerFailure)
    assert failure.topic == "t"
    assert failure == bus.failures[-1]


def test_failing_failure_handler_does_not_recurse() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe(HANDLER_FAILED_TOPIC, boom)
    bus.subscribe("bus.*", boom)
    bus.subscribe(HANDLER_FAILED_TOPIC, rec.handler("watch"), priority=-1)
    bus.subscribe("t", boom)
    bus.publish("t", 1)
    assert [f.topic for f in bus.failures] == ["t", HANDLER_FAILED_TOPIC, HANDLER_FAILED_TOPIC]
    assert rec.labels == ["watch"]


def test_failure_handler_that_triggers_more_failures_does_not_recurse() -> None:
    bus = MessageBus()

    def republish(failure: object) -> None:
        bus.publish("t", failure)

    bus.subscribe(HANDLER_FAILED_TOPIC, republish)
    bus.subscribe("t", boom)
    bus.publish("t", 1)
    assert [f.topic for f in bus.failures] == ["t", "t"]


def test_failures_are_bounded() -> None:
    bus = MessageBus(max_failures=3)
    bus.subscribe("t", boom)
    for i in range(10):
        bus.publish("t", i)
    assert [f.error_message for f in bus.failures] == ["boom on 7", "boom on 8", "boom on 9"]


def test_base_exceptions_are_not_swallowed() -> None:
    bus = MessageBus()

    def interrupt(message: object) -> None:
        raise KeyboardInterrupt

    bus.subscribe("t", interrupt)
    with pytest.raises(KeyboardInterrupt):
        bus.publish("t", 1)


# -- endpoints -----------------------------------------------------------------


def test_request_returns_the_endpoint_answer() -> None:
    bus = MessageBus()
    bus.register("math.double", lambda n: n * 2)
    assert bus.request("math.double", 21) == 42


def test_request_propagates_the_endpoint_error() -> None:
    bus = MessageBus()
    bus.register("fails", boom)
    with pytest.raises(RuntimeError, match="boom on 1"):
        bus.request("fails", 1)
    assert list(bus.failures) == []


def test_unknown_endpoint_raises_not_found_with_its_name() -> None:
    bus = MessageBus()
    with pytest.raises(NotFound) as request_error:
        bus.request("nobody", 1)
    assert request_error.value.kind == "endpoint"
    assert request_error.value.key == "nobody"
    assert request_error.value.message == "endpoint nobody not found"
    with pytest.raises(NotFound, match="endpoint nobody not found"):
        bus.send("nobody", 1)
    with pytest.raises(NotFound, match="endpoint nobody not found"):
        bus.deregister("nobody")


def test_registering_a_second_handler_under_a_name_conflicts() -> None:
    bus, rec = MessageBus(), Recorder()
    first = rec.handler("first")
    bus.register("svc", first)
    bus.register("svc", first)
    with pytest.raises(Conflict, match="svc"):
        bus.register("svc", rec.handler("second"))
    bus.send("svc", 1)
    assert rec.calls == [("first", 1)]


def test_deregistered_endpoint_can_be_registered_again() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.register("svc", rec.handler("first"))
    bus.deregister("svc")
    with pytest.raises(NotFound):
        bus.send("svc", 1)
    bus.register("svc", rec.handler("second"))
    bus.send("svc", 2)
    assert rec.calls == [("second", 2)]


def test_send_delivers_without_returning_the_answer() -> None:
    bus, rec = MessageBus(), Recorder()

    def answer(message: object) -> str:
        rec.calls.append(("svc", message))
        return "ignored"

    bus.register("svc", answer)
    assert bus.send("svc", 5) is None
    assert rec.calls == [("svc", 5)]


def test_send_isolates_and_reports_a_failing_endpoint() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe(HANDLER_FAILED_TOPIC, rec.handler("watch"))
    bus.register("svc", boom)
    bus.send("svc", 3)
    [failure] = bus.failures
    assert (failure.topic, failure.pattern, failure.error_type) == ("svc", "svc", "RuntimeError")
    assert rec.calls == [("watch", failure)]


def test_endpoints_are_separate_from_topics() -> None:
    bus, rec = MessageBus(), Recorder()
    bus.subscribe("svc", rec.handler("topic"))
    bus.register("svc", rec.handler("endpoint"))
    bus.send("svc", 1)
    bus.publish("svc", 2)
    assert rec.calls == [("endpoint", 1), ("topic", 2)]


# -- introspection ---------------------------------------------------------------


def test_introspection_lists_patterns_subscriptions_and_endpoints() -> None:
    bus, rec = MessageBus(), Recorder()
    a = bus.subscribe("z.*", rec.handler("a"))
    b = bus.subscribe("a.b", rec.handler("b"), priority=3)
    c = bus.subscribe("z.*", rec.handler("c"))
    bus.register("svc.b", rec.handler("e1"))
    bus.register("svc.a", rec.handler("e2"))
    assert bus.topics() == ["a.b", "z.*"]
    assert bus.subscriptions() == [a, b, c]
    assert (b.pattern, b.priority) == ("a.b", 3)
    assert bus.endpoints() == ["svc.a", "svc.b"]


# -- property: the bus agrees with a straightforward reference -------------------

_SEGMENT_CHARS = "ab."
_patterns = st.text(alphabet=_SEGMENT_CHARS + "*?", min_size=1, max_size=6)
_topics = st.text(alphabet=_SEGMENT_CHARS, min_size=0, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    subscriptions=st.lists(
        st.tuples(_patterns, st.integers(min_value=-2, max_value=2)), max_size=12
    ),
    topics=st.lists(_topics, min_size=1, max_size=8),
)
def test_delivery_matches_a_reference_model(
    subscriptions: list[tuple[str, int]], topics: list[str]
) -> None:
    bus = MessageBus()
    delivered: list[int] = []
    for index, (pattern, priority) in enumerate(subscriptions):
        bus.subscribe(pattern, lambda _m, i=index: delivered.append(i), priority=priority)
    for topic in topics:
        delivered.clear()
        bus.publish(topic, None)
        expected = [
            index
            for index, (pattern, _) in sorted(
                enumerate(subscriptions), key=lambda item: (-item[1][1], item[0])
            )
            if fnmatch.fnmatchcase(topic, pattern)
        ]
        assert delivered == expected


@given(pattern=_patterns, topic=_topics)
def test_compiled_patterns_agree_with_fnmatch(pattern: str, topic: str) -> None:
    assert bool(compile_pattern(pattern).match(topic)) == fnmatch.fnmatchcase(topic, pattern)
