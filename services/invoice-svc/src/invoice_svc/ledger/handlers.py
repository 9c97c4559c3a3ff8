"""Consumer of the billing core's money events (queue `invoice-svc.ledger`).

Idempotent twice over: the kit's inbox drops a redelivered message (same event id), and the
unique (uin, kind, source_id) drops the same business fact published again under a new id.

The consumer hands over a whole batch (`batch_handler`): its records are written in a few bulk
statements (`ledger.service.add_records`), whatever the batch size, with the same outcome as
handling the events one by one in any order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from kit.clock import Clock
from kit.messaging import CloudEvent, Subscription
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.config import Settings
from invoice_svc.ledger import records
from invoice_svc.ledger.events_in import (
    BILL_SETTLED,
    ORDER_PAID,
    ORDER_REFUNDED,
    TRANSFER_COMPLETED,
    BillSettled,
    OrderPaid,
    OrderRefunded,
    TransferCompleted,
)
from invoice_svc.ledger.ingest import add_records
from invoice_svc.ledger.records import NewRecord

log = logging.getLogger("invoice_svc.ledger")

QUEUE = "invoice-svc.ledger"
BINDINGS = ("order.paid", "order.refunded", "bill.settled", "account.transfer.completed")


def records_of(event: CloudEvent, settings: Settings) -> list[NewRecord] | None:
    """The records an event makes; None for an event type this consumer does not know."""
    if event.type == ORDER_PAID:
        one = records.from_order_paid(OrderPaid.model_validate(event.data), settings)
    elif event.type == ORDER_REFUNDED:
        one = records.from_order_refunded(OrderRefunded.model_validate(event.data), settings)
    elif event.type == BILL_SETTLED:
        one = records.from_bill_settled(BillSettled.model_validate(event.data), settings)
    elif event.type == TRANSFER_COMPLETED:
        return records.from_transfer(TransferCompleted.model_validate(event.data))
    else:
        return None
    return [one] if one is not None else []


Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]


def batch_handler(settings: Settings, clock: Clock) -> BatchHandler:
    async def handle_batch(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        made: list[tuple[NewRecord, str]] = []
        for event in events:
            records_ = records_of(event, settings)
            if records_ is None:  # e.g. a future .v2 sharing the routing key: its .v1 twin is read
                log.info("ignoring event type", extra={"type": event.type})
                continue
            made.extend((record, event.id) for record in records_)
        if made:
            await add_records(session, made, now=clock.now())

    return handle_batch


def handler(settings: Settings, clock: Clock) -> Handler:
    """One event: the batch handler on a batch of one."""
    handle_batch = batch_handler(settings, clock)

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        await handle_batch(session, (event,))

    return handle


def subscription(settings: Settings, clock: Clock) -> Subscription:
    return Subscription(queue=QUEUE, bindings=BINDINGS, handler=handler(settings, clock),
                        batch_handler=batch_handler(settings, clock))
