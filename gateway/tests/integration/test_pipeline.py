"""The whole gateway pipeline against stand-in services (in-process, no sockets): a fake
iam-svc internal API with keys and policies the test controls, and an echo service that shows
what the gateway forwarded. Real kit pieces throughout (TC3, assertions, in-process bus)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from gateway.config import Settings
from gateway.main import Gateway, create_app
from gateway.upstreams import AsgiUpstream, HttpUpstream
from kit import tc3
from kit.identity import AssertionVerifier, Caller, current_caller, generate_keypair
from kit.messaging import InProcessBus, OutboundMessage, new_event
from kit.routes import Api3Action, Route

HOST = "gateway.test"
ROOT = ("AKIDroot", "root-key", "100001", None)
SUB = ("AKIDsub", "sub-key", "100001", "200001")
OTHER_ROOT = ("AKIDother", "other-key", "100002", None)
OPERATOR = ("AKIDop", "op-key", "900001", None)
OPERATOR_SUB = ("AKIDopsub", "op-sub-key", "900001", "900002")

ROUTES = [
    Route("GET", "/v1/items/{item_id}", "invoice", "invoice:DescribeItem",
          resource="qcs::invoice::uin/{uin}:item/{item_id}",
          api3=Api3Action("invoice", "2026-11-01", "DescribeItem")),
    Route("POST", "/v1/items", "invoice", "invoice:CreateItem",
          api3=Api3Action("invoice", "2026-11-01", "CreateItem")),
    Route("GET", "/v1/items", "invoice", "invoice:DescribeItems",
          api3=Api3Action("invoice", "2026-11-01", "DescribeItems")),
    Route("GET", "/v1/slow", "invoice", "invoice:Slow",
          api3=Api3Action("invoice", "2026-11-01", "Slow")),
    Route("GET", "/v1/review", "invoice", "invoice:ReviewReturns",
          callers=frozenset({"operator"})),
    Route("GET", "/v1/accounts/{owner_uin}/items", "invoice", "invoice:DescribeItems",
          resource="qcs::invoice::uin/{owner_uin}:item/*"),
    Route("GET", "/v1/down", "esign", "esign:Down"),
    Route("PUT", "/v1/operator/accounts/{target_uin}/amount", "invoice", "invoice:SetAmount",
          resource="qcs::invoice::uin/{target_uin}:record/*", callers=frozenset({"operator"})),
]

ALLOW_ITEMS = {"version": "2.0", "statement": [
    {"effect": "allow", "action": ["invoice:Describe*", "invoice:CreateItem"], "resource": "*"}]}
DENY_SECRET = {"version": "2.0", "statement": [
    {"effect": "deny", "action": "invoice:DescribeItem",
     "resource": "qcs::invoice::uin/100001:item/secret"}]}


@dataclass
class FakeIam:
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[tuple[str, str | None], list[dict[str, Any]]] = field(default_factory=dict)
    key_lookups: int = 0
    policy_lookups: int = 0
    down: bool = False

    def add_key(self, secret_id: str, secret_key: str, owner: str, sub: str | None,
                kind: str = "customer") -> None:
        self.keys[secret_id] = {"secret_id": secret_id, "secret_key": secret_key,
                                "status": "enabled", "owner_uin": owner, "sub_uin": sub,
                                "principal_kind": kind}

    def app(self, public_key: str) -> FastAPI:
        app = FastAPI()
        app.state.assertion_verifier = AssertionVerifier(public_key)

        def service_only(caller: Caller = Depends(current_caller)) -> Caller:
            if caller.kind != "service":
                raise HTTPException(403)
            return caller

        @app.get("/internal/v1/access-keys/{secret_id}")
        async def key(secret_id: str, _: Caller = Depends(service_only)) -> Response:
            self.key_lookups += 1
            if self.down:
                return Response(status_code=503)
            if secret_id not in self.keys:
                return JSONResponse({"code": "ResourceNotFound.AccessKey"}, status_code=404)
            return JSONResponse(self.keys[secret_id])

        @app.get("/internal/v1/principals/{owner_uin}/policies")
        async def policies(owner_uin: str, sub_uin: str | None = None,
                           _: Caller = Depends(service_only)) -> Response:
            self.policy_lookups += 1
            if self.down:
                return Response(status_code=503)
            docs = self.policies.get((owner_uin, sub_uin), [])
            return JSONResponse({"owner_uin": owner_uin, "sub_uin": sub_uin,
                                 "is_root": sub_uin is None,
                                 "policies": [{"policy_id": f"p{i}", "document": d}
                                              for i, d in enumerate(docs)]})

        return app


def echo_app(public_key: str, slow: asyncio.Event) -> FastAPI:
    app = FastAPI()
    app.state.assertion_verifier = AssertionVerifier(public_key)

    def show(request: Request, caller: Caller, body: Any = None) -> dict[str, Any]:
        return {"caller": {"kind": caller.kind, "uin": caller.uin, "sub_uin": caller.sub_uin,
                           "key_id": caller.key_id, "request_id": caller.request_id},
                "path": request.url.path, "query": request.url.query,
                "headers": {k: v for k, v in request.headers.items()
                            if k in ("x-request-id", "traceparent", "idempotency-key",
                                     "authorization", "x-forwarded-for", "content-type")},
                "body": body}

    @app.get("/v1/items/{item_id}")
    async def item(item_id: str, request: Request, caller: Caller = Depends(current_caller)):
        if item_id == "missing":
            return JSONResponse({"type": "about:blank", "status": 404, "detail": "no item",
                                 "code": "ResourceNotFound.Item"}, status_code=404,
                                media_type="application/problem+json")
        return {"item_id": item_id, **show(request, caller)}

    @app.post("/v1/items")
    async def create(request: Request, caller: Caller = Depends(current_caller)):
        return show(request, caller, orjson.loads(await request.body() or b"null"))

    @app.get("/v1/items")
    async def items(request: Request, caller: Caller = Depends(current_caller)):
        return show(request, caller)

    @app.get("/v1/accounts/{owner_uin}/items")
    async def account_items(request: Request, caller: Caller = Depends(current_caller)):
        return show(request, caller)

    @app.get("/v1/review")
    async def review(request: Request, caller: Caller = Depends(current_caller)):
        return show(request, caller)

    @app.put("/v1/operator/accounts/{target_uin}/amount")
    async def set_amount(request: Request, caller: Caller = Depends(current_caller)):
        return show(request, caller)

    @app.get("/v1/slow")
    async def slow_answer():
        await slow.wait()
        return {}

    from kit.errors import install_error_handlers

    install_error_handlers(app)
    return app


@dataclass
class Harness:
    gateway: Gateway
    client: httpx.AsyncClient
    iam: FakeIam
    bus: InProcessBus

    async def api3(self, credentials: tuple[str, ...], action: str, params: dict[str, Any] | None
                   = None, *, service: str = "invoice", version: str = "2026-11-01",
                   method: str = "POST", timestamp: int | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        from gateway.facade.params import to_query

        secret_id, secret_key = credentials[0], credentials[1]
        query = to_query(params or {}) if method == "GET" else ""
        body = b"" if method == "GET" else orjson.dumps(params or {})
        signed = tc3.build_signed_headers(secret_id, secret_key, service, HOST, action, version,
                                          body=body, method=method, query=query,
                                          timestamp=timestamp)
        return await self.client.request(method, "/" + (f"?{query}" if query else ""),
                                         content=body, headers={**signed, **(headers or {})})

    async def rest(self, credentials: tuple[str, ...], method: str, path: str, *,
                   query: str = "", body: bytes = b"", headers: dict[str, str] | None = None,
                   timestamp: int | None = None) -> httpx.Response:
        signed = tc3.build_signed_headers(credentials[0], credentials[1], "invoice", HOST,
                                          "Rest", "rest", body=body, method=method,
                                          path=path, query=query, timestamp=timestamp,
                                          content_type="application/json")
        url = path + (f"?{query}" if query else "")
        return await self.client.request(method, url, content=body,
                                         headers={**signed, **(headers or {})})

    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        """Publish as iam-svc would, and return once the gateway has applied it."""
        invalidator = self.gateway.state.invalidator
        target = invalidator.handled + 1
        event = new_event(event_type, source="/services/iam-svc", data=data)
        results = await self.bus.publish([OutboundMessage(event.id, event.routing_key,
                                                          event.to_json())])
        assert results == [None]
        await asyncio.wait_for(invalidator.handled_at_least(target), timeout=10)


@pytest_asyncio.fixture
async def harness() -> AsyncIterator[Harness]:
    private, public = generate_keypair()
    iam = FakeIam()
    for secret_id, secret_key, owner, sub in (ROOT, SUB, OTHER_ROOT):
        iam.add_key(secret_id, secret_key, owner, sub)
    iam.add_key(OPERATOR[0], OPERATOR[1], OPERATOR[2], None, kind="operator")
    iam.add_key(*OPERATOR_SUB, kind="operator")
    slow = asyncio.Event()
    bus = InProcessBus()
    await bus.connect()
    settings = Settings(assertion_private_key=private, rate_limit_rps=1000, rate_limit_burst=1000,
                        upstream_timeout_seconds=0.5, max_body_bytes=1024)
    upstreams = {"iam": AsgiUpstream(iam.app(public)),
                 "invoice": AsgiUpstream(echo_app(public, slow), timeout=0.5),
                 "esign": HttpUpstream("http://127.0.0.1:9", timeout=0.5)}
    gateway = create_app(settings, upstreams=upstreams, bus=bus, routes=ROUTES)
    async with gateway.lifespan():
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            yield Harness(gateway, client, iam, bus)
    slow.set()
    await upstreams["esign"].close()
    await bus.close()


def response_of(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    return answer.json()["Response"]


# --------------------------------------------------------------------------- authentication


async def test_api3_call_reaches_the_service_with_a_verified_identity(harness: Harness):
    response = response_of(await harness.api3(ROOT, "DescribeItem", {"ItemId": "i-1"}))
    assert response["ItemId"] == "i-1"
    assert response["Caller"] == {"Kind": "customer", "Uin": "100001", "SubUin": None,
                                  "KeyId": "AKIDroot", "RequestId": None}  # (reused assertion)
    assert response["Headers"]["X-request-id"] == response["RequestId"]
    assert response["Path"] == "/v1/items/i-1"
    assert "authorization" not in response["Headers"]


async def test_wrong_secret_key_is_signature_failure(harness: Harness):
    bad = (ROOT[0], "not-the-key")
    error = response_of(await harness.api3(bad, "DescribeItem", {"ItemId": "i"}))["Error"]
    assert error["Code"] == "AuthFailure.SignatureFailure"
    answer = await harness.rest(bad, "GET", "/invoice/v1/items/i")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "AuthFailure.SignatureFailure"


async def test_tampered_body_is_signature_failure(harness: Harness):
    signed = tc3.build_signed_headers(ROOT[0], ROOT[1], "invoice", HOST, "CreateItem",
                                      "2026-11-01", body=b'{"Name":"a"}')
    answer = await harness.client.post("/", content=b'{"Name":"b"}', headers=signed)
    assert response_of(answer)["Error"]["Code"] == "AuthFailure.SignatureFailure"


async def test_unknown_and_disabled_keys_are_secret_id_not_found(harness: Harness):
    error = response_of(await harness.api3(("AKIDnobody", "k"), "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.SecretIdNotFound"
    harness.iam.keys[SUB[0]]["status"] = "disabled"
    error = response_of(await harness.api3(SUB, "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.SecretIdNotFound"


async def test_expired_timestamp_is_refused_without_a_key_lookup(harness: Harness):
    old = int(time.time()) - 600
    error = response_of(await harness.api3(ROOT, "DescribeItems", timestamp=old))["Error"]
    assert error["Code"] == "AuthFailure.SignatureExpire"
    assert harness.iam.key_lookups == 0
    future = int(time.time()) + 301
    error = response_of(await harness.api3(ROOT, "DescribeItems", timestamp=future))["Error"]
    assert error["Code"] == "AuthFailure.SignatureExpire"


@pytest.mark.parametrize("authorization", [None, "Basic abc", "TC3-HMAC-SHA256 Credential=x"])
async def test_malformed_authorization(harness: Harness, authorization: str | None):
    headers = tc3.build_signed_headers(ROOT[0], ROOT[1], "invoice", HOST, "DescribeItems",
                                       "2026-11-01", body=b"{}")
    if authorization is None:
        del headers["Authorization"]
    else:
        headers["Authorization"] = authorization
    answer = await harness.client.post("/", content=b"{}", headers=headers)
    assert response_of(answer)["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


async def test_temporary_credentials_are_refused(harness: Harness):
    answer = await harness.api3(ROOT, "DescribeItems", headers={"X-TC-Token": "t"})
    assert response_of(answer)["Error"]["Code"] == "AuthFailure.TokenFailure"


async def test_keys_are_cached_and_invalidated_by_key_changed_events(harness: Harness):
    harness.iam.policies[(SUB[2], SUB[3])] = [ALLOW_ITEMS]
    for _ in range(3):
        assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))
    assert harness.iam.key_lookups == 1
    harness.iam.keys[SUB[0]]["status"] = "disabled"
    await harness.publish("billing.iam.key.changed.v1",
                          {"secret_id": SUB[0], "owner_uin": SUB[2], "sub_uin": SUB[3],
                           "change": "disabled"})
    error = response_of(await harness.api3(SUB, "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.SecretIdNotFound"


async def test_a_preset_policy_change_invalidates_every_account(harness: Harness):
    """iam-svc publishes preset changes with owner_uin null: they may be attached anywhere."""
    harness.iam.policies[(SUB[2], SUB[3])] = [ALLOW_ITEMS]
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))
    harness.iam.policies[(SUB[2], SUB[3])] = []
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))  # cached
    await harness.publish("billing.iam.policy.changed.v1",
                          {"owner_uin": None, "policy_id": "1", "change": "preset_updated"})
    error = response_of(await harness.api3(SUB, "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.UnauthorizedOperation"


async def test_an_invalid_invalidation_event_is_dead_lettered_and_the_next_one_applies(
        harness: Harness):
    results = await harness.bus.publish([OutboundMessage("bad-1", "iam.key.changed", b"{oops")])
    assert results == [None]
    await harness.publish("billing.iam.key.changed.v1",
                          {"secret_id": SUB[0], "owner_uin": SUB[2], "change": "disabled"})
    dead = harness.bus.dead_letters("gateway.cache-invalidation")
    assert [message.message_id for message, _ in dead] == ["bad-1"]


async def test_iam_unreachable_fails_closed(harness: Harness):
    harness.iam.policies[(SUB[2], SUB[3])] = [ALLOW_ITEMS]
    harness.iam.down = True
    answer = await harness.api3(SUB, "DescribeItems")
    assert response_of(answer)["Error"]["Code"] == "ResourceUnavailable"
    harness.iam.down = False
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))
    harness.iam.down = True  # the key is cached now; the policies are not fetchable
    harness.gateway.state.policies.clear()
    answer = await harness.api3(SUB, "DescribeItems")
    assert response_of(answer)["Error"]["Code"] == "ResourceUnavailable"


# --------------------------------------------------------------------------- authorization


async def test_cam_req_2_sub_user_without_policy_is_unauthorized_until_one_is_attached(
        harness: Harness):
    """CAM-REQ-2: no matching allow means deny; a new policy applies without a restart."""
    error = response_of(await harness.api3(SUB, "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.UnauthorizedOperation"
    assert "invoice:DescribeItems" in error["Message"]
    harness.iam.policies[(SUB[2], SUB[3])] = [ALLOW_ITEMS]
    await harness.publish("billing.iam.policy.changed.v1",
                          {"owner_uin": SUB[2], "policy_id": "p0", "change": "attached",
                           "sub_uin": SUB[3]})
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))


async def test_cam_req_2_explicit_deny_wins(harness: Harness):
    """CAM-REQ-2: an explicit deny beats an allow, on the resource built from the params."""
    harness.iam.policies[(SUB[2], SUB[3])] = [ALLOW_ITEMS, DENY_SECRET]
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItem", {"ItemId": "x"}))
    error = response_of(await harness.api3(SUB, "DescribeItem", {"ItemId": "secret"}))["Error"]
    assert error["Code"] == "AuthFailure.UnauthorizedOperation"
    assert "qcs::invoice::uin/100001:item/secret" in error["Message"]
    answer = await harness.rest(SUB, "GET", "/invoice/v1/items/secret")
    assert answer.status_code == 403
    assert answer.json()["code"] == "AuthFailure.UnauthorizedOperation"


async def test_cam_req_2_another_accounts_resource_is_denied_even_to_its_root(harness: Harness):
    """CAM-REQ-2: nobody, root included, touches another account's resources."""
    own = await harness.rest(ROOT, "GET", "/invoice/v1/accounts/100001/items")
    assert own.status_code == 200
    other = await harness.rest(ROOT, "GET", "/invoice/v1/accounts/100002/items")
    assert other.status_code == 403
    assert other.json()["code"] == "AuthFailure.UnauthorizedOperation"
    assert (await harness.rest(OTHER_ROOT, "GET", "/invoice/v1/accounts/100002/items")
            ).status_code == 200


