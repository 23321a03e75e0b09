"""Tests for identifiers: the UUIDv7 generator and the UUID and text identifier bases."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from omoitrade.core import ids
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator, StrIdentifier, UuidIdentifier
from omoitrade.model.identifiers import ClientOrderId, OrderId, SignalId, VenueOrderId

NOW_NS = 1_704_187_800_123_456_789  # 2024-01-02T09:30:00.123456789Z
NOW_MS = NOW_NS // 1_000_000


def fixed(ns: int) -> Callable[[], int]:
    return lambda: ns


class Ticker:
    """A clock that reads ``ns`` and can be moved by the test."""

    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def timestamp_ms(value: uuid.UUID) -> int:
    return value.int >> 80


# -- IdGenerator -------------------------------------------------------------------


def test_same_clock_and_seed_give_the_same_identifiers() -> None:
    first = IdGenerator(fixed(NOW_NS), seed=42)
    second = IdGenerator(fixed(NOW_NS), seed=42)

    assert [first.next_uuid() for _ in range(50)] == [second.next_uuid() for _ in range(50)]


def test_different_seeds_give_different_identifiers() -> None:
    first = IdGenerator(fixed(NOW_NS), seed=1)
    second = IdGenerator(fixed(NOW_NS), seed=2)

    assert first.next_uuid() != second.next_uuid()


def test_generated_identifiers_are_version_7_with_the_rfc_4122_variant() -> None:
    generator = IdGenerator(fixed(NOW_NS), seed=7)

    for _ in range(20):
        value = generator.next_uuid()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122


def test_generated_identifiers_carry_the_clock_milliseconds() -> None:
    value = IdGenerator(fixed(NOW_NS), seed=7).next_uuid()

    assert timestamp_ms(value) == NOW_MS


def test_next_int_is_the_uuid_as_an_integer() -> None:
    first = IdGenerator(fixed(NOW_NS), seed=3)
    second = IdGenerator(fixed(NOW_NS), seed=3)

    assert first.next_int() == second.next_uuid().int


def test_identifiers_strictly_increase_within_one_millisecond() -> None:
    generator = IdGenerator(fixed(NOW_NS), seed=5)

    values = [generator.next_int() for _ in range(1_000)]

    assert all(a < b for a, b in pairwise(values))
    assert {v >> 80 for v in values} == {NOW_MS}


def test_identifiers_strictly_increase_across_milliseconds() -> None:
    clock = Ticker(NOW_NS)
    generator = IdGenerator(clock, seed=5)
    values = []
    for step in range(100):
        clock.ns = NOW_NS + step * 1_000_000
        values.append(generator.next_int())

    assert all(a < b for a, b in pairwise(values))
    assert [v >> 80 for v in values] == [NOW_MS + step for step in range(100)]


def test_identifiers_keep_increasing_when_the_clock_steps_back() -> None:
    clock = Ticker(NOW_NS)
    generator = IdGenerator(clock, seed=5)
    before = generator.next_int()

    clock.ns = NOW_NS - 5_000_000_000
    after = generator.next_int()

    assert after > before
    assert after >> 80 == NOW_MS  # stays in the latest millisecond seen


def test_counter_overflow_within_a_millisecond_moves_to_the_next_millisecond() -> None:
    generator = IdGenerator(fixed(NOW_NS), seed=5)
    before = generator.next_int()
    generator._last |= ids._RAND_A_MASK << 64 | ids._RAND_B_MASK  # as if the counter ran out

    after = generator.next_int()

    assert after > before
    assert after >> 80 == NOW_MS + 1
    assert uuid.UUID(int=after).version == 7


def test_the_counter_carries_from_rand_b_into_rand_a_within_a_millisecond() -> None:
    generator = IdGenerator(fixed(NOW_NS), seed=5)
    before = generator.next_int()
    generator._last |= ids._RAND_B_MASK  # rand_b at its largest: the next one carries

    carried = generator.next_int()
    following = generator.next_int()

    assert carried >> 80 == following >> 80 == NOW_MS
    assert (carried >> 64) & ids._RAND_A_MASK == ((before >> 64) & ids._RAND_A_MASK) + 1
    assert carried & ids._RAND_B_MASK == 0
    assert following == carried + 1
    assert uuid.UUID(int=carried).version == uuid.UUID(int=carried).version == 7
    assert uuid.UUID(int=carried).variant == uuid.RFC_4122


class CountingReference:
    """The generator's algorithm spelled out (a counter of 74 bits incremented within a
    millisecond): the fast path must give exactly its values for a seed and a clock."""

    def __init__(self, now_ns: Callable[[], int], seed: int) -> None:
        self.now_ns, self.random = now_ns, random.Random(seed)
        self.last_ms, self.last_rand = -1, 0

    def next_int(self) -> int:
        ms = self.now_ns() // 1_000_000
        if ms <= self.last_ms:
            ms, rand = self.last_ms, self.last_rand + 1
            if rand >= ids._RAND_LIMIT:
                ms, rand = ms + 1, self.random.getrandbits(ids._RAND_BITS - 1)
        else:
            rand = self.random.getrandbits(ids._RAND_BITS - 1)
        self.last_ms, self.last_rand = ms, rand
        rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)
        return (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    steps_ns=st.lists(st.integers(min_value=-2_000_000, max_value=2_000_000), max_size=80),
)
def test_a_seeded_generator_makes_the_reference_values(seed: int, steps_ns: list[int]) -> None:
    clock = Ticker(NOW_NS)
    generator, reference = IdGenerator(clock, seed=seed), CountingReference(clock, seed)
    for step in [0, *steps_ns]:
        clock.ns += step
        assert generator.next_int() == reference.next_int()
        assert generator.next_int() == reference.next_int()  # within the same millisecond


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    steps_ns=st.lists(st.integers(min_value=-3_000_000, max_value=3_000_000), max_size=60),
)
def test_identifiers_strictly_increase_whatever_the_clock_does(
    seed: int, steps_ns: list[int]
) -> None:
    clock = Ticker(NOW_NS)
    generator = IdGenerator(clock, seed=seed)
    previous = generator.next_uuid()
    for step in steps_ns:
        clock.ns += step
        current = generator.next_uuid()
        assert current.int > previous.int
        assert current.version == 7
        assert current.variant == uuid.RFC_4122
        previous = current


# -- UuidIdentifier --------------------------------------------------------------


def test_new_makes_an_identifier_of_the_subclass_from_the_generator() -> None:
    made = OrderId.new(IdGenerator(fixed(NOW_NS), seed=9))

    assert type(made) is OrderId
    assert isinstance(made, uuid.UUID)
    assert made == IdGenerator(fixed(NOW_NS), seed=9).next_uuid()


def test_new_without_a_generator_gives_fresh_version_7_identifiers() -> None:
    first, second = SignalId.new(), SignalId.new()

    assert first != second
    assert first.version == 7
    assert type(first) is SignalId


def test_parse_returns_an_instance_unchanged() -> None:
    value = OrderId.new()

    assert OrderId.parse(value) is value


def test_parse_accepts_a_plain_uuid() -> None:
    plain = uuid.uuid4()

    parsed = OrderId.parse(plain)

    assert type(parsed) is OrderId
    assert parsed == plain


def test_parse_converts_another_identifier_kind() -> None:
    signal_id = SignalId.new()

    parsed = OrderId.parse(signal_id)

    assert type(parsed) is OrderId
    assert parsed.int == signal_id.int


@pytest.mark.parametrize(
    "text",
    [
        "0190d6d8-8f2b-7c3e-9a1b-123456789abc",
        "0190D6D8-8F2B-7C3E-9A1B-123456789ABC",
        "0190d6d88f2b7c3e9a1b123456789abc",
    ],
)
def test_parse_accepts_uuid_text(text: str) -> None:
    parsed = OrderId.parse(text)

    assert type(parsed) is OrderId
    assert parsed == uuid.UUID("0190d6d8-8f2b-7c3e-9a1b-123456789abc")


@pytest.mark.parametrize(
    "junk",
    ["", "not-a-uuid", "0190d6d8-8f2b-7c3e-9a1b-123456789abz", 42, None, 1.5, b"\x00" * 16],
)
def test_parse_refuses_junk(junk: object) -> None:
    with pytest.raises(ValidationError) as caught:
        OrderId.parse(junk)

    assert caught.value.field == "OrderId"
    assert caught.value.rule == "must be a UUID"
    assert caught.value.value == junk


def test_uuid_identifier_repr_names_its_kind() -> None:
    value = OrderId("0190d6d8-8f2b-7c3e-9a1b-123456789abc")

    assert repr(value) == "OrderId('0190d6d8-8f2b-7c3e-9a1b-123456789abc')"
    assert str(value) == "0190d6d8-8f2b-7c3e-9a1b-123456789abc"


def test_uuid_identifier_round_trips_through_pydantic() -> None:
    adapter = TypeAdapter(OrderId)
    value = OrderId.new()

    text = adapter.dump_json(value)
    back = adapter.validate_json(text)

    assert text == f'"{value}"'.encode()
    assert back == value
    assert type(back) is OrderId
    assert adapter.dump_python(value) is value  # python mode keeps the object
    assert type(adapter.validate_python(str(value))) is OrderId


def test_pydantic_validation_of_junk_raises_the_domain_error() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(OrderId).validate_python("junk")

    assert caught.value.field == "OrderId"


# -- StrIdentifier ----------------------------------------------------------------


def test_str_identifier_accepts_printable_text_without_spaces() -> None:
    value = VenueOrderId("ABC/123:x#~")

    assert value == "ABC/123:x#~"
    assert type(value) is VenueOrderId
    assert isinstance(value, str)


def test_str_identifier_returns_an_instance_unchanged() -> None:
    value = VenueOrderId("v-1")

    assert VenueOrderId(value) is value


@pytest.mark.parametrize("empty", ["", None, 123])
def test_str_identifier_must_be_a_non_empty_string(empty: object) -> None:
    with pytest.raises(ValidationError) as caught:
        VenueOrderId(empty)  # type: ignore[arg-type]

    assert str(caught.value) == "VenueOrderId: must be a non-empty string"


def test_str_identifier_length_is_bounded() -> None:
    assert VenueOrderId("x" * 128) == "x" * 128
    with pytest.raises(ValidationError) as caught:
        VenueOrderId("x" * 129)

    assert caught.value.field == "VenueOrderId"
    assert caught.value.rule == "must be at most 128 characters"


@pytest.mark.parametrize("text", ["has space", "tab\there", "new\nline", "caf\u00e9", "\x7f"])
def test_str_identifier_refuses_spaces_and_non_printable_characters(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        VenueOrderId(text)

    assert caught.value.rule == "must contain only printable characters without spaces"


def test_client_order_id_allows_letters_digits_and_dot_underscore_colon_dash() -> None:
    assert ClientOrderId("Abc-1.2_3:z") == "Abc-1.2_3:z"


@pytest.mark.parametrize("text", ["a/b", "a b", "a#b", "a+b", "a@b", "\u00e9"])
def test_client_order_id_refuses_other_characters(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ClientOrderId(text)

    assert str(caught.value) == "ClientOrderId: must contain only letters, digits and . _ : -"


def test_client_order_id_is_at_most_64_characters() -> None:
    assert ClientOrderId("c" * 64) == "c" * 64
    with pytest.raises(ValidationError) as caught:
        ClientOrderId("c" * 65)

    assert str(caught.value) == "ClientOrderId: must be at most 64 characters"


def test_random_str_identifier_has_the_prefix_and_24_hex_digits() -> None:
    value = ClientOrderId.random("c-")

    assert type(value) is ClientOrderId
    assert value.startswith("c-")
    assert len(value) == 2 + 24
    int(value[2:], 16)


def test_random_str_identifier_is_deterministic_with_a_seeded_rng() -> None:
    first = ClientOrderId.random("c-", rng=random.Random(11))
    second = ClientOrderId.random("c-", rng=random.Random(11))

    assert first == second
    assert ClientOrderId.random("c-") != ClientOrderId.random("c-")


def test_str_identifier_repr_names_its_kind() -> None:
    assert repr(ClientOrderId("c-1")) == "ClientOrderId('c-1')"


def test_str_identifier_round_trips_through_pydantic() -> None:
    adapter = TypeAdapter(ClientOrderId)
    value = ClientOrderId("c-42")

    back = adapter.validate_json(adapter.dump_json(value))

    assert back == value
    assert type(back) is ClientOrderId


def test_str_identifier_rules_apply_in_pydantic_validation() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(ClientOrderId).validate_python("bad id")

    assert caught.value.field == "ClientOrderId"


def test_base_classes_are_usable_directly() -> None:
    assert StrIdentifier("x") == "x"
    assert UuidIdentifier.parse("0190d6d8-8f2b-7c3e-9a1b-123456789abc").version == 7


def test_a_generator_without_a_lock_gives_the_same_identifiers() -> None:
    clock = iter(range(10**15, 10**15 + 10**9, 1_000_000))
    clock2 = iter(range(10**15, 10**15 + 10**9, 1_000_000))
    locked = IdGenerator(lambda: next(clock), seed=5)
    free = IdGenerator(lambda: next(clock2), seed=5, thread_safe=False)
    assert [locked.next_int() for _ in range(50)] == [free.next_int() for _ in range(50)]
