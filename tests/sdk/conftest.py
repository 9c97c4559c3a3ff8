"""The embedded system on a real socket, for the official Tencent Cloud SDKs.

One system per module (starting one migrates four SQLite databases); tests make their own
sub-users and keys, so they do not depend on each other.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from gateway.testing import EmbeddedInThread
from kit import jsonutil
from kit.identity import HEADER, Caller
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
CAM_VERSION = "2019-01-16"
T = TypeVar("T")


@dataclass
class Key:
    secret_id: str
    secret_key: str


@dataclass
class Console:
    """What an integrator has: the gateway's host:port and the demo account's key."""

    host: str
    demo: Key

    def profile(self, **http: Any) -> ClientProfile:
        return ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=self.host, **http))

    def client(self, key: Key, service: str = "cam", version: str = CAM_VERSION,
               profile: ClientProfile | None = None) -> CommonClient:
        return CommonClient(service, version, credential.Credential(key.secret_id,
                                                                    key.secret_key),
                            "", profile=profile or self.profile())

    def cam(self, key: Key, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.client(key).call_json(action, params or {})["Response"]

    def new_sub_user(self, root: Key) -> tuple[str, str]:
        name = f"u{uuid.uuid4().hex[:12]}"
        added = self.cam(root, "AddUser", {"Name": name})
        return name, str(added["Uin"])

    def new_key(self, root: Key, target_uin: str | None = None) -> Key:
        params = {"TargetUin": int(target_uin)} if target_uin else {}
        made = self.cam(root, "CreateAccessKey", params)["AccessKey"]
        return Key(made["AccessKeyId"], made["SecretAccessKey"])

    def new_policy(self, root: Key, document: dict[str, Any]) -> int:
        made = self.cam(root, "CreatePolicy", {"PolicyName": f"p{uuid.uuid4().hex[:12]}",
                                               "PolicyDocument": json.dumps(document)})
        return int(made["PolicyId"])

    def attach(self, root: Key, policy_id: int, sub_uin: str) -> None:
        self.cam(root, "AttachUserPolicy", {"PolicyId": policy_id, "AttachUin": int(sub_uin)})


class System(Console):
    """The embedded system served from a thread of this process: also reachable inside."""

    def __init__(self, served: EmbeddedInThread) -> None:
        demo = served.system.demo
        assert demo is not None
        super().__init__(served.host, Key(demo.secret_id, demo.secret_key))
        self.served = served

    def internal(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                 caller: Caller | None = None) -> tuple[int, Any]:
        """Call iam-svc directly with an assertion the gateway would sign (test set-up only:
        creating a second root account and its key, which no public API does)."""
        gateway = self.served.app
        caller = caller or Caller(kind="service", uin=None)
        upstream = gateway.state.upstreams["iam"]
        headers = [(HEADER.encode(), gateway.proxy.signer.sign(caller).encode()),
                   (b"content-type", b"application/json")]
        data = b"" if body is None else jsonutil.dumps(body)

        async def go() -> Any:
            return await upstream.request(method, path, headers=headers, body=data)

        answer = self.served.call(go)
        return answer.status, (json.loads(answer.body) if answer.body else None)

    def new_account(self) -> Key:
        """A second root account and its key."""
        status, account = self.internal("POST", "/internal/v1/accounts", {})
        assert status == 200, account
        uin = account["uin"]
        status, made = self.internal("POST", "/v1/access-keys", {},
                                     caller=Caller(kind="customer", uin=uin))
        assert status == 200, made
        return Key(made["access_key"]["access_key_id"], made["access_key"]["secret_access_key"])


def sdk_error(call: Callable[[], Any]) -> TencentCloudSDKException:
    """The SDK exception ``call`` raises; AssertionError when it succeeds."""
    try:
        answer = call()
    except TencentCloudSDKException as exc:
        return exc
    raise AssertionError(f"expected an SDK error, got {answer!r}")


def eventually(check: Callable[[], T], *, within: float = 15.0) -> T:
    """Retry ``check`` until it returns without raising (a change travelling as an event);
    re-raise its last failure after ``within`` seconds. The pause between attempts is a
    blocking wait on an event nobody sets: a bounded poll, not a guess at how long it takes."""
    import threading
    import time

    deadline = time.monotonic() + within
    idle = threading.Event()
    while True:
        try:
            return check()
        except (AssertionError, TencentCloudSDKException):
            if time.monotonic() > deadline:
                raise
            idle.wait(0.05)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    var_dir: Path = tmp_path_factory.mktemp("embedded")
    served = EmbeddedInThread(var_dir).start_system()
    try:
        yield System(served)
    finally:
        served.stop()