async def test_cam_req_5_ip_condition_sees_the_client_address(harness: Harness):
    """CAM-REQ-5: qcs:ip is the client's address (httpx's ASGI transport says 127.0.0.1)."""
    only_from = {"version": "2.0", "statement": [{
        "effect": "allow", "action": "invoice:DescribeItems", "resource": "*",
        "condition": {"ip_equal": {"qcs:ip": ["10.0.0.0/8"]}}}]}
    harness.iam.policies[(SUB[2], SUB[3])] = [only_from]
    error = response_of(await harness.api3(SUB, "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.UnauthorizedOperation"
    only_from["statement"][0]["condition"] = {"ip_equal": {"qcs:ip": ["127.0.0.0/8"]}}
    harness.gateway.state.policies.clear()
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))


async def test_cam_req_5_time_condition_sees_the_current_time(harness: Harness):
    """CAM-REQ-5: qcs:current_time is always in the context."""
    expired = {"version": "2.0", "statement": [{
        "effect": "allow", "action": "invoice:DescribeItems", "resource": "*",
        "condition": {"date_less_than": {"qcs:current_time": "2020-01-01T00:00:00Z"}}}]}
    harness.iam.policies[(SUB[2], SUB[3])] = [expired]
    error = response_of(await harness.api3(SUB, "DescribeItems"))["Error"]
    assert error["Code"] == "AuthFailure.UnauthorizedOperation"
    expired["statement"][0]["condition"] = {
        "date_greater_than": {"qcs:current_time": "2020-01-01T00:00:00Z"}}
    harness.gateway.state.policies.clear()
    assert "Error" not in response_of(await harness.api3(SUB, "DescribeItems"))


