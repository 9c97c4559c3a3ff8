"""The official tencentcloud-sdk-python-common CommonClient (sync and async) against the
gateway in embedded mode on a real socket: authentication, CAM enforcement (CAM-REQ-2/5 at
the gateway), the GET flavour, and client-side retries of RequestLimitExceeded."""

from __future__ import annotations

import contextlib
import time
import types
import uuid
from unittest import mock

import httpx
import orjson
from gateway.rate_limit import RateLimiter
from kit import tc3
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.common_client_async import CommonClient as AsyncCommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.retry import StandardRetryer

from .conftest import CAM_VERSION, Key, System, eventually, sdk_error

READ_USERS = {"version": "2.0", "statement": [
    {"effect": "allow", "action": ["cam:ListUsers", "cam:GetUser"], "resource": "*"}]}


def test_successful_call_sync(system: System):
    response = system.cam(system.demo, "ListUsers")
    assert isinstance(response["RequestId"], str) and response["RequestId"]
    assert "Error" not in response


async def test_successful_call_async(system: System):
    cred = credential.Credential(system.demo.secret_id, system.demo.secret_key)
    async with AsyncCommonClient("cam", CAM_VERSION, cred, "", system.profile()) as client:
        response = await client.call_and_deserialize("ListUsers", {})
    assert "RequestId" in response["Response"]
    assert "Error" not in response["Response"]


def test_wrong_secret_key_is_signature_failure(system: System):
    wrong = Key(system.demo.secret_id, "x" * 32)
    error = sdk_error(lambda: system.cam(wrong, "ListUsers"))
    assert error.code == "AuthFailure.SignatureFailure"
    assert error.requestId


def test_unknown_secret_id_is_secret_id_not_found(system: System):
    error = sdk_error(lambda: system.cam(Key("AKIDdoesnotexist000000000000", "k" * 32),
                                         "ListUsers"))
    assert error.code == "AuthFailure.SecretIdNotFound"


def test_disabled_key_is_secret_id_not_found_without_restart(system: System):
    key = system.new_key(system.demo)
    assert "Error" not in system.cam(key, "ListUsers")  # works, and is cached now
    system.cam(system.demo, "UpdateAccessKey", {"AccessKeyId": key.secret_id,
                                                "Status": "Inactive"})

    def refused() -> None:
        error = sdk_error(lambda: system.cam(key, "ListUsers"))
        assert error.code == "AuthFailure.SecretIdNotFound"

    eventually(refused)


def test_timestamp_ten_minutes_old_is_signature_expire(system: System):
    real = time.time
    old_clock = types.SimpleNamespace(time=lambda: real() - 600, sleep=time.sleep)
    with mock.patch.object(abstract_client, "time", old_clock):  # the SDK's clock only
        error = sdk_error(lambda: system.cam(system.demo, "ListUsers"))
    assert error.code == "AuthFailure.SignatureExpire"


def test_cam_req_2_sub_user_needs_a_policy_and_gets_it_without_restart(system: System):
    """CAM-REQ-2: no matching allow means deny; attaching a policy takes effect while the
    gateway runs (its cached copy is dropped by iam.policy.changed)."""
    _, sub_uin = system.new_sub_user(system.demo)
    key = system.new_key(system.demo, sub_uin)
    error = sdk_error(lambda: system.cam(key, "ListUsers"))
    assert error.code == "AuthFailure.UnauthorizedOperation"
    assert "cam:ListUsers" in error.message
    system.attach(system.demo, system.new_policy(system.demo, READ_USERS), sub_uin)
    response = eventually(lambda: system.cam(key, "ListUsers"))
    assert "Error" not in response


