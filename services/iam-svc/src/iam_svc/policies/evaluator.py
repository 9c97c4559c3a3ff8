"""CAM decisions for one caller (reference: tencent-api-cam.md §2.3, REQUIREMENTS CAM-REQ-2).

Order of checks, first that applies wins:

1. The request's resource must be a six-segment ``qcs:...`` string, else deny.
2. Its account segment must be the caller's own root account ``uin/<owner_uin>``, else deny:
   nobody, root included, reaches another account's resources, whatever the policies say.
3. The root account may do everything in its own account.
4. A matching ``deny`` statement in any attached policy denies (explicit deny wins).
5. A matching ``allow`` statement allows.
6. Otherwise deny (default deny).

A statement matches when its action pattern matches, its resource pattern matches and its
condition holds on the request context.

Use: the gateway builds ``CallerPolicies(principal, policies)`` once per caller and policy
version (it binds policy variables and indexes statements), caches it, and calls ``.decide()``
for each request. ``decide(principal, policies, request)`` does both steps for one-off use.

Operation-level actions (授权粒度 操作级, every contract action per CAM-REQ-3) are not
authorised by statements limited to specific resources. To get that, build their request
resource with ``*`` as the resource segment (``resource_name(..., "*")``): only statements whose
resource pattern covers everything then match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from iam_svc.policies.conditions import ConditionBlock
from iam_svc.policies.document import CompiledPolicy, CompiledStatement

_EMPTY_CONTEXT: Final[Mapping[str, object]] = MappingProxyType({})
_ACTION_CACHE_LIMIT: Final = 2048


class Reason:
    """Why a decision came out as it did (``Decision.reason``)."""

    ROOT_ACCOUNT: Final = "root_account"
    EXPLICIT_DENY: Final = "explicit_deny"
    EXPLICIT_ALLOW: Final = "explicit_allow"
    NO_MATCHING_ALLOW: Final = "no_matching_allow"
    CROSS_ACCOUNT: Final = "cross_account"
    INVALID_RESOURCE: Final = "invalid_resource"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a root account (``sub_uin is None``) or one of its sub-users."""

    owner_uin: str
    sub_uin: str | None = None
    app_id: str | None = None

    @property
    def is_root(self) -> bool:
        return self.sub_uin is None

    @property
    def uin(self) -> str:
        """The caller's own UIN (``${uin}``): the sub-user's, or the root's."""
        return self.owner_uin if self.sub_uin is None else self.sub_uin

    @property
    def account(self) -> str:
        """The account segment of this caller's own resources."""
        return f"uin/{self.owner_uin}"

    def variables(self) -> dict[str, str | None]:
        return {"uin": self.uin, "owner_uin": self.owner_uin, "app_id": self.app_id}


@dataclass(frozen=True, slots=True)
class Request:
    """One API call to authorise. ``context`` holds condition keys such as ``qcs:ip`` and
    ``qcs:current_time`` (ISO 8601 string, epoch seconds or an aware ``datetime``)."""

    action: str  # "contract:GetContractList"
    resource: str  # "qcs::contract:ap-guangzhou:uin/100001:contract/QC-1"
    context: Mapping[str, object] = field(default_factory=lambda: _EMPTY_CONTEXT)


@dataclass(frozen=True, slots=True)
class StatementRef:
    """Which statement decided: the policy's id and the statement's 0-based index."""

    policy_id: str
    statement_index: int
    effect: str


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    matched_statement: StatementRef | None = None

    def __bool__(self) -> bool:
        return self.allowed


ROOT_DECISION: Final = Decision(True, Reason.ROOT_ACCOUNT)
IMPLICIT_DENY: Final = Decision(False, Reason.NO_MATCHING_ALLOW)
CROSS_ACCOUNT_DENY: Final = Decision(False, Reason.CROSS_ACCOUNT)
INVALID_RESOURCE_DENY: Final = Decision(False, Reason.INVALID_RESOURCE)


