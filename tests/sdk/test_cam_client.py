"""The official CAM client (tencentcloud-sdk-python-cam, models and all) manages sub-users,
policies and keys through the gateway's `cam` 2019-01-16 facade; the key it creates then
works exactly as the policy says (CAM-REQ-2)."""

from __future__ import annotations

import json
import uuid

from tencentcloud.cam.v20190116 import cam_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from .conftest import Key, System, eventually, sdk_error


def cam(system: System, key: Key) -> cam_client.CamClient:
    return cam_client.CamClient(credential.Credential(key.secret_id, key.secret_key), "",
                                system.profile())


def test_cam_req_2_cam_client_creates_a_sub_user_whose_key_works_as_its_policy_says(
        system: System):
    root = cam(system, system.demo)

    add = models.AddUserRequest()
    add.Name = f"cam{uuid.uuid4().hex[:10]}"
    add.Remark = "made by the official CAM client"
    user = root.AddUser(add)
    assert user.Name == add.Name and user.Uin

    policy = models.CreatePolicyRequest()
    policy.PolicyName = f"readers{uuid.uuid4().hex[:8]}"
    policy.PolicyDocument = json.dumps({"version": "2.0", "statement": [
        {"effect": "allow", "action": ["cam:GetUser", "cam:ListUsers"], "resource": "*"}]})
    created = root.CreatePolicy(policy)
    assert created.PolicyId

    attach = models.AttachUserPolicyRequest()
    attach.PolicyId = created.PolicyId
    attach.AttachUin = user.Uin
    root.AttachUserPolicy(attach)

    make_key = models.CreateAccessKeyRequest()
    make_key.TargetUin = user.Uin
    made = root.CreateAccessKey(make_key)
    assert made.AccessKey.AccessKeyId.startswith("AKID")
    sub = cam(system, Key(made.AccessKey.AccessKeyId, made.AccessKey.SecretAccessKey))

    get = models.GetUserRequest()
    get.Name = add.Name
    fetched = eventually(lambda: sub.GetUser(get))
    assert fetched.Uin == user.Uin and fetched.Remark == add.Remark
    listed = sub.ListUsers(models.ListUsersRequest())
    assert add.Name in {u.Name for u in listed.Data}

    other = models.AddUserRequest()
    other.Name = f"no{uuid.uuid4().hex[:10]}"
    error = sdk_error(lambda: sub.AddUser(other))
    assert error.code == "AuthFailure.UnauthorizedOperation"
    assert "cam:AddUser" in error.message
    error = sdk_error(lambda: sub.CreatePolicy(policy))
    assert error.code == "AuthFailure.UnauthorizedOperation"

    detach = models.DetachUserPolicyRequest()
    detach.PolicyId = created.PolicyId
    detach.DetachUin = user.Uin
    root.DetachUserPolicy(detach)

    def revoked() -> None:
        try:
            sub.GetUser(get)
        except TencentCloudSDKException as exc:
            assert exc.code == "AuthFailure.UnauthorizedOperation"
            return
        raise AssertionError("the detached policy still applies")

    eventually(revoked)


