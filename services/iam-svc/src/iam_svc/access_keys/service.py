"""API keys (ACC-REQ-3): several per principal (at most MAX_KEYS_PER_PRINCIPAL, CAM's limit of
two, from the CAM SDK's `OperationDenied.AccessKeyOverLimit`), enabled/disabled, deleted.

SecretId: `AKID` + 32 letters/digits; SecretKey: 32 letters/digits; both from `secrets`. The
SecretKey is returned once, at creation, and stored AES-GCM-encrypted with the SecretId as
associated data. Every change publishes `iam.key.changed`.

Targets: `target_uin` absent means the caller itself (its sub-user, or the root); the owner
account's own uin means the root's keys; another uin must be a sub-user of the account. For
update and delete without `target_uin` the key is found by id anywhere in the caller's account.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from kit.clock import iso
from kit.errors import InvalidParameterValue
from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.access_keys.errors import (
    AccessKeyNotFound,
    AccessKeyOverLimit,
    AccessKeyUnreadable,
)
from iam_svc.access_keys.events import key_changed
from iam_svc.access_keys.models import access_keys
from iam_svc.accounts.models import accounts
from iam_svc.accounts.service import get_account
from iam_svc.common.crypto import CipherError, SecretCipher
from iam_svc.common.work import Work
from iam_svc.users import repository as users

MAX_KEYS_PER_PRINCIPAL = 2
SECRET_ID_PREFIX = "AKID"
SECRET_LENGTH = 32
_ALPHABET = string.ascii_letters + string.digits
SECRET_ID_RE = re.compile(r"^AKID[A-Za-z0-9]{1,60}$")
SECRET_KEY_RE = re.compile(r"^[A-Za-z0-9]{16,64}$")

_STATUS_TO_CAM = {"enabled": "Active", "disabled": "Inactive"}
_STATUS_FROM_CAM = {"Active": "enabled", "Inactive": "disabled"}


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret_id() -> str:
    return SECRET_ID_PREFIX + _random(SECRET_LENGTH)


def new_secret_key() -> str:
    return _random(SECRET_LENGTH)


async def resolve_target(session: AsyncSession, owner_uin: str, caller_sub_uin: str | None,
                         target_uin: str | None) -> str | None:
    """The sub_uin whose keys are meant (None: the root's)."""
    if target_uin is None:
        if caller_sub_uin is not None:
            await users.by_uin(session, owner_uin, caller_sub_uin)
        return caller_sub_uin
    if target_uin == owner_uin:
        return None
    await users.by_uin(session, owner_uin, target_uin)
    return target_uin


def _principal(owner_uin: str, sub_uin: str | None) -> Any:
    sub = access_keys.c.sub_uin.is_(None) if sub_uin is None else access_keys.c.sub_uin == sub_uin
    return (access_keys.c.owner_uin == owner_uin) & sub


def key_view(row: Row[Any]) -> dict[str, Any]:
    return {"access_key_id": row.secret_id, "status": _STATUS_TO_CAM[row.status],
            "create_time": iso(row.created_at), "description": row.description}


async def create_key(work: Work, owner_uin: str, sub_uin: str | None,
                     description: str | None = None, *, secret_id: str | None = None,
                     secret_key: str | None = None) -> dict[str, Any]:
    """Create a key; answers CAM's AccessKeyDetail, with the SecretKey (shown only here)."""
    # Lock the principal so two concurrent creations cannot both pass the limit.
    if sub_uin is None:
        await get_account(work.session, owner_uin, lock=True)
    else:
        await users.by_uin(work.session, owner_uin, sub_uin, lock=True)
    count = (await work.session.execute(
        select(func.count()).select_from(access_keys).where(_principal(owner_uin, sub_uin))
    )).scalar_one()
    if count >= MAX_KEYS_PER_PRINCIPAL:
        raise AccessKeyOverLimit(
            f"a user has at most {MAX_KEYS_PER_PRINCIPAL} API keys; delete one first")
    secret_id = secret_id or new_secret_id()
    secret_key = secret_key or new_secret_key()
    if not SECRET_ID_RE.match(secret_id) or not SECRET_KEY_RE.match(secret_key):
        raise InvalidParameterValue("malformed SecretId or SecretKey")
    now = work.now()
    await work.session.execute(insert(access_keys).values(
        secret_id=secret_id, owner_uin=owner_uin, sub_uin=sub_uin,
        secret_key_encrypted=work.cipher.encrypt(secret_key, secret_id), status="enabled",
        description=description, created_at=now, updated_at=now))
    await work.emit(key_changed(work, secret_id, owner_uin, sub_uin, "created"))
    return {"access_key_id": secret_id, "secret_access_key": secret_key, "status": "Active",
            "create_time": iso(now), "description": description}


async def list_keys(session: AsyncSession, owner_uin: str,
                    sub_uin: str | None) -> list[dict[str, Any]]:
    rows = (await session.execute(select(access_keys).where(_principal(owner_uin, sub_uin))
                                  .order_by(access_keys.c.created_at, access_keys.c.secret_id)))
    return [key_view(row) for row in rows]


async def _find(session: AsyncSession, owner_uin: str, secret_id: str,
                target: tuple[str | None] | None) -> Row[Any]:
    """`target` None: anywhere in the account; `(sub_uin,)`: that principal's key only."""
    where = (access_keys.c.secret_id == secret_id) & (access_keys.c.owner_uin == owner_uin)
    if target is not None:
        where &= _principal(owner_uin, target[0])
    row = (await session.execute(select(access_keys).where(where).with_for_update())).first()
    if row is None:
        raise AccessKeyNotFound(f"API key {secret_id} does not exist for this user")
    return row


async def update_key_status(work: Work, owner_uin: str, secret_id: str, cam_status: str,
                            target: tuple[str | None] | None) -> None:
    row = await _find(work.session, owner_uin, secret_id, target)
    status = _STATUS_FROM_CAM[cam_status]
    if row.status == status:
        return
    await work.session.execute(update(access_keys).where(access_keys.c.secret_id == secret_id)
                               .values(status=status, updated_at=work.now()))
    await work.emit(key_changed(work, secret_id, owner_uin, row.sub_uin, status))


async def delete_key(work: Work, owner_uin: str, secret_id: str,
                     target: tuple[str | None] | None) -> None:
    row = await _find(work.session, owner_uin, secret_id, target)
    await work.session.execute(delete(access_keys).where(access_keys.c.secret_id == secret_id))
    await work.emit(key_changed(work, secret_id, owner_uin, row.sub_uin, "deleted"))


async def delete_keys_of(work: Work, owner_uin: str, sub_uin: str) -> None:
    """Delete a principal's keys; one `deleted` event per key this transaction deleted (a key
    deleted meanwhile by a concurrent DeleteAccessKey is not announced twice)."""
    deleted = (await work.session.execute(
        delete(access_keys).where(_principal(owner_uin, sub_uin))
        .returning(access_keys.c.secret_id))).scalars().all()
    for secret_id in sorted(deleted):
        await work.emit(key_changed(work, secret_id, owner_uin, sub_uin, "deleted"))


async def count_keys(session: AsyncSession, owner_uin: str, sub_uin: str) -> int:
    return (await session.execute(select(func.count()).select_from(access_keys)
                                  .where(_principal(owner_uin, sub_uin)))).scalar_one()


async def lookup_key(session: AsyncSession, cipher: SecretCipher,
                     secret_id: str) -> dict[str, Any]:
    """For the gateway's signature check: the key, decrypted, and whose it is."""
    row = (await session.execute(
        select(access_keys, accounts.c.kind)
        .join(accounts, accounts.c.uin == access_keys.c.owner_uin)
        .where(access_keys.c.secret_id == secret_id))).first()
    if row is None:
        raise AccessKeyNotFound(f"API key {secret_id} does not exist")
    try:
        secret_key = cipher.decrypt(row.secret_key_encrypted, row.secret_id)
    except CipherError as exc:
        raise AccessKeyUnreadable(f"API key {secret_id} cannot be decrypted with the configured "
                                  "key-encryption key") from exc
    return {"secret_id": row.secret_id, "secret_key": secret_key,
            "status": row.status, "owner_uin": row.owner_uin, "sub_uin": row.sub_uin,
            "principal_kind": row.kind}