def test_cam_req_2_explicit_deny_wins(system: System):
    """CAM-REQ-2: a deny statement beats an allow for the same action."""
    _, sub_uin = system.new_sub_user(system.demo)
    key = system.new_key(system.demo, sub_uin)
    system.attach(system.demo, system.new_policy(system.demo, READ_USERS), sub_uin)
    eventually(lambda: system.cam(key, "ListUsers"))
    deny = {"version": "2.0", "statement": [
        {"effect": "deny", "action": "cam:ListUsers", "resource": "*"}]}
    system.attach(system.demo, system.new_policy(system.demo, deny), sub_uin)

    def denied() -> None:
        error = sdk_error(lambda: system.cam(key, "ListUsers"))
        assert error.code == "AuthFailure.UnauthorizedOperation"

    eventually(denied)
    name = system.cam(system.demo, "ListUsers")  # GetUser is still allowed
    assert name


def test_cam_req_5_ip_condition(system: System):
    """CAM-REQ-5: an ip_equal condition is checked against the caller's address."""
    _, sub_uin = system.new_sub_user(system.demo)
    key = system.new_key(system.demo, sub_uin)
    elsewhere = {"version": "2.0", "statement": [{
        "effect": "allow", "action": "cam:ListUsers", "resource": "*",
        "condition": {"ip_equal": {"qcs:ip": ["192.0.2.0/24"]}}}]}
    here = {"version": "2.0", "statement": [{
        "effect": "allow", "action": "cam:GetUser", "resource": "*",
        "condition": {"ip_equal": {"qcs:ip": ["127.0.0.1/32"]}}}]}
    system.attach(system.demo, system.new_policy(system.demo, elsewhere), sub_uin)
    system.attach(system.demo, system.new_policy(system.demo, here), sub_uin)
    name, _ = system.new_sub_user(system.demo)
    user = eventually(lambda: system.cam(key, "GetUser", {"Name": name}))
    assert user["Name"] == name
    error = sdk_error(lambda: system.cam(key, "ListUsers"))
    assert error.code == "AuthFailure.UnauthorizedOperation"


def test_get_request_with_flattened_parameters(system: System):
    """HttpProfile(reqMethod="GET"): `PolicyId.0=..&PolicyId.1=..` in the query string."""
    first = system.new_policy(system.demo, READ_USERS)
    second = system.new_policy(system.demo, READ_USERS)
    client = system.client(system.demo, profile=system.profile(reqMethod="GET"))
    response = client.call_json("DeletePolicy", {"PolicyId": [first, second]})["Response"]
    assert "Error" not in response
    ids = {p["PolicyId"] for p in system.cam(system.demo, "ListPolicies",
                                             {"Rp": 200})["List"]}
    assert first not in ids and second not in ids
    user = client.call_json("GetUser", {"Name": system.new_sub_user(system.demo)[0]})
    assert "Uin" in user["Response"]


class RetryerWithReset(StandardRetryer):
    """StandardRetryer as tencentcloud-sdk-python-common 3.1.195 ships it never clears the
    error of a failed attempt, so a retry that succeeds is still reported as the first
    failure (and retried until the attempts run out). This is the same loop with the reset."""

    def send_request(self, fn):  # type: ignore[no-untyped-def]
        for n in range(self._max_attempts):
            resp, err = None, None
            try:
                resp = fn()
            except TencentCloudSDKException as exc:
                err = exc
            if not self.should_retry(resp, err):
                if err:
                    raise err
                return resp
            sleep = self._backoff_fn(n)
            self.on_retry(n, sleep, resp, err)
            time.sleep(sleep)
        raise err


def accepted_calls(system: System) -> float:
    """ListUsers calls the gateway passed to iam-svc and answered without error."""
    labels = {"style": "api3", "service": "iam", "outcome": "200"}
    registry = system.served.app.proxy.registry
    return registry.get_sample_value("gateway_request_duration_seconds_count", labels) or 0.0


