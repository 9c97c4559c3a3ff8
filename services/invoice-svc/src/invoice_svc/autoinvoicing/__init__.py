"""Monthly automatic invoicing (按月自动开票, INV-REQ-30, INV-REQ-31): which setting governs a
month's run, what the run does for an account, and the key that makes it happen once."""