async def test_routes_refuse_caller_kinds_they_are_not_for(harness: Harness):
    customer = await harness.rest(ROOT, "GET", "/invoice/v1/review")
    assert customer.status_code == 403 and customer.json()["code"] == "UnauthorizedOperation"
    operator = await harness.rest(OPERATOR, "GET", "/invoice/v1/review")
    assert operator.status_code == 200
    assert operator.json()["caller"]["kind"] == "operator"


async def test_operators_act_on_customer_accounts_as_their_policies_allow(harness: Harness):
    path = "/invoice/v1/operator/accounts/100001/amount"
    assert (await harness.rest(OPERATOR, "PUT", path)).status_code == 200  # operator root
    denied = await harness.rest(OPERATOR_SUB, "PUT", path)
    assert denied.status_code == 403
    assert denied.json()["code"] == "AuthFailure.UnauthorizedOperation"
    harness.iam.policies[(OPERATOR_SUB[2], OPERATOR_SUB[3])] = [{"version": "2.0", "statement": [
        {"effect": "allow", "action": "invoice:SetAmount",
         "resource": "qcs::invoice::uin/100001:record/*"}]}]
    harness.gateway.state.policies.clear()
    assert (await harness.rest(OPERATOR_SUB, "PUT", path)).status_code == 200
    other = await harness.rest(OPERATOR_SUB, "PUT", "/invoice/v1/operator/accounts/100002/amount")
    assert other.status_code == 403  # only the account its policy names
    customer = await harness.rest(ROOT, "PUT", path)
    assert customer.status_code == 403 and customer.json()["code"] == "UnauthorizedOperation"


