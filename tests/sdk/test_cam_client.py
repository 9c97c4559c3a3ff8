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
