"""Account rules: creation, real-name verification (ACC-REQ-1), changes of the real-name
information with a 30-day interval (ACC-REQ-2), mainland vs international site (ACC-REQ-4).

Decisions:
- Verification happens once, from `none`. Later changes go through "rename": a new legal name,
  and optionally a new verification type and USCC (a company rename keeps its USCC; personal
  -> enterprise, needed for special VAT invoices, or another entity brings a new one). The
  source: "如果您需要修改专票抬头或者开具其他企业抬头的发票,请先修改实名认证信息。
  实名认证修改间隔期为30天".
- The 30-day interval counts from the previous change (`name_changed_at`); the first
  verification does not start it. A change to exactly the current information changes
  nothing and succeeds (a safe retry).
- Enterprise and organization verification needs a USCC on the mainland site; on the
  international site it is optional (foreign entities have none) but checked when given.
- Mainland legal names must be printable on a VAT invoice: GBK-encodable, at most 200 GBK
  bytes (kit.gbk). International names only refuse control characters (200 characters).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kit.clock import SHANGHAI, iso, utc
from kit.errors import InvalidParameter, InvalidParameterValue, MissingParameter
from kit.gbk import GbkError, validate_gbk_text
from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.accounts.errors import (
    AccountAlreadyVerified,
    AccountExists,
    AccountNotVerified,
    RenameTooSoon,
)
from iam_svc.accounts.events import (
    ACCOUNT_CREATED,
    ACCOUNT_RENAMED,
    ACCOUNT_VERIFIED,
    account_data,
)
from iam_svc.accounts.models import accounts
from iam_svc.accounts.schemas import CreateAccountIn, RenameIn, VerificationIn
from iam_svc.accounts.uscc import UsccError, validate_uscc
from iam_svc.common.errors import AccountNotFound
from iam_svc.common.work import Work
from iam_svc.uins import allocate_uin, uin_taken

RENAME_INTERVAL = timedelta(days=30)
LEGAL_NAME_MAX_GBK_BYTES = 200


async def get_account(session: AsyncSession, uin: str, *, lock: bool = False) -> Row[Any]:
    query = select(accounts).where(accounts.c.uin == uin)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise AccountNotFound(f"account {uin} does not exist")
    return row


def _legal_name(name: str, site: str) -> str:
    if site == "mainland":
        try:
            name = validate_gbk_text(name, LEGAL_NAME_MAX_GBK_BYTES, "实名认证名称",
                                     allow_newline=False, code_stem="LegalName")
        except GbkError as exc:
            raise InvalidParameterValue(exc.message, code=exc.code,
                                        details={"field": "legal_name"}) from None
    else:
        name = name.strip()
    if not name:
        raise InvalidParameterValue("legal_name must not be blank",
                                    code="InvalidParameterValue.LegalName",
                                    details={"field": "legal_name"})
    return name


def _checked_uscc(uscc: str | None, verification_type: str, site: str) -> str | None:
    if verification_type == "personal":
        if uscc is not None:
            raise InvalidParameter(
                "uscc applies to enterprise and organization verification only",
                code="InvalidParameter.UsccNotApplicable", details={"field": "uscc"})
        return None
    if uscc is None:
        if site == "mainland":  # foreign entities of the international site have no USCC
            raise MissingParameter(f"uscc is required for {verification_type} verification",
                                   details={"field": "uscc"})
        return None
    try:
        return validate_uscc(uscc)
    except UsccError as exc:
        raise InvalidParameterValue(exc.message, code=exc.code,
                                    details={"field": "uscc", "reason": exc.reason}) from None


def checked_verification(verification: VerificationIn, site: str) -> dict[str, Any]:
    """The columns a verification sets, after the domain checks (USCC check digit)."""
    return {"verification_type": verification.verification_type,
            "legal_name": _legal_name(verification.legal_name, site),
            "uscc": _checked_uscc(verification.uscc, verification.verification_type, site)}


async def create_account(work: Work, body: CreateAccountIn) -> Row[Any]:
    """Bootstrap a root account (operators, embedded mode's demo, tests)."""
    if body.uin is None:
        uin = await allocate_uin(work.session)
    else:
        uin = body.uin
        if await uin_taken(work.session, uin):
            raise AccountExists(f"uin {uin} is already in use")
    now = work.now()
    values: dict[str, Any] = {
        "uin": uin, "kind": body.kind, "site": body.site, "verification_type": "none",
        "legal_name": None, "uscc": None, "verified_at": None, "name_changed_at": None,
        "created_at": now, "updated_at": now,
    }
    if body.verification is not None:
        values |= checked_verification(body.verification, body.site) | {"verified_at": now}
    await work.session.execute(insert(accounts).values(**values))
    account = await get_account(work.session, uin)
    events = [work.event(ACCOUNT_CREATED, uin,
                         account_data(ACCOUNT_CREATED, account, created_at=iso(now)))]
    if body.verification is not None:
        events.append(work.event(ACCOUNT_VERIFIED, uin, account_data(ACCOUNT_VERIFIED, account)))
    await work.emit(*events)
    return account


async def verify_account(work: Work, uin: str, verification: VerificationIn) -> Row[Any]:
    account = await get_account(work.session, uin, lock=True)
    if account.verification_type != "none":
        raise AccountAlreadyVerified(
            f"account {uin} is already verified ({account.verification_type}); "
            "change the real-name information through /v1/account/rename")
    values = checked_verification(verification, account.site)
    now = work.now()
    await work.session.execute(update(accounts).where(accounts.c.uin == uin).values(
        **values, verified_at=now, updated_at=now))
    account = await get_account(work.session, uin)
    await work.emit(work.event(ACCOUNT_VERIFIED, uin, account_data(ACCOUNT_VERIFIED, account)))
    return account


def next_rename_allowed_at(account: Row[Any]) -> datetime | None:
    if account.name_changed_at is None:
        return None
    return utc(account.name_changed_at) + RENAME_INTERVAL


async def rename_account(work: Work, uin: str, change: RenameIn) -> Row[Any]:
    """Change the real-name information; refused within 30 days of the previous change
    (ACC-REQ-2). Without `verification_type` the type stays; without `uscc` the code stays,
    unless the type changes from personal (then a code is needed, as in verification)."""
    account = await get_account(work.session, uin, lock=True)
    if account.verification_type == "none":
        raise AccountNotVerified(f"account {uin} has no real-name verification to change; "
                                 "verify it first")
    new_type = change.verification_type or account.verification_type
    keeps_code = (change.uscc is None and new_type != "personal"
                  and account.verification_type != "personal")
    new_uscc = (account.uscc if keeps_code
                else _checked_uscc(change.uscc, new_type, account.site))
    new_name = _legal_name(change.legal_name, account.site)
    if (new_name, new_type, new_uscc) == (account.legal_name, account.verification_type,
                                          account.uscc):
        return account
    now = work.now()
    allowed_from = next_rename_allowed_at(account)
    if allowed_from is not None and now < allowed_from:
        raise RenameTooSoon(
            "the real-name information was changed on "
            f"{utc(account.name_changed_at).astimezone(SHANGHAI):%Y-%m-%d %H:%M} (Asia/Shanghai); "
            f"it can change again from {allowed_from.astimezone(SHANGHAI):%Y-%m-%d %H:%M} "
            "(at most one change per 30 days)",
            details={"next_rename_allowed_at": iso(allowed_from)})
    old = account
    await work.session.execute(update(accounts).where(accounts.c.uin == uin).values(
        legal_name=new_name, verification_type=new_type, uscc=new_uscc, name_changed_at=now,
        updated_at=now))
    account = await get_account(work.session, uin)
    await work.emit(work.event(ACCOUNT_RENAMED, uin, account_data(
        ACCOUNT_RENAMED, account, old_legal_name=old.legal_name, new_legal_name=new_name,
        old_verification_type=old.verification_type, old_uscc=old.uscc,
        effective_at=iso(now))))
    return account


def describe(account: Row[Any]) -> dict[str, Any]:
    return {
        "uin": account.uin, "kind": account.kind, "site": account.site,
        "is_international": account.site == "international",
        "verification_type": account.verification_type, "legal_name": account.legal_name,
        "uscc": account.uscc, "verified_at": iso(account.verified_at),
        "name_changed_at": iso(account.name_changed_at),
        "next_rename_allowed_at": iso(next_rename_allowed_at(account)),
        "created_at": iso(account.created_at),
    }
