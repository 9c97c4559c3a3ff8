"""Issuing (INV-REQ-17): a worker takes applied invoices through the tax platform to issued
or failed, stores the documents and tells the world (`invoice.issued` / `invoice.failed`)."""
