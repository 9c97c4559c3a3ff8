"""What issuing stores besides the invoice row: the legal documents and the progress log."""

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, String, Table

from invoice_svc.db import metadata

invoice_documents = Table(
    "invoice_documents", metadata,
    Column("invoice_id", String(36), primary_key=True),
    Column("format", String(8), primary_key=True),  # pdf | xml | ofd
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: One row per status an invoice reached (INV-REQ-20 "detail shows progress").
invoice_progress = Table(
    "invoice_progress", metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("invoice_id", String(36), nullable=False),
    Column("status", String(24), nullable=False),
    Column("note", String(500)),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_invoice_progress_invoice", invoice_progress.c.invoice_id, invoice_progress.c.at)
