"""Property-based checks of the CAM evaluator against the naive reference (naive_cam.py)."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from iam_svc.policies import (
    CONTRACT_ACTIONS,
    INVOICE_ACTIONS,
    CallerPolicies,
    Principal,
    Reason,
    Request,
    decide,
    parse_policy,
)
from iam_svc.policies.conditions import like_pattern_regex


def _load_naive_cam():  # type: ignore[no-untyped-def]
    """Load naive_cam.py from next to this file (works under --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location(
        "naive_cam", Path(__file__).with_name("naive_cam.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_naive_cam = _load_naive_cam()
glob = _naive_cam.glob
naive_decide = _naive_cam.naive_decide

OWNER = "100001"
OTHER_OWNER = "100002"
SUBS = ("200001", "200002")

CATALOGUE = (*CONTRACT_ACTIONS, *INVOICE_ACTIONS, "billing:DescribeBillList", "cvm:RunInstances")

ACTION_PATTERNS = (
    "*",
    "contract:*",
    "invoice:*",
    "contract:Get*",
    "contract:Apply*Contract",
    "invoice:Describe*",
    "invoice:*Invoice*",
    "*:Describe*",
    "c*:Get*",
    "name/contract:GetPdfData",
    "contract:*Contract*",
    *CATALOGUE,
)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Building blocks, shared by the hypothesis strategies and the seeded random workload.
SERVICES = ("contract", "invoice", "", "*", "c*")
REGIONS = ("", "ap-guangzhou", "ap-*", "*", "ap-beijing")
ACCOUNTS = ("", "uin/100001", "uin/${owner_uin}", "uin/*", "*", "uin/100002", "uin/1000*")
RESOURCE_NAMES = (
    "*",
    "contract/*",
    "contract/QC-1",
    "contract/QC-1*",
    "invoice/*",
    "invoice/INV-?",
    "folder/${uin}/*",
    "*/QC-1",
    "contract/*/x",
    "bucket-${app_id}/*",
    "c*:*",
)
REQUEST_NAMES = (
    "*",
    "contract/QC-1",
    "contract/QC-12",
    "invoice/INV-1",
    "invoice/INV-12",
    f"folder/{SUBS[0]}/QC-1",
    f"folder/{SUBS[1]}/x",
    "bucket-125/a",
    "contract/a/x",
    "c:d",
)
CONTEXT_VALUES: dict[str, tuple[object, ...]] = {
    "qcs:ip": ("10.1.2.3", "192.168.1.7", "8.8.8.8", "172.20.0.1", "bogus"),
    "qcs:current_time": (
        "2025-12-31T23:59:59Z",
        "2026-03-01T00:00:00Z",
        "2026-07-01 00:00:00",
        1767225600,
    ),
    "qcs:create_uin": (*SUBS, OWNER, "0"),
    "tag": ("env&prod", "team&fin", "team&fun", "other"),
    "amount": ("999.99", 1000, "1000.01", "lots"),
    "mfa": (True, False, "true", "0"),
    "tags": ((), ("a",), ("a", "b"), ("c", "a", "b"), ("b", "c")),
}

# --- strategies --------------------------------------------------------------------------------

services = st.sampled_from(SERVICES)
regions = st.sampled_from(REGIONS)
accounts = st.sampled_from(ACCOUNTS)
resource_names = st.sampled_from(RESOURCE_NAMES)


@st.composite
def resource_patterns(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return "*"
    project = draw(st.sampled_from(["", "", "*", "id/0"]))
    return f"qcs:{project}:{draw(services)}:{draw(regions)}:{draw(accounts)}:{draw(resource_names)}"


CONDITION_BLOCKS = [
    {"ip_equal": {"qcs:ip": "10.0.0.0/8"}},
    {"ip_not_equal": {"qcs:ip": ["10.0.0.0/8", "192.168.0.0/16"]}},
    {"ip_equal_if_exist": {"qcs:ip": "192.168.1.0/24"}},
    {"date_less_than": {"qcs:current_time": "2026-06-01T00:00:00Z"}},
    {"date_greater_than": {"qcs:current_time": "2026-01-01 00:00:00"}},
    {
        "date_greater_than_equal": {"qcs:current_time": "2026-03-01T00:00:00Z"},
        "ip_equal": {"qcs:ip": ["10.0.0.0/8", "172.16.0.0/12"]},
    },
    {"string_equal": {"qcs:create_uin": "${uin}"}},
    {"string_not_equal_if_exist": {"qcs:create_uin": ["${owner_uin}", "0"]}},
    {"string_like": {"tag": ["env&*", "team&f?n"]}},
    {"numeric_less_than_equal": {"amount": "1000"}},
    {"numeric_greater_than": {"amount": ["1000.005", "999"]}},
    {"date_less_than_equal": {"qcs:current_time": ["2026-01-01T00:00:00Z", "2026-03-01 00:00:00"]}},
    {"bool_equal": {"mfa": "true"}},
    {"null_equal": {"mfa": "false"}},
    {"for_all_value:string_equal": {"tags": ["a", "b"]}},
    {"for_any_value:string_not_equal": {"tags": "a"}},
]
CONDITIONS = st.sampled_from(CONDITION_BLOCKS)


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict:
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3))
    resources = draw(st.lists(resource_patterns(), min_size=1, max_size=3))
    statement: dict = {
        "effect": effect or draw(st.sampled_from(["allow", "allow", "allow", "deny"])),
        "action": actions if len(actions) > 1 or draw(st.booleans()) else actions[0],
        "resource": resources if len(resources) > 1 or draw(st.booleans()) else resources[0],
    }
    if draw(st.integers(0, 3)) == 0:
        statement["condition"] = draw(CONDITIONS)
    return statement


@st.composite
def documents(draw: st.DrawFn) -> dict:
    return {"version": "2.0", "statement": draw(st.lists(statements(), min_size=1, max_size=3))}


contexts = st.fixed_dictionaries(
    {}, optional={key: st.sampled_from(values) for key, values in CONTEXT_VALUES.items()}
)


@st.composite
def request_resources(draw: st.DrawFn, owner: str = OWNER) -> str:
    service = draw(st.sampled_from(["contract", "invoice", "cos"]))
    region = draw(st.sampled_from(["", "ap-guangzhou", "ap-beijing"]))
    name = draw(st.sampled_from(REQUEST_NAMES))
    return f"qcs::{service}:{region}:uin/{owner}:{name}"


@st.composite
def requests(draw: st.DrawFn) -> Request:
    action = draw(st.sampled_from(CATALOGUE))
    return Request(action, draw(request_resources()), draw(contexts))


principals = st.builds(
    Principal,
    st.just(OWNER),
    st.sampled_from([*SUBS, None]),
    st.sampled_from([None, "125"]),
)


def naive(principal: Principal, docs: list[dict], request: Request) -> tuple[bool, str]:
    return naive_decide(
        principal.owner_uin,
        principal.sub_uin,
        [json.dumps(d) for d in docs],
        request.action,
        request.resource,
        dict(request.context),
        principal.app_id,
    )


def ours(principal: Principal, docs: list[dict], request: Request) -> tuple[bool, str]:
    compiled = [parse_policy(d, policy_id=f"p{i}") for i, d in enumerate(docs)]
    decision = decide(principal, compiled, request)
    return decision.allowed, decision.reason


# --- properties --------------------------------------------------------------------------------


@SETTINGS
@given(
    principal=principals,
    docs=st.lists(documents(), max_size=4),
    batch=st.lists(requests(), min_size=1, max_size=20),
)
def test_decisions_agree_with_the_naive_reference(
    principal: Principal, docs: list[dict], batch: list[Request]
) -> None:
    cached = CallerPolicies(
        principal, [parse_policy(d, policy_id=str(i)) for i, d in enumerate(docs)]
    )
    for request in batch:
        decision = cached.decide(request)
        assert (decision.allowed, decision.reason) == naive(principal, docs, request)


@SETTINGS
@given(
    principal=principals,
    docs=st.lists(documents(), max_size=4),
    extra=statements(effect="deny"),
    request=requests(),
    where=st.integers(0, 4),
)
def test_cam_req_2_adding_a_deny_never_grants(
    principal: Principal, docs: list[dict], extra: dict, request: Request, where: int
) -> None:
    before, _ = ours(principal, docs, request)
    with_deny = [*docs]
    with_deny.insert(min(where, len(docs)), {"version": "2.0", "statement": [extra]})
    after, _ = ours(principal, with_deny, request)
    assert not after or before


@SETTINGS
@given(
    principal=principals,
    docs=st.lists(documents(), max_size=4),
    request=requests(),
    exact=st.booleans(),
    where=st.integers(0, 4),
)
def test_cam_req_2_a_matching_deny_always_wins(
    principal: Principal, docs: list[dict], request: Request, exact: bool, where: int
) -> None:
    assume(not principal.is_root)
    blocker = {
        "version": "2.0",
        "statement": [
            {
                "effect": "deny",
                "action": request.action if exact else "*",
                "resource": request.resource if exact else "*",
            }
        ],
    }
    with_deny = [*docs]
    with_deny.insert(min(where, len(docs)), blocker)
    allowed, reason = ours(principal, with_deny, request)
    assert not allowed
    assert reason == "explicit_deny"


@SETTINGS
@given(
    principal=principals,
    docs=st.lists(documents(), min_size=1, max_size=4),
    request=requests(),
    pick=st.integers(0, 100),
)
def test_cam_req_2_removing_an_allow_never_grants(
    principal: Principal, docs: list[dict], request: Request, pick: int
) -> None:
    located = [
        (d, s)
        for d, doc in enumerate(docs)
        for s, stmt in enumerate(doc["statement"])
        if stmt["effect"] == "allow"
    ]
    assume(located)
    doc_index, statement_index = located[pick % len(located)]
    reduced = []
    for d, doc in enumerate(docs):
        kept = [s for i, s in enumerate(doc["statement"]) if (d, i) != (doc_index, statement_index)]
        if kept:
            reduced.append({"version": "2.0", "statement": kept})
    before, _ = ours(principal, docs, request)
    after, _ = ours(principal, reduced, request)
    assert not after or before


@SETTINGS
@given(
    principal=principals,
    docs=st.lists(documents(), max_size=4),
    action=st.sampled_from(CATALOGUE),
    resource=request_resources(owner=OTHER_OWNER),
    context=contexts,
)
def test_cam_req_2_cross_account_is_always_denied(
    principal: Principal, docs: list[dict], action: str, resource: str, context: dict
) -> None:
    everything = {
        "version": "2.0",
        "statement": [{"effect": "allow", "action": "*", "resource": "*"}],
    }
    decision = decide(
        principal,
        [parse_policy(d) for d in [*docs, everything]],
        Request(action, resource, context),
    )
    assert decision.allowed is False
    assert decision.reason == Reason.CROSS_ACCOUNT


@SETTINGS
@given(principal=principals, request=requests())
def test_cam_req_2_root_is_allowed_and_sub_users_without_policies_are_not(
    principal: Principal, request: Request
) -> None:
    decision = decide(principal, [], request)
    assert decision.allowed is principal.is_root


def _random_statement(rng: random.Random) -> dict:
    def resource() -> str:
        if rng.random() < 0.1:
            return "*"
        return (
            f"qcs:{rng.choice(['', '', '*', 'id/0'])}:{rng.choice(SERVICES)}:"
            f"{rng.choice(REGIONS)}:{rng.choice(ACCOUNTS)}:{rng.choice(RESOURCE_NAMES)}"
        )

    statement: dict = {
        "effect": "deny" if rng.random() < 0.2 else "allow",
        "action": rng.sample(ACTION_PATTERNS, rng.randint(1, 3)),
        "resource": [resource() for _ in range(rng.randint(1, 3))],
    }
    if rng.random() < 0.3:
        statement["condition"] = rng.choice(CONDITION_BLOCKS)
    return statement


def test_random_sample_of_decisions_agrees_with_the_naive_reference() -> None:
    """A seeded workload: 40 callers x 1-6 policies, 6000 decisions, each checked."""
    rng = random.Random(20261127)
    checked = {"explicit_allow": 0, "explicit_deny": 0, "no_matching_allow": 0}
    for caller in range(40):
        principal = Principal(OWNER, rng.choice(SUBS), rng.choice([None, "125"]))
        docs = [
            {
                "version": "2.0",
                "statement": [_random_statement(rng) for _ in range(rng.randint(1, 3))],
            }
            for _ in range(rng.randint(1, 6))
        ]
        cached = CallerPolicies(
            principal, [parse_policy(d, policy_id=f"{caller}.{i}") for i, d in enumerate(docs)]
        )
        for _ in range(150):
            service = rng.choice(["contract", "invoice", "cos"])
            resource = (
                f"qcs::{service}:{rng.choice(['', 'ap-guangzhou', 'ap-beijing'])}:"
                f"uin/{OWNER}:{rng.choice(REQUEST_NAMES)}"
            )
            context = {
                key: rng.choice(values)
                for key, values in CONTEXT_VALUES.items()
                if rng.random() < 0.6
            }
            request = Request(rng.choice(CATALOGUE), resource, context)
            decision = cached.decide(request)
            assert (decision.allowed, decision.reason) == naive(principal, docs, request), (
                docs,
                request,
            )
            checked[decision.reason] += 1
    # The workload exercises every outcome, so agreement means something.
    assert min(checked.values()) > 200, checked


# --- wildcard semantics ---------------------------------------------------------------------

action_alphabet = st.sampled_from("abAB_*")
service_alphabet = st.sampled_from("ab*")


@st.composite
def action_pattern_and_text(draw: st.DrawFn) -> tuple[str, str]:
    pattern = (
        draw(st.text(service_alphabet, min_size=1, max_size=4))
        + ":"
        + draw(st.text(action_alphabet, min_size=1, max_size=6))
    )
    text = (
        draw(st.text(st.sampled_from("ab"), min_size=1, max_size=4))
        + ":"
        + draw(st.text(st.sampled_from("abAB_"), min_size=1, max_size=6))
    )
    if draw(st.booleans()):  # make a likely match: fill the stars from the pattern
        text = pattern.replace("*", draw(st.text(st.sampled_from("ab:"), max_size=3)))
    return pattern, text


@settings(max_examples=400, deadline=None)
@given(pair=action_pattern_and_text())
def test_cam_req_1_action_wildcards_match_exactly_the_glob(pair: tuple[str, str]) -> None:
    pattern, action = pair
    policy = parse_policy(
        {"version": "2.0", "statement": [{"effect": "allow", "action": pattern, "resource": "*"}]}
    )
    got = decide(
        Principal(OWNER, SUBS[0]), [policy], Request(action, f"qcs::contract::uin/{OWNER}:x")
    ).allowed
    assert got is glob(pattern, action)


segment_text = st.text(st.sampled_from("ab-/*"), max_size=4)
resource_text = st.text(st.sampled_from("ab/:*"), min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(
    service=segment_text,
    region=segment_text,
    name=resource_text,
    r_service=st.text(st.sampled_from("ab-/"), max_size=4),
    r_region=st.text(st.sampled_from("ab-/"), max_size=4),
    r_name=st.text(st.sampled_from("ab/:"), min_size=1, max_size=6),
    copy=st.booleans(),
)
def test_cam_req_1_resource_wildcards_match_per_segment(
    service: str, region: str, name: str, r_service: str, r_region: str, r_name: str, copy: bool
) -> None:
    if copy:  # make a likely match
        r_service, r_region = service.replace("*", "a"), region.replace("*", "/-")
        r_name = name.replace("*", "a:b")
    pattern = f"qcs::{service}:{region}:uin/{OWNER}:{name}"
    resource = f"qcs::{r_service}:{r_region}:uin/{OWNER}:{r_name}"
    policy = parse_policy(
        {"version": "2.0", "statement": [{"effect": "allow", "action": "*", "resource": pattern}]}
    )
    got = decide(Principal(OWNER, SUBS[0]), [policy], Request("contract:X", resource)).allowed
    expected = (
        (not service or glob(service, r_service))
        and (not region or glob(region, r_region))
        and glob(name, r_name)
    )
    assert got is expected


@settings(max_examples=500, deadline=None)
@given(
    pattern=st.text(st.sampled_from("ab?*"), max_size=8),
    text=st.text(st.sampled_from("ab"), max_size=8),
)
def test_cam_req_1_string_like_matches_exactly_the_glob(pattern: str, text: str) -> None:
    """string_like with any number of `*` and `?` agrees with the naive recursive glob."""
    got = like_pattern_regex(pattern).fullmatch(text) is not None
    assert got is glob(pattern, text, question_mark=True)


_PATHOLOGICAL = """
from iam_svc.policies import Principal, Request, decide, parse_policy
stars = "*a" * 12 + "*b"
policy = parse_policy({"version": "2.0", "statement": [{
    "effect": "allow", "action": "*",
    "resource": "qcs::contract::uin/100001:" + stars,
    "condition": {"string_like": {"qcs:tag": stars}}}]})
resource = "qcs::contract::uin/100001:" + "a" * 3000
decision = decide(Principal("100001", "200001"), [policy],
                  Request("contract:X", resource, {"qcs:tag": "a" * 3000}))
print(decision.allowed)
"""


def test_many_stars_cannot_make_a_decision_backtrack() -> None:
    """A policy with many stars against a long resource decides at once (it used to backtrack
    for minutes, stalling the gateway's event loop). Run in a child process so that a
    regression fails on the bound instead of hanging the suite; the bound is ~1000x the
    normal time."""
    result = subprocess.run(
        [sys.executable, "-c", _PATHOLOGICAL], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
