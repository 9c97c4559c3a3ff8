"""The request path: a bare ASGI callable (no framework routing on the hot path).

For every API call, in order: request id and trace context, size limit, TC3 authentication,
per-SecretId rate limit, route (REST ``/{service}{path}`` or the API 3.0 facade at ``/``),
caller kind, CAM authorization, then the call to the service with a signed identity
assertion. REST bodies pass through as bytes in both directions (never parsed); the facade
translates parameters and answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from kit.http import VALID_REQUEST_ID
from kit.identity import HEADER as ASSERTION_HEADER
from kit.ids import uuid7
from kit.logging import request_id_var, uin_var
from kit.routes import Route
from prometheus_client import CollectorRegistry, Histogram
from starlette.types import Receive, Scope, Send

from gateway.assertions import Assertions
from gateway.auth import Authenticator
from gateway.authorization import Authorizer
from gateway.errors import Answer, GatewayError, api3_error, rest_error
from gateway.facade import api3
from gateway.facade.params import snake_to_pascal
from gateway.iam_client import AccessKey
from gateway.rate_limit import RateLimiter
from gateway.routes_table import RouteTable
from gateway.upstreams import Upstream, UpstreamTimeout, UpstreamUnavailable, strip_hop_by_hop

log = logging.getLogger("gateway.proxy")


_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_NOT_FORWARDED = frozenset({
    b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
    b"proxy-authorization", b"proxy-authenticate", b"host", b"content-length",
    b"authorization", ASSERTION_HEADER.encode(), b"x-request-id", b"traceparent",
    b"x-forwarded-for",
})


_BODY_UNREAD = frozenset({"RequestTimeout", "RequestSizeLimitExceeded"})

# Headers that must come once: the gateway reads one value, and another may be forwarded.
_SINGLE = frozenset({"authorization", "host", "content-type", "content-length",
                     "transfer-encoding", "idempotency-key"})


def _repeated(raw: list[tuple[bytes, bytes]]) -> frozenset[str]:
    seen: set[bytes] = set()
    repeated: set[str] = set()
    for name, _ in raw:
        if name in seen:
            repeated.add(name.decode("latin-1"))
        seen.add(name)
    return frozenset(repeated)


class ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class Proxy:
    def __init__(self, *, table: RouteTable, authenticator: Authenticator,
                 authorizer: Authorizer, limiter: RateLimiter, assertions: Assertions,
                 upstreams: Mapping[str, Upstream], registry: CollectorRegistry,
                 max_body_bytes: int = 1024 * 1024, trust_forwarded_for: bool = False,
                 access_log: str = "errors", body_timeout: float = 30.0) -> None:
        self.table = table
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.limiter = limiter
        self.assertions = assertions
        self.signer = assertions.signer
        self.upstreams = upstreams
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.trust_forwarded_for = trust_forwarded_for
        self.access_log = access_log
        self.registry = registry
        self.latency = Histogram(
            "gateway_request_duration_seconds", "Gateway request latency, upstream included",
            ["style", "service", "outcome"], registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self._latency_children: dict[tuple[str, str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id")
        rid = incoming if incoming and VALID_REQUEST_ID.fullmatch(incoming) else str(uuid7())
        rid_token = request_id_var.set(rid)
        uin_token = uin_var.set(None)
        is_api3 = scope["path"] == "/"
        info: dict[str, object] = {}
        try:
            try:
                body = await self._read_body(receive, headers)
                if is_api3:
                    answer = await self._api3(scope, headers, body, rid, info)
                else:
                    answer = await self._rest(scope, headers, body, rid, info)
            except GatewayError as exc:
                info["outcome"] = exc.code
                answer = (api3_error(exc.code, exc.message, rid) if is_api3
                          else rest_error(exc.code, exc.message, rid, exc.status))
                if exc.code in _BODY_UNREAD:  # what is left of it must not be a next request
                    answer.headers.append((b"connection", b"close"))
            except ClientGone:
                return
            except Exception:
                log.exception("gateway failure")
                info["outcome"] = "InternalError"
                message = "Internal error; quote the RequestId to support."
                answer = (api3_error("InternalError", message, rid) if is_api3
                          else rest_error("InternalError", message, rid))
            await send({"type": "http.response.start", "status": answer.status,
                        "headers": [*answer.headers,
                                    (b"content-length", str(len(answer.body)).encode()),
                                    (b"x-request-id", rid.encode())]})
            await send({"type": "http.response.body", "body": answer.body})
            self._record(scope, is_api3, answer.status, info, time.perf_counter() - started)
        finally:
            uin_var.reset(uin_token)
            request_id_var.reset(rid_token)

    # ----------------------------------------------------------------------------- styles

    async def _rest(self, scope: Scope, headers: dict[str, str], body: bytes, rid: str,
                    info: dict[str, object]) -> Answer:
        method: str = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        raw_query = scope["query_string"].decode("latin-1")
        key = await self._authenticate(scope, method, raw_path, raw_query, headers, body,
                                       info)
        match = self.table.match_rest(method, raw_path)
        route = match.route
        info["service"], info["action"] = route.service, route.action
        values: Mapping[str, object] = match.path_params
        if self.table.resource_needs_query(route):
            values = {**dict(parse_qsl(raw_query, keep_blank_values=True)), **values}
        resource = self.table.resource(route, key.owner_uin, values)
        await self.authorizer.authorize(key, route, resource, self._client_ip(scope, headers))
        forwarded = [(k, v) for k, v in scope["headers"] if k not in _NOT_FORWARDED
                     and not k.startswith(b"x-tc-")]
        response = await self._call(route, key, scope, headers, rid, method, match.upstream_path,
                                    scope["query_string"], forwarded, body)
        info["outcome"] = response.status
        out = [(k, v) for k, v in strip_hop_by_hop(response.headers) if k != b"x-request-id"]
        return Answer(response.status, out, response.body)

    async def _api3(self, scope: Scope, headers: dict[str, str], body: bytes, rid: str,
                    info: dict[str, object]) -> Answer:
        method: str = scope["method"]
        if method not in ("GET", "POST"):
            raise GatewayError("UnsupportedOperation", "API 3.0 calls use GET or POST.")
        raw_query = scope["query_string"].decode("latin-1")
        key = await self._authenticate(scope, method, "/", raw_query, headers, body, info)
        service = str(info["scope_service"])
        route = self.table.match_api3(service, headers.get("x-tc-version"),
                                      headers.get("x-tc-action"))
        info["service"], info["action"] = route.service, route.action
        if method == "POST":
            api3.check_content_type(headers.get("content-type"))
        call, values = api3.build_call(route, api3.read_params(method, raw_query, body))
        resource = self.table.resource(route, key.owner_uin, values, display=snake_to_pascal)
        await self.authorizer.authorize(key, route, resource, self._client_ip(scope, headers))
        response = await self._call(route, key, scope, headers, rid, call.method, call.path,
                                    call.query, call.headers, call.body)
        answer = api3.answer(response.status, response.headers, response.body, rid)
        info["outcome"] = response.status
        return answer

    # ----------------------------------------------------------------------------- steps

    async def _read_body(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise GatewayError("RequestSizeLimitExceeded", f"The request body exceeds "
                               f"{self.max_body_bytes} bytes.")
        if declared == "0" or (declared is None and "transfer-encoding" not in headers):
            return await self._receive_body(receive)  # already complete: no timer needed
        try:
            async with asyncio.timeout(self.body_timeout):
                return await self._receive_body(receive)
        except TimeoutError:
            raise GatewayError("RequestTimeout", f"The request body did not arrive within "
                               f"{self.body_timeout:g} s.") from None

    async def _receive_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise GatewayError("RequestSizeLimitExceeded", f"The request body exceeds "
                                   f"{self.max_body_bytes} bytes.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _authenticate(self, scope: Scope, method: str, raw_path: str, raw_query: str,
                            headers: Mapping[str, str], body: bytes,
                            info: dict[str, object]) -> AccessKey:
        repeated = (_repeated(scope["headers"]) if len(headers) != len(scope["headers"])
                    else frozenset())
        if "authorization" in repeated:
            raise GatewayError("AuthFailure.InvalidAuthorization",
                               "The Authorization header is given more than once.")
        key, parsed = await self.authenticator.authenticate(
            method, raw_path, raw_query, headers, body, int(time.time()))
        if repeated:
            # Verified with the last value, read by a service as the first: one value only.
            for name in sorted(repeated):
                if name in _SINGLE or name.startswith("x-tc-") or name in parsed.signed_headers:
                    raise GatewayError("InvalidParameter",
                                       f"The header `{name}` is given more than once.")
        info["secret_id"], info["scope_service"] = key.secret_id, parsed.service
        uin_var.set(key.owner_uin)
        if not self.limiter.allow(key.secret_id):
            raise GatewayError("RequestLimitExceeded", "Too many requests for this SecretId; "
                               "retry with backoff.")
        return key

    def _client_ip(self, scope: Scope, headers: Mapping[str, str]) -> str:
        if self.trust_forwarded_for:
            forwarded = headers.get("x-forwarded-for")
            if forwarded:  # the last hop is the one our ingress added
                return forwarded.rsplit(",", 1)[-1].strip()
        client = scope.get("client")
        return client[0] if client else ""

    async def _call(self, route: Route, key: AccessKey, scope: Scope, headers: Mapping[str, str],
                    rid: str, method: str, path: str, query: bytes,
                    forward: list[tuple[bytes, bytes]], body: bytes):  # type: ignore[no-untyped-def]
        upstream = self.upstreams.get(route.service)
        if upstream is None:
            raise GatewayError("ResourceUnavailable", f"The service {route.service} is not "
                               "configured.")
        forward = [*forward,
                   (ASSERTION_HEADER.encode(), self.assertions.for_key(key, rid)),
                   (b"x-request-id", rid.encode()),
                   (b"traceparent", _traceparent(headers.get("traceparent")).encode()),
                   (b"x-forwarded-for", self._client_ip(scope, headers).encode())]
        try:
            return await upstream.request(method, path, query=query, headers=forward, body=body)
        except UpstreamTimeout:
            raise GatewayError("InternalError", f"The service {route.service} did not answer "
                               "in time.", status=504) from None
        except UpstreamUnavailable:
            raise GatewayError("ResourceUnavailable", f"The service {route.service} is "
                               "unreachable.") from None

    def _record(self, scope: Scope, is_api3: bool, status: int, info: dict[str, object],
                elapsed: float) -> None:
        outcome = str(info.get("outcome", status))
        style = "api3" if is_api3 else "rest"
        labels = (style, str(info.get("service", "-")), outcome)
        child = self._latency_children.get(labels)
        if child is None:
            child = self._latency_children[labels] = self.latency.labels(*labels)
        child.observe(elapsed)
        if self.access_log == "all" or (self.access_log == "errors" and (
                status >= 400 or not outcome.isdigit() or int(outcome) >= 400)):
            log.info("request", extra={
                "style": style, "method": scope["method"], "path": scope["path"],
                "action": info.get("action"), "secret_id": info.get("secret_id"),
                "status": status, "outcome": outcome, "ms": round(elapsed * 1000, 2)})


def _traceparent(incoming: str | None) -> str:
    """The caller's W3C trace context when well formed, else a new trace."""
    if incoming and _TRACEPARENT.fullmatch(incoming):
        return incoming
    ids = os.urandom(24).hex()
    return f"00-{ids[:32]}-{ids[32:]}-01"
