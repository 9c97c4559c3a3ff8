"""Envelope rules, topic matching and ids: the small pieces the messaging contract rests on."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kit import jsonutil
from kit.ids import uuid7
from kit.messaging.envelope import InvalidEnvelope, new_event, parse_event, routing_key_of
from kit.messaging.inprocess import topic_matches


def test_routing_key_drops_prefix_and_version():
    assert routing_key_of("billing.order.paid.v1") == "order.paid"
    assert routing_key_of("billing.iam.key.changed.v2") == "iam.key.changed"
    with pytest.raises(InvalidEnvelope):
        routing_key_of("order.paid")


def test_event_round_trips_through_json():
    event = new_event("billing.order.paid.v1", source="/sim", subject="100001",
                      data={"amount": "12.34"})
    parsed = parse_event(event.to_json(), event.id)
    assert parsed == event
    assert parsed.routing_key == "order.paid"
    body = jsonutil.loads(event.to_json())
    assert body["specversion"] == "1.0" and body["datacontenttype"] == "application/json"


@pytest.mark.parametrize(("body", "fragment"), [
    (b"{", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"specversion": "1.0"}', "invalid CloudEvent"),
])
def test_invalid_envelopes_are_refused_with_a_reason(body: bytes, fragment: str):
    with pytest.raises(InvalidEnvelope, match=fragment):
        parse_event(body)


def test_bad_type_and_version_are_refused():
    event = new_event("billing.order.paid.v1", source="/s", data={})
    raw = jsonutil.loads(event.to_json())
    for field, value in (("type", "order.paid"), ("specversion", "0.3")):
        with pytest.raises(InvalidEnvelope, match=field):
            parse_event(jsonutil.dumps({**raw, field: value}))


def test_message_id_must_equal_event_id():
    event = new_event("billing.order.paid.v1", source="/s", data={})
    with pytest.raises(InvalidEnvelope, match="differs"):
        parse_event(event.to_json(), "another-id")


@pytest.mark.parametrize(("binding", "key", "expected"), [
    ("order.paid", "order.paid", True),
    ("order.*", "order.paid", True),
    ("order.*", "order.paid.late", False),
    ("order.#", "order", True),
    ("order.#", "order.paid.late", True),
    ("#", "anything.at.all", True),
    ("#.paid", "order.paid", True),
    ("#.paid", "paid", True),
    ("*.paid", "paid", False),
    ("iam.#.changed", "iam.key.changed", True),
    ("iam.#.changed", "iam.changed", True),
    ("iam.#.changed", "iam.key.removed", False),
])
def test_topic_matching_follows_amqp(binding: str, key: str, expected: bool):
    assert topic_matches(binding, key) is expected


words = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4)


@given(words)
def test_topic_exact_and_hash_always_match(key_words: list[str]):
    key = ".".join(key_words)
    assert topic_matches(key, key)
    assert topic_matches("#", key)
    assert topic_matches(".".join("*" for _ in key_words), key)
    assert not topic_matches(".".join("*" for _ in key_words) + ".*", key)


def test_uuid7_is_version_7_and_strictly_increasing():
    ids = [uuid7() for _ in range(5000)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