# --------------------------------------------------------------------------- facade


async def test_get_with_flattened_parameters(harness: Harness):
    params = {"Filters": [{"Name": "status", "Values": ["a", "b c"]}], "Limit": 5}
    response = response_of(await harness.api3(ROOT, "DescribeItems", params, method="GET"))
    assert response["Path"] == "/v1/items"
    assert response["Query"].startswith("filters=")
    assert "limit=5" in response["Query"]


async def test_post_body_becomes_snake_case_with_client_token_header(harness: Harness):
    response = response_of(await harness.api3(
        ROOT, "CreateItem", {"ItemName": "x", "ClientToken": "tok-1"}))
    assert response["Body"] == {"ItemName": "x"}  # snake_case at the service, Pascal back
    assert response["Headers"]["Idempotency-key"] == "tok-1"  # (a header name)


async def test_facade_errors(harness: Harness):
    cases = [("NoSuchAction", "2026-11-01", "InvalidAction"),
             ("DescribeItems", "2017-01-01", "NoSuchVersion")]
    for action, version, code in cases:
        error = response_of(await harness.api3(ROOT, action, version=version))["Error"]
        assert error["Code"] == code
    error = response_of(await harness.api3(ROOT, "DescribeItem", {}))["Error"]
    assert error["Code"] == "MissingParameter" and "ItemId" in error["Message"]
    error = response_of(await harness.api3(ROOT, "DescribeItem", {"ItemId": "missing"}))["Error"]
    assert error == {"Code": "ResourceNotFound.Item", "Message": "no item"}


