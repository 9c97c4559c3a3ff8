"""Bodies of the sub-user endpoints, in CAM's field names (snake_case)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from iam_svc.common.types import (
    ClientToken,
    CountryCode,
    Email,
    Flag,
    PhoneNum,
    Remark,
    Text,
    UserName,
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddUserIn(Strict):
    """CAM AddUser. `password` / `need_reset_password` exist in CAM but console passwords are
    not managed by this back office: they are refused, not silently dropped."""

    name: UserName
    remark: Remark | None = None
    console_login: Flag = 0
    use_api: Flag = 0
    password: Text | None = None
    need_reset_password: Flag | None = None
    phone_num: PhoneNum | None = None
    country_code: CountryCode | None = None
    email: Email | None = None
    client_token: ClientToken | None = None


class AddUserOut(BaseModel):
    uin: str
    name: str
    uid: int
    secret_id: str | None = None
    secret_key: str | None = None


class UserOut(BaseModel):
    """CAM GetUser / SubAccountInfo."""

    uin: str
    name: str
    uid: int
    remark: str | None
    console_login: int
    phone_num: str | None
    country_code: str | None
    email: str | None
    create_time: str


class ListUsersOut(BaseModel):
    data: list[UserOut]


class DeleteUserIn(Strict):
    force: Flag = 0


class Empty(BaseModel):
    pass
