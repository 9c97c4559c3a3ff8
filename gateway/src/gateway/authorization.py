"""Authorization: each route's CAM action on its resource, decided locally from a cached copy
of the caller's compiled policies (iam_svc.policies, pure), invalidated per account by
``iam.policy.changed``. Fail closed: no policies, no access.

Customers never reach another account (the evaluator refuses it, root included). Operators
(the provider's staff, on routes open to operators only) act on customers' accounts by
nature: their decision is made as if they stood in the resource's account, so an operator
root may do all there and an operator sub-user what its policies allow.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from iam_svc.policies import CallerPolicies, Principal, Request
from kit.routes import Route

from gateway.cache import TtlCache
from gateway.errors import GatewayError
from gateway.iam_client import AccessKey, IamUnavailable

PolicyKey = tuple[str, str | None]  # (owner_uin, sub_uin)


class Authorizer:
    def __init__(self, policies: TtlCache[PolicyKey, CallerPolicies]) -> None:
        self.policies = policies

    def invalidate_account(self, owner_uin: str) -> None:
        """Group and policy changes reach many users: drop every cached copy of the account."""
        self.policies.invalidate_where(lambda key: key[0] == owner_uin)

    def invalidate_all(self) -> None:
        """A preset policy changed: it may be attached anywhere."""
        self.policies.clear()

    async def caller_policies(self, key: AccessKey) -> CallerPolicies:
        if key.sub_uin is None:  # the root may do everything in its own account
            return CallerPolicies(Principal(key.owner_uin), ())
        try:
            return await self.policies.get((key.owner_uin, key.sub_uin))
        except IamUnavailable as exc:
            raise GatewayError("ResourceUnavailable", "The authorization service is "
                               "unavailable; the request was not allowed.") from exc

    async def authorize(self, key: AccessKey, route: Route, resource: str,
                        client_ip: str) -> None:
        """Raise ``GatewayError`` unless the caller may perform ``route`` on ``resource``."""
        if key.principal_kind not in route.callers:
            raise GatewayError("UnauthorizedOperation", f"The operation {route.action} is not "
                               f"open to {key.principal_kind} credentials.")
        policies = await self.caller_policies(key)
        if key.principal_kind == "operator":
            policies = _standing_in(_account_of(resource), policies)
        context = {"qcs:ip": client_ip, "qcs:current_time": _current_time()}
        decision = policies.decide(Request(route.action, resource, context))
        if not decision.allowed:
            raise GatewayError("AuthFailure.UnauthorizedOperation",
                               f"You are not authorized to perform operation ({route.action}) "
                               f"on resource ({resource}).")


def _account_of(resource: str) -> str | None:
    segments = resource.split(":", 5)
    if len(segments) == 6 and segments[4].startswith("uin/"):
        return segments[4][4:]
    return None


def _standing_in(owner_uin: str | None, policies: CallerPolicies) -> CallerPolicies:
    principal = policies.principal
    if owner_uin is None or owner_uin == principal.owner_uin:
        return policies
    return CallerPolicies(Principal(owner_uin, principal.sub_uin), policies.policies)


_clock: list[object] = [0, ""]  # (second, its ISO 8601 text): formatted once per second


def _current_time() -> str:
    second = int(time.time())
    if _clock[0] != second:
        _clock[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    return str(_clock[1])