# --------------------------------------------------------------------------- operations


async def test_request_id_and_traceparent_reach_the_service_and_the_answer(harness: Harness):
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    answer = await harness.rest(ROOT, "GET", "/invoice/v1/items/i-1",
                                headers={"traceparent": trace, "X-Request-Id": "req-42"})
    assert answer.status_code == 200
    body = answer.json()
    assert answer.headers["x-request-id"] == "req-42"
    assert body["headers"]["x-request-id"] == "req-42"
    assert body["headers"]["traceparent"] == trace
    fresh = await harness.rest(ROOT, "GET", "/invoice/v1/items/i-1")
    rid = fresh.headers["x-request-id"]
    assert fresh.json()["headers"]["x-request-id"] == rid
    assert fresh.json()["headers"]["traceparent"].startswith("00-")
    api3 = await harness.api3(ROOT, "DescribeItems")
    assert response_of(api3)["RequestId"] == api3.headers["x-request-id"]


async def test_a_forged_assertion_from_the_client_is_never_forwarded(harness: Harness):
    forged = "eyJhbGciOiJFZERTQSJ9.e30.AAAA"
    answer = await harness.rest(ROOT, "GET", "/invoice/v1/items/i-1",
                                headers={"X-Caller-Assertion": forged})
    assert answer.status_code == 200
    assert answer.json()["caller"]["uin"] == "100001"


