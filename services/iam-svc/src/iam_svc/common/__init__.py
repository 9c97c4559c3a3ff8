"""Plumbing shared by iam-svc's domain packages: input types, errors, the unit of work,
idempotent creation, encryption at rest, FastAPI dependencies."""
