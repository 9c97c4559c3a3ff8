"""iam-svc's internal API as the gateway uses it: access keys and a principal's policies.

Every call carries an assertion of kind ``service`` signed by the gateway itself. Anything but
a clear answer (unreachable, slow, 5xx, malformed) raises :class:`IamUnavailable`, and the
gateway then refuses the request: it fails closed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode

from iam_svc.policies import CallerPolicies, PolicyDocumentError, Principal, parse_policy
from kit import jsonutil
from kit.identity import HEADER as ASSERTION_HEADER
from kit.identity import AssertionSigner, Caller
from kit.logging import current_request_id

from gateway.upstreams import Upstream, UpstreamUnavailable


class IamUnavailable(Exception):
    """iam-svc gave no usable answer; callers must deny."""


@dataclass(frozen=True, slots=True)
class AccessKey:
    secret_id: str
    secret_key: str
    enabled: bool
    owner_uin: str
    sub_uin: str | None
    principal_kind: Literal["customer", "operator"]


class IamClient:
    def __init__(self, upstream: Upstream, signer: AssertionSigner, *,
                 timeout: float = 2.0) -> None:
        self.upstream = upstream
        self.signer = signer
        self.timeout = timeout

    async def _get(self, path: str, query: str = "") -> tuple[int, Any]:
        rid = current_request_id()
        assertion = self.signer.sign(Caller(kind="service", uin=None, request_id=rid))
        headers = [(ASSERTION_HEADER.encode(), assertion.encode()),
                   (b"accept", b"application/json")]
        if rid:
            headers.append((b"x-request-id", rid.encode()))
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self.upstream.request("GET", path, query=query.encode(),
                                                     headers=headers)
        except (UpstreamUnavailable, TimeoutError) as exc:
            raise IamUnavailable(f"iam-svc unreachable: {type(exc).__name__}: {exc}") from exc
        if answer.status in (400, 404):  # e.g. a SecretId iam-svc does not even accept
            return answer.status, None
        if answer.status != 200:
            raise IamUnavailable(f"iam-svc answered {answer.status} on {path}")
        try:
            return 200, jsonutil.loads(answer.body)
        except ValueError as exc:
            raise IamUnavailable(f"iam-svc answered malformed JSON on {path}") from exc

    async def access_key(self, secret_id: str) -> AccessKey | None:
        """The key, or ``None`` when iam-svc does not know it."""
        status, data = await self._get(f"/internal/v1/access-keys/{quote(secret_id, safe='')}")
        if status != 200:
            return None
        try:
            kind = data["principal_kind"]
            if kind not in ("customer", "operator"):
                raise ValueError(f"unknown principal kind {kind!r}")
            return AccessKey(
                secret_id=str(data["secret_id"]), secret_key=str(data["secret_key"]),
                enabled=data["status"] == "enabled", owner_uin=str(data["owner_uin"]),
                sub_uin=None if data.get("sub_uin") is None else str(data["sub_uin"]),
                principal_kind=kind,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IamUnavailable(f"iam-svc answered an unexpected access key: {exc}") from exc

    async def caller_policies(self, principal: Principal) -> CallerPolicies:
        """The principal's compiled policies. One policy that does not compile fails the
        whole load: dropping it could drop a deny."""
        query = urlencode({"sub_uin": principal.sub_uin}) if principal.sub_uin else ""
        status, data = await self._get(
            f"/internal/v1/principals/{quote(principal.owner_uin, safe='')}/policies", query)
        if status == 404:  # the account or sub-user is gone: nothing is allowed
            return CallerPolicies(principal, ())
        if status != 200:
            raise IamUnavailable(f"iam-svc refused the policy lookup ({status})")
        try:
            compiled = [parse_policy(p["document"], policy_id=str(p["policy_id"]))
                        for p in data["policies"]]
        except (KeyError, TypeError, PolicyDocumentError) as exc:
            raise IamUnavailable(f"iam-svc answered an unusable policy: {exc}") from exc
        return CallerPolicies(principal, compiled)
