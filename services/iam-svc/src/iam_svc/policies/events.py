"""`billing.iam.policy.changed.v1` (routing key `iam.policy.changed`): a change that may alter
some principal's effective policies. The gateway evicts its cached policies for
`affected_sub_uins` (for every principal when `owner_uin` is null: a preset changed).

data: `owner_uin` (str | null), `policy_id` (str | null), `change`, `sub_uin` (str | null),
`group_id` (str | null), `affected_sub_uins` (list of str, sorted).

`change`: created, deleted, attached, detached (with `sub_uin` or `group_id`), member_added,
member_removed (`group_id` and `sub_uin`), group_deleted (`group_id`), user_deleted
(`sub_uin`), preset_updated (`owner_uin` null). Subject: the owner account's uin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from kit.messaging import CloudEvent
from pydantic import BaseModel

from iam_svc.common.work import Work

POLICY_CHANGED = "billing.iam.policy.changed.v1"

Change = Literal["created", "deleted", "attached", "detached", "member_added", "member_removed",
                 "group_deleted", "user_deleted", "preset_updated"]


class PolicyChangedData(BaseModel):
    owner_uin: str | None
    policy_id: str | None
    change: Change
    sub_uin: str | None
    group_id: str | None
    affected_sub_uins: list[str]


SCHEMAS: dict[str, type[BaseModel]] = {POLICY_CHANGED: PolicyChangedData}


def policy_changed(work: Work, owner_uin: str | None, change: str, *,
                   policy_id: int | None = None, sub_uin: str | None = None,
                   group_id: int | None = None,
                   affected_sub_uins: Iterable[str] = ()) -> CloudEvent:
    affected = sorted(set(affected_sub_uins) | ({sub_uin} if sub_uin else set()))
    data = PolicyChangedData.model_validate({
        "owner_uin": owner_uin,
        "policy_id": None if policy_id is None else str(policy_id),
        "change": change,
        "sub_uin": sub_uin,
        "group_id": None if group_id is None else str(group_id),
        "affected_sub_uins": affected,
    })
    return work.event(POLICY_CHANGED, owner_uin, data.model_dump())