def test_request_limit_exceeded_is_retried_by_the_standard_retryer(system: System):
    """The gateway's RequestLimitExceeded is what StandardRetryer retries, with its backoff,
    and the retried call goes through once the bucket has refilled."""
    gateway = system.served.app
    original = gateway.proxy.limiter
    gateway.proxy.limiter = RateLimiter(rate=1, burst=1)  # a token a second
    retried: list[str] = []

    def record(n, sleep, resp, err):  # type: ignore[no-untyped-def]
        retried.append(err.get_code())

    try:
        plain = system.client(system.demo)
        plain.call_json("ListUsers", {})
        error = sdk_error(lambda: plain.call_json("ListUsers", {}))
        assert error.code == "RequestLimitExceeded"
        assert StandardRetryer.should_retry(None, error)

        shipped = StandardRetryer(max_attempts=2, backoff_fn=lambda n: 1.1)
        shipped.on_retry = record  # type: ignore[method-assign]
        before = accepted_calls(system)
        with contextlib.suppress(TencentCloudSDKException):  # the SDK flaw above
            system.client(system.demo, profile=ClientProfile(
                httpProfile=system.profile().httpProfile, retryer=shipped,
            )).call_json("ListUsers", {})
        assert retried and set(retried) == {"RequestLimitExceeded"}
        assert accepted_calls(system) == before + 1  # the retry itself went through
        retried.clear()

        with contextlib.suppress(TencentCloudSDKException):
            plain.call_json("ListUsers", {})  # the bucket is empty again
        fixed = RetryerWithReset(max_attempts=3, backoff_fn=lambda n: 1.1)
        fixed.on_retry = record  # type: ignore[method-assign]
        response = system.client(system.demo, profile=ClientProfile(
            httpProfile=system.profile().httpProfile, retryer=fixed,
        )).call_json("ListUsers", {})
        assert "Error" not in response["Response"]
        assert retried == ["RequestLimitExceeded"]
    finally:
        gateway.proxy.limiter = original


def test_another_accounts_resources_are_out_of_reach_even_for_a_root(system: System):
    """CAM-REQ-2: nobody crosses accounts. A root may do everything in its own account, but
    naming another account's sub-user gets nothing."""
    other_root = system.new_account()
    name, other_sub = system.new_sub_user(other_root)
    assert str(system.cam(other_root, "GetUser", {"Name": name})["Uin"]) == other_sub
    error = sdk_error(lambda: system.cam(system.demo, "ListAttachedUserAllPolicies",
                                         {"TargetUin": int(other_sub), "Rp": 10, "Page": 1}))
    assert error.code.startswith("ResourceNotFound")
    policy = system.new_policy(system.demo, READ_USERS)
    error = sdk_error(lambda: system.attach(system.demo, policy, other_sub))
    assert error.code.startswith("ResourceNotFound")
    error = sdk_error(lambda: system.cam(system.demo, "GetUser", {"Name": name}))
    assert error.code.startswith("ResourceNotFound")


def test_rest_passthrough_is_signed_and_authorized_the_same_way(system: System):
    """REST at /iam/...: TC3 over the REST request (kit.tc3.build_signed_headers, since the
    SDK only speaks API 3.0), the same CAM decision, problem+json with the same codes."""

    def rest(key: Key, method: str, path: str, body: bytes = b"") -> httpx.Response:
        headers = tc3.build_signed_headers(key.secret_id, key.secret_key, "cam", system.host,
                                           "Rest", "rest", method=method, path=path, body=body,
                                           content_type="application/json")
        return httpx.request(method, f"http://{system.host}{path}", headers=headers,
                             content=body)

    name = f"rest{uuid.uuid4().hex[:10]}"
    created = rest(system.demo, "POST", "/iam/v1/users", orjson.dumps({"name": name}))
    assert created.status_code == 200, created.text
    fetched = rest(system.demo, "GET", f"/iam/v1/users/{name}")
    assert fetched.status_code == 200 and fetched.json()["name"] == name
    assert fetched.headers["x-request-id"]

    _, sub_uin = system.new_sub_user(system.demo)
    key = system.new_key(system.demo, sub_uin)
    denied = rest(key, "GET", f"/iam/v1/users/{name}")
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["code"] == "AuthFailure.UnauthorizedOperation"
    forged = rest(Key(key.secret_id, "0" * 32), "GET", f"/iam/v1/users/{name}")
    assert forged.status_code == 401 and forged.json()["code"] == "AuthFailure.SignatureFailure"
    missing = rest(system.demo, "GET", "/iam/v1/users/nobody-here")
    assert missing.status_code == 404 and missing.json()["code"].startswith("ResourceNotFound")
