"""Billing-core simulator: the payload contracts of the events the billing core publishes
(`sim.contracts`), deterministic realistic streams of them (`sim.generator`), and a publisher to
any kit Bus (`sim.publisher`). CLI: `python -m sim publish ...`, `python -m sim schema ...`."""

from sim.contracts import EVENT_MODELS, BillSettled, OrderPaid, OrderRefunded, TransferCompleted
from sim.generator import SimConfig, generate, stream_bytes
from sim.publisher import PublishError, PublishReport, publish_events

__all__ = [
    "EVENT_MODELS", "BillSettled", "OrderPaid", "OrderRefunded", "PublishError", "PublishReport",
    "SimConfig", "TransferCompleted", "generate", "publish_events", "stream_bytes",
]
