"""The accounts read model: what iam-svc's account events say about each account."""
