"""Events about accounts. Every one carries the account's full real-name snapshot, so a
consumer that sees only some of them (invoice-svc reads verified and renamed) knows the site,
the verification type, the legal name and the USCC.

- `billing.account.created.v1`  (routing key `account.created`)
- `billing.account.verified.v1` (`account.verified`)
- `billing.account.renamed.v1`  (`account.renamed`): any change of the real-name information
  after verification; also `old_legal_name`, `new_legal_name`, `old_verification_type`,
  `old_uscc` and `effective_at`; documents issued before `effective_at` stay issued to the old
  name.

`is_international` (ACC-REQ-4): the account gets a plain commercial invoice, never a China VAT
invoice. Subject: the account's uin.
"""

from __future__ import annotations

from typing import Any, Literal

from kit.clock import iso
from pydantic import BaseModel
from sqlalchemy import Row

ACCOUNT_CREATED = "billing.account.created.v1"
ACCOUNT_VERIFIED = "billing.account.verified.v1"
ACCOUNT_RENAMED = "billing.account.renamed.v1"


class AccountData(BaseModel):
    uin: str
    kind: Literal["customer", "operator"]
    site: Literal["mainland", "international"]
    is_international: bool
    verification_type: Literal["none", "personal", "enterprise", "organization"]
    legal_name: str | None
    uscc: str | None
    verified_at: str | None


class AccountCreatedData(AccountData):
    created_at: str


class AccountVerifiedData(AccountData):
    pass


class AccountRenamedData(AccountData):
    old_legal_name: str
    new_legal_name: str
    old_verification_type: Literal["personal", "enterprise", "organization"]
    old_uscc: str | None
    effective_at: str


SCHEMAS: dict[str, type[BaseModel]] = {
    ACCOUNT_CREATED: AccountCreatedData,
    ACCOUNT_VERIFIED: AccountVerifiedData,
    ACCOUNT_RENAMED: AccountRenamedData,
}


def account_snapshot(account: Row[Any]) -> dict[str, Any]:
    return {
        "uin": account.uin,
        "kind": account.kind,
        "site": account.site,
        "is_international": account.site == "international",
        "verification_type": account.verification_type,
        "legal_name": account.legal_name,
        "uscc": account.uscc,
        "verified_at": iso(account.verified_at),
    }


def account_data(event_type: str, account: Row[Any], **extra: Any) -> dict[str, Any]:
    """The event's data, checked against its schema."""
    return SCHEMAS[event_type].model_validate(account_snapshot(account) | extra).model_dump()
