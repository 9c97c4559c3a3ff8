"""Every table of iam-svc, imported once so `iam_svc.db.metadata` is complete (Alembic, tests)."""

from iam_svc.access_keys.models import access_keys
from iam_svc.accounts.models import accounts
from iam_svc.common.idempotency import idempotency_keys
from iam_svc.db import inbox, metadata, outbox
from iam_svc.groups.models import group_members, groups
from iam_svc.policies.models import group_policies, policies, user_policies
from iam_svc.users.models import sub_users

__all__ = [
    "access_keys", "accounts", "group_members", "group_policies", "groups", "idempotency_keys",
    "inbox", "metadata", "outbox", "policies", "sub_users", "user_policies",
]
