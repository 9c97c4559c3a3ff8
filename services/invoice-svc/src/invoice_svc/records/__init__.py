"""Invoice records (INV-REQ-20): every invoice requested, its progress, documents, and the
consumption records it draws on."""
