"""Consumer of the billing core's money events (queue `invoice-svc.ledger`).

Idempotent twice over: the kit's inbox drops a redelivered message (same event id), and the
unique (uin, kind, source_id) drops the same business fact published again under a new id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

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
from invoice_svc.ledger.records import NewRecord
from invoice_svc.ledger.service import add_record

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


def handler(settings: Settings, clock: Clock) -> Handler:
    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        made = records_of(event, settings)
        if made is None:  # e.g. a future .v2 sharing the routing key: its .v1 twin is read
            log.info("ignoring event type", extra={"type": event.type})
            return
        now = clock.now()
        for record in made:
            await add_record(session, record, event_id=event.id, now=now)

    return handle


def subscription(settings: Settings, clock: Clock) -> Subscription:
    return Subscription(queue=QUEUE, bindings=BINDINGS,
                        handler=handler(settings, clock))
