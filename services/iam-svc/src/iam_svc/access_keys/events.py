"""`billing.iam.key.changed.v1` (routing key `iam.key.changed`), on every change of an API key.

data: `secret_id`, `owner_uin`, `sub_uin` (null for the root's own keys),
`change` (created | enabled | disabled | deleted). The SecretKey is never in an event.
Subject: the owner account's uin.
"""

from __future__ import annotations

from typing import Literal

from kit.messaging import CloudEvent
from pydantic import BaseModel

from iam_svc.common.work import Work

KEY_CHANGED = "billing.iam.key.changed.v1"


class KeyChangedData(BaseModel):
    secret_id: str
    owner_uin: str
    sub_uin: str | None
    change: Literal["created", "enabled", "disabled", "deleted"]


SCHEMAS: dict[str, type[BaseModel]] = {KEY_CHANGED: KeyChangedData}


def key_changed(work: Work, secret_id: str, owner_uin: str, sub_uin: str | None,
                change: str) -> CloudEvent:
    data = KeyChangedData.model_validate({"secret_id": secret_id, "owner_uin": owner_uin,
                                          "sub_uin": sub_uin, "change": change})
    return work.event(KEY_CHANGED, owner_uin, data.model_dump())
