"""Bodies of the user-group endpoints, in CAM's field names (snake_case)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from iam_svc.common.types import ClientToken, Id, Remark, Uin, UserName

MAX_BATCH = 50


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateGroupIn(Strict):
    group_name: UserName
    remark: Remark | None = None
    client_token: ClientToken | None = None


class CreateGroupOut(BaseModel):
    group_id: int


class GroupOut(BaseModel):
    group_id: int
    group_name: str
    create_time: str
    remark: str | None


class ListGroupsOut(BaseModel):
    total_num: int
    group_info: list[GroupOut]


class GroupIdOfUidInfo(Strict):
    """CAM GroupIdOfUidInfo: the group and the sub-user, by `uid` or `uin` (one is needed)."""

    group_id: Id
    uid: Id | None = None
    uin: Uin | None = None


class MembersIn(Strict):
    info: Annotated[list[GroupIdOfUidInfo], Field(min_length=1, max_length=MAX_BATCH)]
