"""Publish a stream of CloudEvents to any kit `Bus` (RabbitBus or InProcessBus).

Batches go through `Bus.publish`, which waits for the broker's confirms; the items of a batch
that failed (nack, unroutable, lost connection) are published again, alone, up to
`max_attempts` times with a growing pause. Retried items may land after later ones of the same
batch, and every message keeps its event id as AMQP `message_id`, so consumers dedupe repeats.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TextIO

from kit.messaging import Bus, CloudEvent, OutboundMessage

__all__ = ["ProgressBar", "PublishError", "PublishReport", "publish_events", "to_message"]


class PublishError(Exception):
    """Some events were still refused after every attempt."""

    def __init__(self, failed: list[tuple[str, BaseException]], published: int) -> None:
        event_id, error = failed[0]
        super().__init__(f"{len(failed)} event(s) not published after retries "
                         f"({published} published); first: {event_id}: {error}")
        self.failed = failed
        self.published = published


@dataclass(frozen=True)
class PublishReport:
    published: int
    retried: int  # publishes that had to be repeated


class ProgressBar:
    """A dependency-free progress line on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int | None, *, enabled: bool = True, stream: TextIO | None = None,
                 width: int = 30) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def update(self, n: int) -> None:
        self.done += n
        if self.enabled and time.monotonic() - self._drawn >= 0.1:
            self._draw()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        rate = self.done / max(self._drawn - self._started, 1e-9)
        if self.total:
            filled = min(self.width, self.width * self.done // self.total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\rpublish [{bar}] {self.done}/{self.total} {rate:,.0f}/s"
        else:
            line = f"\rpublished {self.done} {rate:,.0f}/s"
        self.stream.write(line)
        self.stream.flush()


def to_message(event: CloudEvent) -> OutboundMessage:
    """The AMQP message of an event: `message_id` = event id, routing key = type sans version."""
    return OutboundMessage(message_id=event.id, routing_key=event.routing_key,
                           body=event.to_json())


def _batches(events: Iterable[CloudEvent], size: int) -> Iterator[list[CloudEvent]]:
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch


async def publish_events(bus: Bus, events: Iterable[CloudEvent], *, batch_size: int = 500,
                         max_attempts: int = 5, retry_delay: float = 0.5,
                         progress: bool = True, total: int | None = None) -> PublishReport:
    """Publish every event, batch by batch, each confirmed; raise PublishError with the events
    still refused after `max_attempts`. The bus must be connected."""
    if batch_size < 1 or max_attempts < 1:
        raise ValueError("batch_size and max_attempts must be at least 1")
    bar = ProgressBar(total, enabled=progress)
    published = retried = 0
    try:
        for batch in _batches(events, batch_size):
            pending = [to_message(e) for e in batch]
            errors: list[BaseException | None] = []
            for attempt in range(1, max_attempts + 1):
                if attempt > 1:
                    retried += len(pending)
                    await asyncio.sleep(retry_delay * 2 ** (attempt - 2))
                errors = await bus.publish(pending)
                ok = sum(error is None for error in errors)
                published += ok
                bar.update(ok)
                pending = [m for m, error in zip(pending, errors, strict=True) if error is not None]
                errors = [error for error in errors if error is not None]
                if not pending:
                    break
            if pending:
                failed = [(m.message_id, e) for m, e in zip(pending, errors, strict=True)
                          if e is not None]
                raise PublishError(failed, published)
    finally:
        bar.close()
    return PublishReport(published=published, retried=retried)
