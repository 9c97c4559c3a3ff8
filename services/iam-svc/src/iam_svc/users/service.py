"""Sub-user rules (ACC-REQ-3): names unique per account, at most MAX_SUB_USERS per account
(keeps ListUsers bounded), deletion refused while the user has API keys unless forced."""

from __future__ import annotations

from typing import Any

from kit.clock import iso
from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from iam_svc.access_keys import service as keys
from iam_svc.accounts.service import get_account
from iam_svc.common.errors import LimitExceeded, UnsupportedParameter
from iam_svc.common.work import Work
from iam_svc.groups.models import group_members
from iam_svc.policies.events import policy_changed
from iam_svc.policies.models import user_policies
from iam_svc.policies.service import hold_attached_policies
from iam_svc.uins import allocate_uin
from iam_svc.users import repository
from iam_svc.users.errors import UserHasKeys, UserNameInUse
from iam_svc.users.models import sub_users
from iam_svc.users.schemas import AddUserIn

MAX_SUB_USERS = 1000


def user_view(row: Row[Any]) -> dict[str, Any]:
    return {"uin": row.uin, "name": row.name, "uid": row.uid, "remark": row.remark,
            "console_login": row.console_login, "phone_num": row.phone_num,
            "country_code": row.country_code, "email": row.email,
            "create_time": iso(row.created_at)}


async def add_user(work: Work, owner_uin: str, body: AddUserIn) -> dict[str, Any]:
    if body.password is not None or body.need_reset_password:
        raise UnsupportedParameter(
            "console passwords are not managed by this service; omit password and "
            "need_reset_password", code="UnsupportedOperation.ConsolePassword",
            details={"field": "password"})
    await get_account(work.session, owner_uin, lock=True)  # serialises the limit check
    taken = (await work.session.execute(select(sub_users.c.uid).where(
        (sub_users.c.owner_uin == owner_uin) & (sub_users.c.name == body.name)))).first()
    if taken is not None:
        raise UserNameInUse(f"a sub-user named {body.name!r} already exists",
                            details={"field": "name"})
    count = (await work.session.execute(select(func.count()).select_from(sub_users)
                                        .where(sub_users.c.owner_uin == owner_uin))).scalar_one()
    if count >= MAX_SUB_USERS:
        raise LimitExceeded(f"an account has at most {MAX_SUB_USERS} sub-users",
                            code="InvalidParameter.SubUserFull")
    uin = await allocate_uin(work.session)
    await work.session.execute(insert(sub_users).values(
        uin=uin, owner_uin=owner_uin, name=body.name, remark=body.remark,
        console_login=body.console_login, phone_num=body.phone_num,
        country_code=body.country_code, email=body.email, created_at=work.now()))
    user = await repository.by_uin(work.session, owner_uin, uin)
    answer: dict[str, Any] = {"uin": uin, "name": user.name, "uid": user.uid,
                              "secret_id": None, "secret_key": None}
    if body.use_api:
        key = await keys.create_key(work, owner_uin, uin)
        answer |= {"secret_id": key["access_key_id"], "secret_key": key["secret_access_key"]}
    return answer


async def list_users(session: AsyncSession, owner_uin: str) -> list[dict[str, Any]]:
    rows = await session.execute(select(sub_users).where(sub_users.c.owner_uin == owner_uin)
                                 .order_by(sub_users.c.uid).limit(MAX_SUB_USERS))
    return [user_view(row) for row in rows]


async def delete_user(work: Work, owner_uin: str, name: str, force: bool) -> None:
    """Delete a sub-user, its group memberships and policy attachments; its API keys too when
    forced (else refused while it has any, like CAM's `Force=0`)."""
    user = await repository.by_name(work.session, owner_uin, name, lock=True)
    if await keys.count_keys(work.session, owner_uin, user.uin):
        if not force:
            raise UserHasKeys(f"sub-user {name!r} still has API keys; delete them first or "
                              "pass force=1")
        await keys.delete_keys_of(work, owner_uin, user.uin)
    await hold_attached_policies(work.session, user_policies, user_policies.c.uid, user.uid)
    await work.session.execute(delete(group_members).where(group_members.c.uid == user.uid))
    await work.session.execute(delete(user_policies).where(user_policies.c.uid == user.uid))
    await work.session.execute(delete(sub_users).where(sub_users.c.uid == user.uid))
    await work.emit(policy_changed(work, owner_uin, "user_deleted", sub_uin=user.uin))
