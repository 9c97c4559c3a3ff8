"""CloudEvents 1.0 structured-mode JSON envelope, as every event on `billing.events` carries it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kit import jsonutil
from kit.ids import uuid7

_TYPE = re.compile(r"^billing\.(?P<key>[a-z0-9_]+(?:\.[a-z0-9_]+)+)\.v(?P<version>[0-9]+)$")


class InvalidEnvelope(ValueError):
    """The bytes are not a CloudEvent this system can route (a poison message)."""


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    type: str
    subject: str | None = None
    time: datetime
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    traceparent: str | None = None

    @field_validator("specversion")
    @classmethod
    def _v1(cls, value: str) -> str:
        if value != "1.0":
            raise ValueError("specversion must be 1.0")
        return value

    @field_validator("type")
    @classmethod
    def _typed(cls, value: str) -> str:
        if not _TYPE.match(value):
            raise ValueError("type must look like billing.<entity>.<verb>.v<N>")
        return value

    @property
    def routing_key(self) -> str:
        return routing_key_of(self.type)

    def to_json(self) -> bytes:
        return jsonutil.dumps(self.model_dump(mode="json", exclude_none=True))


def routing_key_of(event_type: str) -> str:
    """`billing.order.paid.v1` -> `order.paid` (the routing key carries no version)."""
    match = _TYPE.match(event_type)
    if not match:
        raise InvalidEnvelope(f"not an event type: {event_type!r}")
    return match.group("key")


def new_event(event_type: str, *, source: str, data: dict[str, Any], subject: str | None = None,
              event_id: str | None = None, time: datetime | None = None,
              traceparent: str | None = None) -> CloudEvent:
    return CloudEvent(
        id=event_id or str(uuid7()), source=source, type=event_type, subject=subject,
        time=time or datetime.now(UTC), data=data, traceparent=traceparent,
    )


def parse_event(body: bytes, message_id: str | None = None) -> CloudEvent:
    """Parse and check an envelope; the AMQP message id, when present, must equal the event id."""
    try:
        raw = jsonutil.loads(body)
    except ValueError as exc:
        raise InvalidEnvelope(f"body is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidEnvelope("body is not a JSON object")
    try:
        event = CloudEvent.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEnvelope(f"invalid CloudEvent: {where}: {first['msg']}") from exc
    if message_id is not None and message_id != event.id:
        raise InvalidEnvelope(f"message_id {message_id!r} differs from event id {event.id!r}")
    return event