def test_acc_req_3_cam_client_drives_groups_group_policies_and_key_lifecycle(system: System):
    """Every remaining management action through the official client: a policy granted
    through a group works for the group's member and stops when the membership or the
    attachment goes; keys are listed, disabled, re-enabled and deleted; the user, group and
    policy are deleted."""
    root = cam(system, system.demo)
    tag = uuid.uuid4().hex[:8]

    add = models.AddUserRequest()
    add.Name = f"grp{tag}"
    user = root.AddUser(add)

    group = models.CreateGroupRequest()
    group.GroupName = f"finance{tag}"
    group.Remark = "invoice readers"
    group_id = root.CreateGroup(group).GroupId
    listed = models.ListGroupsRequest()
    listed.Keyword = group.GroupName
    groups = root.ListGroups(listed)
    assert [(g.GroupId, g.GroupName, g.Remark) for g in groups.GroupInfo] == [
        (group_id, group.GroupName, group.Remark)] and groups.TotalNum == 1

    member = models.GroupIdOfUidInfo()
    member.GroupId, member.Uin = group_id, user.Uin
    join = models.AddUserToGroupRequest()
    join.Info = [member]
    root.AddUserToGroup(join)

    policy = models.CreatePolicyRequest()
    policy.PolicyName = f"listers{tag}"
    policy.PolicyDocument = json.dumps({"version": "2.0", "statement": [
        {"effect": "allow", "action": ["cam:ListGroups"], "resource": "*"}]})
    policy_id = root.CreatePolicy(policy).PolicyId
    get = models.GetPolicyRequest()
    get.PolicyId = policy_id
    fetched = root.GetPolicy(get)
    assert fetched.PolicyName == policy.PolicyName and fetched.Type == 1
    assert json.loads(fetched.PolicyDocument) == json.loads(policy.PolicyDocument)

    attach = models.AttachGroupPolicyRequest()
    attach.PolicyId, attach.AttachGroupId = policy_id, group_id
    root.AttachGroupPolicy(attach)
    all_policies = models.ListAttachedUserAllPoliciesRequest()
    all_policies.TargetUin, all_policies.Page, all_policies.Rp = user.Uin, 1, 20
    all_policies.AttachType = 0
    attached = root.ListAttachedUserAllPolicies(all_policies)
    assert [(p.PolicyId, [g.GroupId for g in p.Groups]) for p in attached.PolicyList] == [
        (str(policy_id), [group_id])]

    make_key = models.CreateAccessKeyRequest()
    make_key.TargetUin = user.Uin
    made = root.CreateAccessKey(make_key).AccessKey
    sub = cam(system, Key(made.AccessKeyId, made.SecretAccessKey))
    assert group.GroupName in {g.GroupName for g in eventually(
        lambda: sub.ListGroups(listed)).GroupInfo}

    def refused(call) -> None:  # type: ignore[no-untyped-def]
        def check() -> None:
            try:
                call()
            except TencentCloudSDKException as exc:
                assert exc.code in ("AuthFailure.UnauthorizedOperation",
                                    "AuthFailure.SecretIdNotFound"), exc.code
                return
            raise AssertionError("still allowed")
        eventually(check)

    detach = models.DetachGroupPolicyRequest()
    detach.PolicyId, detach.DetachGroupId = policy_id, group_id
    root.DetachGroupPolicy(detach)
    refused(lambda: sub.ListGroups(listed))
    root.AttachGroupPolicy(attach)
    eventually(lambda: sub.ListGroups(listed))
    leave = models.RemoveUserFromGroupRequest()
    leave.Info = [member]
    root.RemoveUserFromGroup(leave)
    refused(lambda: sub.ListGroups(listed))

    keys = models.ListAccessKeysRequest()
    keys.TargetUin = user.Uin
    assert [(k.AccessKeyId, k.Status) for k in root.ListAccessKeys(keys).AccessKeys] == [
        (made.AccessKeyId, "Active")]
    update = models.UpdateAccessKeyRequest()
    update.AccessKeyId, update.Status, update.TargetUin = made.AccessKeyId, "Inactive", user.Uin
    root.UpdateAccessKey(update)
    assert [k.Status for k in root.ListAccessKeys(keys).AccessKeys] == ["Inactive"]

    delete_user = models.DeleteUserRequest()
    delete_user.Name = add.Name
    assert sdk_error(lambda: root.DeleteUser(delete_user)).code == "OperationDenied.HaveKeys"
    delete_key = models.DeleteAccessKeyRequest()
    delete_key.AccessKeyId, delete_key.TargetUin = made.AccessKeyId, user.Uin
    root.DeleteAccessKey(delete_key)
    assert root.ListAccessKeys(keys).AccessKeys == []
    refused(lambda: sub.ListGroups(listed))

    root.DeleteUser(delete_user)
    gone = models.GetUserRequest()
    gone.Name = add.Name
    assert sdk_error(lambda: root.GetUser(gone)).code == "ResourceNotFound.User"
    delete_group = models.DeleteGroupRequest()
    delete_group.GroupId = group_id
    root.DeleteGroup(delete_group)
    assert root.ListGroups(listed).GroupInfo == []
    delete_policy = models.DeletePolicyRequest()
    delete_policy.PolicyId = [policy_id]
    root.DeletePolicy(delete_policy)
    assert sdk_error(lambda: root.GetPolicy(get)).code == "ResourceNotFound.Policy"