def resource_name(service: str, owner_uin: str, resource: str, region: str = "") -> str:
    """Build a request resource: ``qcs::<service>:<region>:uin/<owner_uin>:<resource>``."""
    return f"qcs::{service}:{region}:uin/{owner_uin}:{resource}"


# A statement bound to one caller: (the resource regex's fullmatch, or None for every resource;
# the condition or None; the decision to return when it matches).
_BoundStatement = tuple[
    Callable[[str], "re.Match[str] | None"] | None, ConditionBlock | None, Decision
]

_Candidates = tuple[tuple[_BoundStatement, ...], tuple[_BoundStatement, ...]]  # (denies, allows)


class CallerPolicies:
    """One caller's attached policies, bound and indexed for fast decisions.

    Immutable from the outside; it memoises, per action name, which statements can apply
    (bounded, thread-safe under the GIL since entries are only ever added whole).
    """

    __slots__ = ("_account", "_by_action", "_is_root", "_statements", "policies", "principal")

    def __init__(self, principal: Principal, policies: Iterable[CompiledPolicy]) -> None:
        self.principal = principal
        self.policies: tuple[CompiledPolicy, ...] = tuple(policies)
        self._account = principal.account
        self._is_root = principal.is_root
        variables = principal.variables()
        statements: list[tuple[CompiledStatement, _BoundStatement]] = []
        for policy in self.policies:
            for statement in policy.statements:
                statements.append((statement, _bind(policy, statement, variables)))
        self._statements = tuple(statements)
        self._by_action: dict[str, _Candidates] = {}

    def _candidates(self, action: str) -> _Candidates:
        denies: list[_BoundStatement] = []
        allows: list[_BoundStatement] = []
        for statement, bound in self._statements:
            if statement.matches_action(action):
                (denies if statement.effect == "deny" else allows).append(bound)
        candidates = (tuple(denies), tuple(allows))
        if len(self._by_action) >= _ACTION_CACHE_LIMIT:
            self._by_action.clear()
        self._by_action[action] = candidates
        return candidates

    def decide(self, request: Request) -> Decision:
        resource = request.resource
        segments = resource.split(":", 5)
        if len(segments) != 6 or segments[0] != "qcs" or not segments[5]:
            return INVALID_RESOURCE_DENY
        if segments[4] != self._account:
            return CROSS_ACCOUNT_DENY
        if self._is_root:
            return ROOT_DECISION
        candidates = self._by_action.get(request.action)
        if candidates is None:
            candidates = self._candidates(request.action)
        denies, allows = candidates
        context = request.context
        for match, condition, decision in denies:  # explicit deny wins: check denies first
            if (match is None or match(resource) is not None) and (
                condition is None or condition.matches(context)
            ):
                return decision
        for match, condition, decision in allows:
            if (match is None or match(resource) is not None) and (
                condition is None or condition.matches(context)
            ):
                return decision
        return IMPLICIT_DENY


def _bind(
    policy: CompiledPolicy, statement: CompiledStatement, variables: Mapping[str, str | None]
) -> _BoundStatement:
    regex = statement.bind_resource_regex(variables)
    condition = statement.condition
    if condition is not None:
        condition = condition.bind(variables)
    reason = Reason.EXPLICIT_DENY if statement.effect == "deny" else Reason.EXPLICIT_ALLOW
    ref = StatementRef(policy.policy_id, statement.index, statement.effect)
    decision = Decision(statement.effect == "allow", reason, ref)
    return (None if regex is None else regex.fullmatch, condition, decision)


def decide(
    principal: Principal,
    policies: CallerPolicies | Iterable[CompiledPolicy],
    request: Request,
) -> Decision:
    """Decide one request. Pass a cached ``CallerPolicies`` for speed."""
    if not isinstance(policies, CallerPolicies):
        policies = CallerPolicies(principal, policies)
    elif policies.principal != principal:
        raise ValueError("CallerPolicies were bound to a different principal")
    return policies.decide(request)
