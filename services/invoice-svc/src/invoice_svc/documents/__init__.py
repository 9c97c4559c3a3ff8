"""The legal documents of an invoice: the face as data (`model`), rendered as PDF and XML."""
