"""Invoice titles: create, modify, describe, and the buyer of the next invoice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kit.clock import iso
from kit.errors import FailedOperation, ResourceNotFound
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.accounts.service import load_profile, require_invoicing_allowed
from invoice_svc.common.sql import upsert_insert
from invoice_svc.titles.models import invoice_titles
from invoice_svc.titles.rules import (
    INVOICE_TYPE_NAMES,
    PERSONAL_NAME,
    Buyer,
    TitleInput,
    check_title,
    name_source,
    resolve_buyer,
)

T = invoice_titles


class TitleExists(FailedOperation):
    code = "FailedOperation.InvoiceTitleExists"


class TitleNotFound(ResourceNotFound):
    code = "ResourceNotFound.InvoiceTitle"


class TitleMissing(FailedOperation):
    code = "FailedOperation.InvoiceTitleMissing"


async def _load(session: AsyncSession, uin: str) -> Row[Any] | None:
    return (await session.execute(select(T).where(T.c.uin == uin))).first()


def title_view(title: Row[Any], profile: Row[Any] | None) -> dict[str, Any]:
    verification = profile.verification_type if profile is not None else "none"
    source = name_source(title.title_type, verification)
    if source == "fixed":
        name, taxpayer_id = PERSONAL_NAME, None
    elif source == "real_name":
        name = profile.legal_name if profile is not None else None
        taxpayer_id = profile.uscc if profile is not None else None
    else:
        name, taxpayer_id = title.name, title.taxpayer_id
    return {
        "title_type": title.title_type, "invoice_type_name": INVOICE_TYPE_NAMES[title.title_type],
        "name": name, "taxpayer_id": taxpayer_id, "name_source": source,
        "name_editable": source == "customer", "address": title.address, "phone": title.phone,
        "bank_name": title.bank_name, "bank_account": title.bank_account,
        "created_at": iso(title.created_at), "updated_at": iso(title.updated_at),
    }


async def create_title(session: AsyncSession, uin: str, data: TitleInput,
                       now: datetime) -> dict[str, Any]:
    """INV-REQ-12: one valid title per account; a second create is refused."""
    profile = require_invoicing_allowed(await load_profile(session, uin))
    values = check_title(profile, data)
    stmt = (upsert_insert(session, T)
            .values(uin=uin, version=1, created_at=now, updated_at=now, **values)
            .on_conflict_do_nothing(index_elements=[T.c.uin]).returning(T.c.uin))
    if (await session.execute(stmt)).scalar_one_or_none() is None:
        raise TitleExists("每个账号只能设置一个有效的发票抬头；请修改现有抬头（ModifyInvoiceTitle）"
                          " (the account already has its one invoice title: modify it)")
    title = await _load(session, uin)
    assert title is not None
    return title_view(title, profile)


async def modify_title(session: AsyncSession, uin: str, data: TitleInput,
                       now: datetime) -> dict[str, Any]:
    """Replace the account's title (all fields, PUT semantics)."""
    profile = require_invoicing_allowed(await load_profile(session, uin))
    values = check_title(profile, data)
    done = await session.execute(update(T).where(T.c.uin == uin).values(
        version=T.c.version + 1, updated_at=now, **values))
    if done.rowcount == 0:
        raise TitleNotFound("该账号尚未设置发票抬头 (no invoice title yet: create one)")
    title = await _load(session, uin)
    assert title is not None
    return title_view(title, profile)


async def describe_title(session: AsyncSession, uin: str) -> dict[str, Any]:
    title = await _load(session, uin)
    if title is None:
        raise TitleNotFound("该账号尚未设置发票抬头 (no invoice title yet: create one)")
    return title_view(title, await load_profile(session, uin))


async def buyer_for(session: AsyncSession, uin: str, profile: Row[Any]) -> Buyer:
    title = await _load(session, uin)
    if title is None:
        raise TitleMissing("请先设置发票抬头后再申请开票 (set the invoice title first)")
    return resolve_buyer(profile, title)
