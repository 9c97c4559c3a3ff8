"""Every event iam-svc writes to its outbox is a valid CloudEvent whose data matches the
published schema (iam_svc.events), with the routing key of its type."""

from __future__ import annotations

import json
from datetime import timedelta

from iam_svc.events import EVENT_SCHEMAS
from kit.messaging import parse_event

POLICY = json.dumps({"version": "2.0", "statement": [
    {"effect": "allow", "action": "contract:*", "resource": "*"}]})


async def test_every_event_matches_its_schema(iam):
    owner = await iam.account(verification={
        "verification_type": "enterprise", "legal_name": "某某科技有限公司",
        "uscc": "91440300708461136T"})
    iam.clock.advance(timedelta(days=1))
    await iam.ok("POST", "/v1/account/rename", uin=owner,
                 json_body={"legal_name": "某某云有限公司"})
    user = await iam.ok("POST", "/v1/users", uin=owner, json_body={"name": "ci", "use_api": 1})
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "g"}))["group_id"]
    await iam.ok("POST", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": user["uin"]}]})
    policy = await iam.policy(owner, "p", POLICY)
    await iam.ok("POST", f"/v1/groups/{group}/policies", uin=owner, json_body={"policy_id": policy})
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": policy})
    await iam.ok("PATCH", f"/v1/access-keys/{user['secret_id']}", uin=owner,
                 json_body={"status": "Inactive"})
    await iam.ok("DELETE", "/v1/policies", uin=owner, json_body={"policy_id": [policy]})
    await iam.ok("DELETE", f"/v1/groups/{group}", uin=owner)
    await iam.ok("DELETE", "/v1/users/ci", uin=owner, json_body={"force": 1})

    outbox = await iam.rows("SELECT event_id, routing_key, body FROM outbox ORDER BY seq")
    seen = set()
    for event_id, routing_key, body in outbox:
        event = parse_event(body.encode())
        assert event.id == event_id and event.routing_key == routing_key
        assert event.source == "/services/iam-svc" and event.subject == owner
        model = EVENT_SCHEMAS[event.type]
        assert set(event.data) == set(model.model_fields), event.type
        assert model.model_validate(event.data).model_dump() == event.data
        seen.add(event.type)
    assert seen == set(EVENT_SCHEMAS)
    changes = [json.loads(b)["data"]["change"] for _, _, b in outbox
               if json.loads(b)["type"] == "billing.iam.policy.changed.v1"]
    assert changes == ["member_added", "created", "attached", "attached", "deleted",
                       "group_deleted", "user_deleted"]
