"""The tables of invoice-svc (its own database; no other service reads them)."""

from kit.db import new_metadata
from kit.messaging import messaging_tables

metadata = new_metadata()
outbox, inbox = messaging_tables(metadata)