async def test_rest_passthrough_keeps_query_body_and_status(harness: Harness):
    answer = await harness.rest(ROOT, "POST", "/invoice/v1/items", body=b'{"item_name":"x"}')
    assert answer.status_code == 200
    assert answer.json()["body"] == {"item_name": "x"}
    listed = await harness.rest(ROOT, "GET", "/invoice/v1/items", query="limit=2&x=%20y")
    assert listed.json()["query"] == "limit=2&x=%20y"
    missing = await harness.rest(ROOT, "GET", "/invoice/v1/items/missing")
    assert missing.status_code == 404
    assert missing.json()["code"] == "ResourceNotFound.Item"
    unknown = await harness.rest(ROOT, "GET", "/invoice/v1/nothing")
    assert unknown.status_code == 404 and unknown.json()["code"] == "InvalidAction"


async def test_rate_limit_answers_request_limit_exceeded(harness: Harness):
    from gateway.rate_limit import RateLimiter

    harness.gateway.proxy.limiter = RateLimiter(rate=0.001, burst=2)
    codes = [response_of(await harness.api3(ROOT, "DescribeItems")).get("Error", {}).get("Code")
             for _ in range(3)]
    assert codes == [None, None, "RequestLimitExceeded"]
    other_key = response_of(await harness.api3(OTHER_ROOT, "DescribeItems"))
    assert "Error" not in other_key  # every SecretId has its own bucket
    answer = await harness.rest(ROOT, "GET", "/invoice/v1/items")
    assert answer.status_code == 429 and answer.json()["code"] == "RequestLimitExceeded"


async def test_request_size_limit(harness: Harness):
    big = orjson.dumps({"Name": "x" * 2000})
    error = response_of(await harness.api3(ROOT, "CreateItem", {"Name": "x" * 2000}))["Error"]
    assert error["Code"] == "RequestSizeLimitExceeded"
    answer = await harness.rest(ROOT, "POST", "/invoice/v1/items", body=big)
    assert answer.status_code == 413


async def test_slow_and_unreachable_upstreams_answer_quickly(harness: Harness):
    started = time.perf_counter()
    error = response_of(await harness.api3(ROOT, "Slow"))["Error"]
    assert error["Code"] == "InternalError"
    slow = await harness.rest(ROOT, "GET", "/invoice/v1/slow")
    assert slow.status_code == 504 and slow.json()["requestId"] == slow.headers["x-request-id"]
    down = await harness.rest(ROOT, "GET", "/esign/v1/down")
    assert down.status_code == 503 and down.json()["code"] == "ResourceUnavailable"
    assert time.perf_counter() - started < 5
