"""Consumer of iam-svc's account events (queue `invoice-svc.accounts`)."""

from __future__ import annotations

import logging

from kit.clock import Clock
from kit.messaging import CloudEvent, Subscription
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.accounts.events_in import ACCOUNT_EVENTS, AccountSnapshot
from invoice_svc.accounts.service import apply_snapshot

log = logging.getLogger("invoice_svc.accounts")

QUEUE = "invoice-svc.accounts"
BINDINGS = ("account.created", "account.verified", "account.renamed")


def subscription(clock: Clock, queue: str = QUEUE) -> Subscription:
    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.type not in ACCOUNT_EVENTS:
            log.info("ignoring account event type", extra={"type": event.type})
            return
        await apply_snapshot(session, event, AccountSnapshot.model_validate(event.data),
                             clock.now())

    return Subscription(queue=queue, bindings=BINDINGS, handler=handle)
