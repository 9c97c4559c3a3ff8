"""The rules and limits hold under concurrency, on PostgreSQL.

Each case fires concurrent requests through the app (asyncio.gather on the ASGI client: every
request runs its own transaction on its own pooled connection; `test_requests_really_overlap`
proves they are in the database at the same time) and checks that exactly the allowed number
succeed, the others get a stable 4xx code (never a 500), and that the tables and the outbox
agree: one event per applied change, none for a refused one. Races need luck, so each case
runs several rounds.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from kit.testing import LockGate
from sqlalchemy import text

ROUNDS = 6
POLICY = json.dumps({"version": "2.0", "statement": [
    {"effect": "allow", "action": "contract:*", "resource": "*"}]})
KEY_CHANGED = "billing.iam.key.changed.v1"
POLICY_CHANGED = "billing.iam.policy.changed.v1"


# --- helpers ------------------------------------------------------------------------------------
async def race(*calls: Any) -> list[httpx.Response]:
    return list(await asyncio.gather(*calls))


def outcomes(answers: list[httpx.Response]) -> Counter[tuple[int, str]]:
    """(status, code) of each answer; "" for a success."""
    counted: Counter[tuple[int, str]] = Counter()
    for answer in answers:
        assert answer.status_code < 500, answer.text
        code = "" if answer.status_code == 200 else answer.json()["code"]
        counted[(answer.status_code, code)] += 1
    return counted


def only(answers: list[httpx.Response], allowed: set[tuple[int, str]]) -> None:
    found = outcomes(answers)
    assert set(found) <= allowed, found


async def execute(iam: Any, sql: str, **params: Any) -> None:
    async with iam.app.state.runtime.db.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def key_events(iam: Any, **match: Any) -> list[dict[str, Any]]:
    return [e["data"] for e in await iam.events(KEY_CHANGED)
            if all(e["data"][k] == v for k, v in match.items())]


async def policy_events(iam: Any, change: str, **match: Any) -> list[dict[str, Any]]:
    return [e["data"] for e in await iam.events(POLICY_CHANGED)
            if e["data"]["change"] == change
            and all(e["data"][k] == v for k, v in match.items())]


async def user_uid(iam: Any, uin: str) -> int:
    return (await iam.rows("SELECT uid FROM sub_users WHERE uin = :uin", uin=uin))[0][0]


async def group(iam: Any, owner: str, name: str) -> int:
    return (await iam.ok("POST", "/v1/groups", uin=owner,
                         json_body={"group_name": name}))["group_id"]


def create_key(iam: Any, owner: str, target: str | None = None) -> Any:
    body = {} if target is None else {"target_uin": target}
    return iam.call("POST", "/v1/access-keys", uin=owner, json_body=body)


# --- the harness: requests really overlap in the database ----------------------------------------
async def test_requests_really_overlap(iam):
    """Hold the account row, fire 6 CreateAccessKey for the root (each locks that row) and
    wait until all 6 sessions are blocked on it at once: the client does not serialise
    requests, and each has its own connection and transaction."""
    owner = await iam.account()
    gate = LockGate(iam.database_url)
    await gate.hold("SELECT 1 FROM accounts WHERE uin = $1 FOR UPDATE", owner)
    answers = await gate.run(6, *(create_key(iam, owner) for _ in range(6)))
    assert outcomes(answers) == {(200, ""): 2, (409, "OperationDenied.AccessKeyOverLimit"): 4}


# --- API keys ------------------------------------------------------------------------------------
async def test_acc_req_3_concurrent_create_access_key_respects_the_limit_of_two(iam):
    owner = await iam.account()
    for round_ in range(ROUNDS):
        target = None if round_ == 0 else (await iam.user(owner, f"k{round_}"))["uin"]
        answers = await race(*(create_key(iam, owner, target) for _ in range(6)))
        assert outcomes(answers) == {(200, ""): 2,
                                     (409, "OperationDenied.AccessKeyOverLimit"): 4}
        made = {a.json()["access_key"]["access_key_id"] for a in answers if a.status_code == 200}
        sub = "IS NULL" if target is None else "= :sub"
        stored = {r[0] for r in await iam.rows(
            f"SELECT secret_id FROM access_keys WHERE owner_uin = :o AND sub_uin {sub}",
            o=owner, sub=target)}
        assert stored == made
        events = await key_events(iam, owner_uin=owner, sub_uin=target)
        assert sorted(e["secret_id"] for e in events) == sorted(made)
        assert {e["change"] for e in events} == {"created"}


async def test_acc_req_3_update_and_delete_racing_on_one_key(iam):
    owner = await iam.account()
    user = (await iam.ok("POST", "/v1/users", uin=owner, json_body={"name": "u", "use_api": 1}))
    for round_ in range(ROUNDS + 2):
        if round_:
            key = (await iam.ok("POST", "/v1/access-keys", uin=owner,
                                json_body={"target_uin": user["uin"]}))["access_key"]
            key_id = key["access_key_id"]
        else:
            key_id = user["secret_id"]
        path = f"/v1/access-keys/{key_id}"
        statuses = ["Inactive", "Active", "Inactive", "Inactive", "Active"]
        calls = [iam.call("PATCH", path, uin=owner, json_body={"status": s}) for s in statuses]
        calls.insert(round_ % len(calls), iam.call("DELETE", path, uin=owner))
        calls.append(iam.call("DELETE", path, uin=owner))
        answers = await race(*calls)
        deletes = [a for a in answers if a.request.method == "DELETE"]
        assert outcomes(deletes) == {(200, ""): 1, (404, "ResourceNotFound.AccessKey"): 1}
        only(answers, {(200, ""), (404, "ResourceNotFound.AccessKey")})
        assert await iam.rows("SELECT 1 FROM access_keys WHERE secret_id = :k", k=key_id) == []
        # the events tell a consistent story: created, real status changes only, one deletion
        changes = [e["change"] for e in await key_events(iam, secret_id=key_id)]
        assert changes[0] == "created" and changes[-1] == "deleted"
        assert changes.count("deleted") == 1
        state = "enabled"
        for change in changes[1:-1]:
            assert change in ("enabled", "disabled") and change != state, changes
            state = change
        applied = sum(1 for a in answers if a.request.method == "PATCH" and a.status_code == 200)
        assert len(changes) - 2 <= applied


# --- sub-users -----------------------------------------------------------------------------------
async def test_acc_req_3_concurrent_add_user_with_one_name(iam):
    owner = await iam.account()
    for round_ in range(ROUNDS):
        name = f"same{round_}"
        answers = await race(*(iam.call("POST", "/v1/users", uin=owner,
                                         json_body={"name": name, "use_api": 1})
                               for _ in range(8)))
        assert outcomes(answers) == {(200, ""): 1,
                                     (409, "InvalidParameter.SubUserNameInUse"): 7}
        winner = next(a.json() for a in answers if a.status_code == 200)
        rows = await iam.rows("SELECT uin FROM sub_users WHERE owner_uin = :o AND name = :n",
                              o=owner, n=name)
        assert [r[0] for r in rows] == [winner["uin"]]
        # use_api=1: the winner's key, and no key (nor event) for a refused request
        assert [e["secret_id"] for e in await key_events(iam, owner_uin=owner)][-1] == \
            winner["secret_id"]
        assert len(await key_events(iam, owner_uin=owner)) == round_ + 1
        assert len(await iam.rows("SELECT 1 FROM access_keys")) == round_ + 1


async def test_acc_req_3_concurrent_add_user_at_the_limit_of_1000(iam):
    owner = await iam.account()
    await execute(iam, "INSERT INTO sub_users (uin, owner_uin, name, console_login, created_at) "
                       "SELECT (900000000000 + n)::text, :o, 'seed' || n, 0, now() "
                       "FROM generate_series(1, 996) AS n", o=owner)
    answers = await race(*(iam.call("POST", "/v1/users", uin=owner,
                                     json_body={"name": f"late{i}", "use_api": 1})
                           for i in range(10)))
    assert outcomes(answers) == {(200, ""): 4, (409, "InvalidParameter.SubUserFull"): 6}
    assert (await iam.rows("SELECT count(*) FROM sub_users WHERE owner_uin = :o",
                           o=owner))[0][0] == 1000
    assert len(await key_events(iam, owner_uin=owner, change="created")) == 4


async def test_acc_req_3_delete_user_force_racing_create_access_key(iam):
    owner = await iam.account()
    for round_ in range(ROUNDS + 2):
        user = await iam.ok("POST", "/v1/users", uin=owner,
                            json_body={"name": f"d{round_}", "use_api": 1})
        deletion = iam.call("DELETE", f"/v1/users/d{round_}", uin=owner, json_body={"force": 1})
        creations = [create_key(iam, owner, user["uin"]) for _ in range(3)]
        creations.insert(round_ % 4, deletion)
        answers = await race(*creations)
        assert answers[round_ % 4].status_code == 200, answers[round_ % 4].text
        only(answers, {(200, ""), (404, "ResourceNotFound.User"),
                       (409, "OperationDenied.AccessKeyOverLimit")})
        assert await iam.rows("SELECT 1 FROM access_keys WHERE sub_uin = :s",
                              s=user["uin"]) == []
        events = await key_events(iam, sub_uin=user["uin"])
        created = [e["secret_id"] for e in events if e["change"] == "created"]
        deleted = [e["secret_id"] for e in events if e["change"] == "deleted"]
        assert len(created) == 1 + sum(1 for a in answers
                                       if a.status_code == 200 and "access_key" in a.json())
        assert sorted(created) == sorted(deleted)  # every key deleted, each once
        assert len(await policy_events(iam, "user_deleted", sub_uin=user["uin"])) == 1


async def test_acc_req_3_delete_user_force_racing_delete_access_key(iam):
    owner = await iam.account()
    for round_ in range(ROUNDS):
        user = await iam.ok("POST", "/v1/users", uin=owner,
                            json_body={"name": f"d{round_}", "use_api": 1})
        second = (await iam.ok("POST", "/v1/access-keys", uin=owner,
                               json_body={"target_uin": user["uin"]}))["access_key"]
        keys = [user["secret_id"], second["access_key_id"]]
        calls = [iam.call("DELETE", f"/v1/access-keys/{k}", uin=owner) for k in keys]
        calls.insert(round_ % 3, iam.call("DELETE", f"/v1/users/d{round_}", uin=owner,
                                          json_body={"force": 1}))
        answers = await race(*calls)
        assert answers[round_ % 3].status_code == 200, answers[round_ % 3].text
        only(answers, {(200, ""), (404, "ResourceNotFound.AccessKey")})
        assert await iam.rows("SELECT 1 FROM access_keys WHERE sub_uin = :s",
                              s=user["uin"]) == []
        deleted = [e["secret_id"] for e in await key_events(iam, sub_uin=user["uin"],
                                                           change="deleted")]
        assert sorted(deleted) == sorted(keys)  # one "deleted" per key, never two


# --- groups --------------------------------------------------------------------------------------
async def test_acc_req_3_concurrent_add_user_to_12_groups_respects_the_limit_of_ten(iam):
    owner = await iam.account()
    groups = [await group(iam, owner, f"g{i}") for i in range(12)]
    for round_ in range(ROUNDS):
        user = await iam.user(owner, f"m{round_}")
        answers = await race(*(iam.call("POST", "/v1/group-memberships", uin=owner,
                                        json_body={"info": [{"group_id": g, "uin": user["uin"]}]})
                               for g in groups))
        assert outcomes(answers) == {(200, ""): 10, (409, "InvalidParameter.UserGroupFull"): 2}
        joined = {groups[i] for i, a in enumerate(answers) if a.status_code == 200}
        stored = {r[0] for r in await iam.rows(
            "SELECT group_id FROM group_members WHERE uid = :u",
            u=await user_uid(iam, user["uin"]))}
        assert stored == joined
        events = await policy_events(iam, "member_added", sub_uin=user["uin"])
        assert sorted(int(e["group_id"]) for e in events) == sorted(joined)


async def test_acc_req_3_group_batches_in_opposite_orders_do_not_deadlock(iam):
    owner = await iam.account()
    groups = [await group(iam, owner, f"g{i}") for i in range(4)]
    users = [(await iam.user(owner, f"u{i}"))["uin"] for i in range(4)]
    pairs = [{"group_id": g, "uin": u} for g in groups for u in users]
    for _ in range(ROUNDS):
        answers = await race(*(iam.call("POST", "/v1/group-memberships", uin=owner,
                                        json_body={"info": pairs[::step]})
                               for step in (1, -1, 1, -1)))
        assert outcomes(answers) == {(200, ""): 4}
        answers = await race(*(iam.call("DELETE", "/v1/group-memberships", uin=owner,
                                        json_body={"info": pairs[::step]})
                               for step in (1, -1, 1, -1)))
        assert outcomes(answers) == {(200, ""): 4}
    assert await iam.rows("SELECT 1 FROM group_members") == []
    added = await policy_events(iam, "member_added")
    removed = await policy_events(iam, "member_removed")
    assert len(added) == len(removed) == ROUNDS * len(pairs)


async def test_acc_req_3_delete_group_racing_add_user_to_group(iam):
    owner = await iam.account()
    users = [(await iam.user(owner, f"u{i}"))["uin"] for i in range(4)]
    for round_ in range(ROUNDS + 2):
        group_id = await group(iam, owner, f"g{round_}")
        calls = [iam.call("POST", "/v1/group-memberships", uin=owner,
                          json_body={"info": [{"group_id": group_id, "uin": u}]})
                 for u in users]
        calls.insert(round_ % 5, iam.call("DELETE", f"/v1/groups/{group_id}", uin=owner))
        answers = await race(*calls)
        assert answers[round_ % 5].status_code == 200, answers[round_ % 5].text
        only(answers, {(200, ""), (404, "ResourceNotFound.Group")})
        assert await iam.rows("SELECT 1 FROM group_members WHERE group_id = :g",
                              g=group_id) == []
        added = sorted(e["sub_uin"] for e in await policy_events(
            iam, "member_added", group_id=str(group_id)))
        succeeded = sorted(u for u, a in zip(users, [a for i, a in enumerate(answers)
                                                     if i != round_ % 5], strict=True)
                           if a.status_code == 200)
        assert added == succeeded
        (deleted,) = await policy_events(iam, "group_deleted", group_id=str(group_id))
        assert deleted["affected_sub_uins"] == succeeded  # every member it had, no other


async def test_acc_req_3_delete_user_racing_add_user_to_group(iam):
    owner = await iam.account()
    groups = [await group(iam, owner, f"g{i}") for i in range(4)]
    for round_ in range(ROUNDS):
        uin = (await iam.user(owner, f"u{round_}"))["uin"]
        calls = [iam.call("POST", "/v1/group-memberships", uin=owner,
                          json_body={"info": [{"group_id": g, "uin": uin}]}) for g in groups]
        calls.insert(round_ % 5, iam.call("DELETE", f"/v1/users/u{round_}", uin=owner))
        answers = await race(*calls)
        assert answers[round_ % 5].status_code == 200, answers[round_ % 5].text
        only(answers, {(200, ""), (404, "ResourceNotFound.User")})
        assert await iam.rows("SELECT 1 FROM group_members gm LEFT JOIN sub_users s "
                              "ON s.uid = gm.uid WHERE s.uid IS NULL") == []
        added = len(await policy_events(iam, "member_added", sub_uin=uin))
        assert added == sum(1 for a in answers if a.status_code == 200) - 1


# --- policies ------------------------------------------------------------------------------------
async def test_acc_req_3_concurrent_attach_of_one_policy_to_one_user(iam):
    owner = await iam.account()
    policy_id = await iam.policy(owner, "p", POLICY)
    for round_ in range(ROUNDS):
        uin = (await iam.user(owner, f"a{round_}"))["uin"]
        answers = await race(*(iam.call("POST", f"/v1/users/{uin}/policies", uin=owner,
                                        json_body={"policy_id": policy_id})
                               for _ in range(8)))
        assert outcomes(answers) == {(200, ""): 8}  # attaching twice changes nothing
        assert len(await iam.rows("SELECT 1 FROM user_policies WHERE uid = :u",
                                  u=await user_uid(iam, uin))) == 1
        assert len(await policy_events(iam, "attached", sub_uin=uin)) == 1


@pytest.mark.parametrize("holder", ["user", "group"])
async def test_acc_req_3_concurrent_attach_at_the_limit_of_200(iam, holder):
    owner = await iam.account()
    if holder == "user":
        uin = (await iam.user(owner, "full"))["uin"]
        holder_id, link, column = await user_uid(iam, uin), "user_policies", "uid"
        path = f"/v1/users/{uin}/policies"
    else:
        holder_id = await group(iam, owner, "full")
        link, column, path = "group_policies", "group_id", f"/v1/groups/{holder_id}/policies"
    await execute(iam, "INSERT INTO policies (owner_uin, policy_type, policy_name, document, "
                       "created_at, updated_at) SELECT :o, 'custom', 'seed' || n, :d, now(), "
                       "now() FROM generate_series(1, 197) AS n", o=owner, d=POLICY)
    await execute(iam, f"INSERT INTO {link} ({column}, policy_id, attached_at) "
                       "SELECT :h, policy_id, now() FROM policies WHERE owner_uin = :o",
                  h=holder_id, o=owner)
    late = [await iam.policy(owner, f"late{i}", POLICY) for i in range(8)]
    answers = await race(*(iam.call("POST", path, uin=owner, json_body={"policy_id": p})
                           for p in late))
    assert outcomes(answers) == {(200, ""): 3, (409, "InvalidParameter.AttachmentFull"): 5}
    assert (await iam.rows(f"SELECT count(*) FROM {link} WHERE {column} = :h",
                           h=holder_id))[0][0] == 200
    attached = {int(e["policy_id"]) for e in await policy_events(iam, "attached")}
    assert attached == {p for p, a in zip(late, answers, strict=True) if a.status_code == 200}


@pytest.mark.parametrize("holder", ["user", "group"])
async def test_acc_req_3_delete_policy_racing_attach(iam, holder):
    owner = await iam.account()
    holders = []
    for i in range(4):
        if holder == "user":
            uin = (await iam.user(owner, f"u{i}"))["uin"]
            holders.append((f"/v1/users/{uin}/policies", uin))
        else:
            group_id = await group(iam, owner, f"g{i}")
            holders.append((f"/v1/groups/{group_id}/policies", str(group_id)))
    key = "sub_uin" if holder == "user" else "group_id"
    for round_ in range(ROUNDS + 2):
        policy_id = await iam.policy(owner, f"p{round_}", POLICY)
        calls = [iam.call("POST", path, uin=owner, json_body={"policy_id": policy_id})
                 for path, _ in holders]
        calls.insert(round_ % 5, iam.call("DELETE", "/v1/policies", uin=owner,
                                          json_body={"policy_id": [policy_id]}))
        answers = await race(*calls)
        assert answers[round_ % 5].status_code == 200, answers[round_ % 5].text
        only(answers, {(200, ""), (404, "ResourceNotFound.Policy")})
        for link in ("user_policies", "group_policies"):  # no dangling attachment
            assert await iam.rows(f"SELECT 1 FROM {link} WHERE policy_id = :p",
                                  p=policy_id) == []
        attaches = [a for i, a in enumerate(answers) if i != round_ % 5]
        succeeded = sorted(h for (_, h), a in zip(holders, attaches, strict=True)
                           if a.status_code == 200)
        attached = await policy_events(iam, "attached", policy_id=str(policy_id))
        assert sorted(e[key] for e in attached) == succeeded
        (deleted,) = await policy_events(iam, "deleted", policy_id=str(policy_id))
        if holder == "user":  # the deletion detached every attachment that was made
            assert deleted["affected_sub_uins"] == succeeded


# --- accounts ------------------------------------------------------------------------------------
async def test_acc_req_2_concurrent_renames_one_wins(iam):
    owner = await iam.account(verification={"verification_type": "personal",
                                            "legal_name": "张三"})
    for round_ in range(ROUNDS):
        iam.clock.advance(timedelta(days=31))
        names = [f"李四{round_}{i}" for i in range(4)]
        answers = await race(*(iam.call("POST", "/v1/account/rename", uin=owner,
                                        json_body={"legal_name": n}) for n in names))
        assert outcomes(answers) == {(200, ""): 1,
                                     (409, "FailedOperation.RenameIntervalNotReached"): 3}
        winner = next(n for n, a in zip(names, answers, strict=True) if a.status_code == 200)
        stored = (await iam.ok("GET", "/v1/account", uin=owner))["legal_name"]
        assert stored == winner
        renamed = await iam.events("billing.account.renamed.v1")
        assert len(renamed) == round_ + 1
        assert renamed[-1]["data"]["new_legal_name"] == winner


async def test_acc_req_1_concurrent_verifications_one_wins(iam):
    for _ in range(ROUNDS):
        owner = await iam.account()
        names = [f"王五{i}" for i in range(4)]
        answers = await race(*(iam.call("POST", "/v1/account/verification", uin=owner,
                                        json_body={"verification_type": "personal",
                                                   "legal_name": n}) for n in names))
        assert outcomes(answers) == {(200, ""): 1,
                                     (409, "FailedOperation.AccountAlreadyVerified"): 3}
        winner = next(n for n, a in zip(names, answers, strict=True) if a.status_code == 200)
        assert (await iam.ok("GET", "/v1/account", uin=owner))["legal_name"] == winner
        verified = [e for e in await iam.events("billing.account.verified.v1")
                    if e["subject"] == owner]
        assert [e["data"]["legal_name"] for e in verified] == [winner]


@pytest.mark.parametrize("holder", ["user", "group"])
async def test_acc_req_3_delete_policies_racing_delete_of_their_holder(iam, holder):
    """DeletePolicy of a batch and DeleteUser / DeleteGroup both delete the same attachment
    rows; each must finish (no deadlock answered as an error)."""
    owner = await iam.account()
    for round_ in range(ROUNDS):
        if holder == "user":
            uin = (await iam.user(owner, f"h{round_}"))["uin"]
            attach, remove = f"/v1/users/{uin}/policies", f"/v1/users/h{round_}"
        else:
            group_id = await group(iam, owner, f"h{round_}")
            attach, remove = f"/v1/groups/{group_id}/policies", f"/v1/groups/{group_id}"
        ids = [await iam.policy(owner, f"p{round_}-{i}", POLICY) for i in range(6)]
        for policy_id in ids:
            await iam.ok("POST", attach, uin=owner, json_body={"policy_id": policy_id})
        answers = await race(
            iam.call("DELETE", "/v1/policies", uin=owner, json_body={"policy_id": ids[2::-1]}),
            iam.call("DELETE", remove, uin=owner),
            iam.call("DELETE", "/v1/policies", uin=owner, json_body={"policy_id": ids[:2:-1]}))
        assert outcomes(answers) == {(200, ""): 3}
        for link in ("user_policies", "group_policies"):
            assert await iam.rows(f"SELECT 1 FROM {link}") == []
        deleted = await policy_events(iam, "deleted")
        assert sorted(int(e["policy_id"]) for e in deleted[-6:]) == sorted(ids)
