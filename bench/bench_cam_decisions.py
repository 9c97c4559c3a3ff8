"""CAM decisions per second: iam_svc's compiled evaluator vs cedarpy on the same requests.

Workload (seeded): one account with 50 sub-users, each with 20 attached policies of 3
statements (mixed action/resource wildcards, about 10 % deny, a few IP and time conditions),
and 10,000 random requests (a few of them cross-account). Every CAM statement is translated to
one Cedar policy (deny -> forbid); cedarpy gets a pre-parsed PolicySet holding only the
caller's own policies, as the gateway would cache them.

Run: ``python bench/bench_cam_decisions.py``. Prints both rates and the ratio, writes
``bench/results/cam_decisions.json``, and exits non-zero if any decision differs.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import iam_svc  # noqa: F401
except ImportError:  # run from a checkout without the workspace installed
    sys.path.insert(0, str(ROOT / "services" / "iam-svc" / "src"))

import cedarpy  # noqa: E402
from iam_svc.policies import (  # noqa: E402
    CONTRACT_ACTIONS,
    INVOICE_ACTIONS,
    CallerPolicies,
    Principal,
    Request,
    parse_policy,
)

SEED = 20261127
OWNER = "100001"
OTHER_OWNER = "100002"
USERS = 50
POLICIES_PER_USER = 20
STATEMENTS_PER_POLICY = 3
REQUESTS = 10_000
RUNS_OURS = 5
RUNS_CEDAR = 3
TARGET_RATIO = 20.0
RESULTS = ROOT / "bench" / "results" / "cam_decisions.json"

BILLING_ACTIONS = tuple(
    f"billing:{name}"
    for name in (
        "DescribeBillList",
        "DescribeBillDetail",
        "DescribeAccountBalance",
        "DescribeCostSummaryByProduct",
        "CreateBudget",
        "ModifyBudget",
    )
)
CATALOGUE = CONTRACT_ACTIONS + INVOICE_ACTIONS + BILLING_ACTIONS
RESOURCE_TYPES = {
    "contract": ("contract", "QC"),
    "invoice": ("invoice", "INV"),
    "billing": ("bill", "B"),
}
IDS = 200
WILDCARD_ACTIONS = (
    "contract:Get*",
    "contract:Describe*",
    "contract:Apply*Contract",
    "contract:*",
    "invoice:Describe*",
    "invoice:*Invoice",
    "invoice:*",
    "billing:Describe*",
    "billing:*Budget",
)
IPS = ("10.1.2.3", "10.200.0.9", "172.16.5.4", "192.168.1.20", "203.0.113.7")
TIMES = ("2026-01-15T08:00:00Z", "2026-04-01T00:00:00Z", "2026-08-30T12:30:00Z")


# --- workload ----------------------------------------------------------------------------------


def _resource_pattern(rng: random.Random, service: str) -> str:
    if rng.random() < 0.01:
        return "*"
    kind, prefix = RESOURCE_TYPES[service]
    roll = rng.random()
    if roll < 0.45:
        name = f"{kind}/*"
    elif roll < 0.55:
        name = f"{kind}/{prefix}-0001*"  # a prefix of ids
    else:
        name = f"{kind}/{prefix}-{rng.randrange(IDS):06d}"
    return f"qcs::{service}::uin/{OWNER}:{name}"


def _condition(rng: random.Random, effect: str) -> dict | None:
    roll = rng.random()
    if roll < 0.06:
        cidrs = rng.sample(["10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24"], rng.randint(1, 2))
        operator = "ip_not_equal" if effect == "deny" else "ip_equal"
        return {operator: {"qcs:ip": cidrs}}
    if roll < 0.09:
        operator = rng.choice(["date_less_than", "date_greater_than"])
        return {operator: {"qcs:current_time": "2026-06-01T00:00:00Z"}}
    return None


def _statement(rng: random.Random) -> dict:
    effect = "deny" if rng.random() < 0.10 else "allow"
    if effect == "deny":  # denies are narrow, as in practice
        actions = rng.sample(CATALOGUE, rng.randint(1, 2))
    elif rng.random() < 0.02:
        actions = ["*"]
    else:
        pool = WILDCARD_ACTIONS + CATALOGUE
        actions = rng.sample(pool, rng.randint(1, 4))
    services = sorted({a.split(":")[0] for a in actions if a != "*"}) or ["contract"]
    resources = [_resource_pattern(rng, rng.choice(services)) for _ in range(rng.randint(1, 2))]
    statement: dict = {"effect": effect, "action": actions, "resource": resources}
    condition = _condition(rng, effect)
    if condition:
        statement["condition"] = condition
    return statement


def build_workload() -> tuple[dict[str, list[dict]], list[tuple[str, str, str, dict]]]:
    rng = random.Random(SEED)
    documents = {
        f"2{index:05d}": [
            {"version": "2.0", "statement": [_statement(rng) for _ in range(STATEMENTS_PER_POLICY)]}
            for _ in range(POLICIES_PER_USER)
        ]
        for index in range(USERS)
    }
    users = sorted(documents)
    requests = []
    for _ in range(REQUESTS):
        action = rng.choice(CATALOGUE)
        service = action.split(":")[0]
        kind, prefix = RESOURCE_TYPES[service]
        owner = OTHER_OWNER if rng.random() < 0.03 else OWNER
        resource = (
            f"qcs::{service}:ap-guangzhou:uin/{owner}:{kind}/{prefix}-{rng.randrange(IDS):06d}"
        )
        context = {"qcs:ip": rng.choice(IPS), "qcs:current_time": rng.choice(TIMES)}
        requests.append((rng.choice(users), action, resource, context))
    return documents, requests


# --- CAM -> Cedar ------------------------------------------------------------------------------


def _cedar_string(text: str) -> str:
    return json.dumps(text)  # a Cedar string literal has JSON's escapes for these characters


def _cedar_match(field: str, pattern: str) -> str:
    if "*" in pattern:
        return f"context.{field} like {_cedar_string(pattern)}"
    return f"context.{field} == {_cedar_string(pattern)}"


def _cedar_resource(pattern: str) -> str:
    if pattern == "*":  # everything in the caller's own account (CAM never crosses accounts)
        return f"qcs:*:*:*:uin/{OWNER}:*"
    project, service, region, account, name = pattern.split(":", 5)[1:]
    return ":".join(
        ["qcs", project or "*", service or "*", region or "*", account or f"uin/{OWNER}", name]
    )


def _cedar_condition(condition: dict) -> list[str]:
    clauses = []
    for operator, keyed in condition.items():
        for values in keyed.values():
            values = values if isinstance(values, list) else [values]
            if operator in ("ip_equal", "ip_not_equal"):
                inside = " || ".join(
                    f"ip(context.ip).isInRange(ip({_cedar_string(v)}))" for v in values
                )
                clauses.append(f"({inside})" if operator == "ip_equal" else f"!({inside})")
            elif operator in ("date_less_than", "date_greater_than"):
                sign = "<" if operator == "date_less_than" else ">"
                inside = " || ".join(
                    f"datetime(context.time) {sign} datetime({_cedar_string(v)})" for v in values
                )
                clauses.append(f"({inside})")
            else:
                raise ValueError(f"no Cedar translation for {operator}")
    return clauses


def to_cedar(user: str, documents: list[dict]) -> str:
    policies = []
    for document in documents:
        for statement in document["statement"]:
            clauses = []
            if "*" not in statement["action"]:
                actions = " || ".join(_cedar_match("action", a) for a in statement["action"])
                clauses.append(f"({actions})")
            resources = " || ".join(
                _cedar_match("resource", _cedar_resource(r)) for r in statement["resource"]
            )
            clauses.append(f"({resources})")
            clauses += _cedar_condition(statement.get("condition", {}))
            head = "permit" if statement["effect"] == "allow" else "forbid"
            policies.append(
                f'{head}(principal == User::"{user}", action, resource) when '
                f"{{ {' && '.join(clauses)} }};"
            )
    return "\n".join(policies)


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Measured:
    rate: float
    runs: list[float]
    decisions: list[bool]


def measure_ours(
    callers: dict[str, CallerPolicies], requests: list[tuple[str, Request]]
) -> Measured:
    for user, request in requests:  # warm-up: each caller indexes its statements per action
        callers[user].decide(request)
    runs = []
    decisions: list[bool] = []
    for _ in range(RUNS_OURS):
        started = time.perf_counter()
        decisions = [callers[user].decide(request).allowed for user, request in requests]
        runs.append(len(requests) / (time.perf_counter() - started))
    return Measured(statistics.median(runs), runs, decisions)


def measure_cedar(
    policy_sets: dict[str, object], requests: list[tuple[str, dict]], entities: object
) -> Measured:
    for user, request in requests[:500]:  # warm-up
        cedarpy.is_authorized(request, policy_sets[user], entities)
    runs = []
    decisions: list[bool] = []
    for _ in range(RUNS_CEDAR):
        started = time.perf_counter()
        decisions = [
            cedarpy.is_authorized(request, policy_sets[user], entities).decision
            == cedarpy.Decision.Allow
            for user, request in requests
        ]
        runs.append(len(requests) / (time.perf_counter() - started))
    return Measured(statistics.median(runs), runs, decisions)


def measure_cedar_batch(
    policy_sets: dict[str, object], requests: list[tuple[str, dict]], entities: object
) -> Measured:
    """cedarpy's best case: one is_authorized_batch call per user."""
    by_user: dict[str, list[int]] = {}
    for index, (user, _) in enumerate(requests):
        by_user.setdefault(user, []).append(index)
    runs = []
    decisions: list[bool] = [False] * len(requests)
    for _ in range(RUNS_CEDAR):
        started = time.perf_counter()
        for user, indexes in by_user.items():
            results = cedarpy.is_authorized_batch(
                [requests[i][1] for i in indexes], policy_sets[user], entities
            )
            for i, result in zip(indexes, results, strict=True):
                decisions[i] = result.decision == cedarpy.Decision.Allow
        runs.append(len(requests) / (time.perf_counter() - started))
    return Measured(statistics.median(runs), runs, decisions)


def latency_percentiles_us(call, items) -> dict[str, float]:  # type: ignore[no-untyped-def]
    samples = []
    clock = time.perf_counter_ns
    for item in items:
        started = clock()
        call(item)
        samples.append(clock() - started)
    samples.sort()
    return {
        "p50_us": round(samples[len(samples) // 2] / 1000, 2),
        "p99_us": round(samples[int(len(samples) * 0.99)] / 1000, 2),
    }


def main() -> int:
    documents, raw_requests = build_workload()

    started = time.perf_counter()
    compiled = {
        user: [parse_policy(d, policy_id=f"{user}-{i}") for i, d in enumerate(docs)]
        for user, docs in documents.items()
    }
    callers = {
        user: CallerPolicies(Principal(OWNER, user), pols) for user, pols in compiled.items()
    }
    ours_build_ms = (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    policy_sets = {
        user: cedarpy.PolicySet.from_str(to_cedar(user, docs)) for user, docs in documents.items()
    }
    entities = cedarpy.Entities.from_json_str("[]")
    cedar_build_ms = (time.perf_counter() - started) * 1000

    our_requests = [(u, Request(a, r, c)) for u, a, r, c in raw_requests]
    cedar_requests = [
        (
            u,
            {
                "principal": f'User::"{u}"',
                "action": 'Action::"call"',
                "resource": 'Resource::"qcs"',
                "context": {
                    "action": a,
                    "resource": r,
                    "ip": c["qcs:ip"],
                    "time": c["qcs:current_time"],
                },
            },
        )
        for u, a, r, c in raw_requests
    ]

    ours = measure_ours(callers, our_requests)
    cedar = measure_cedar(policy_sets, cedar_requests, entities)
    cedar_batch = measure_cedar_batch(policy_sets, cedar_requests, entities)
    ours_latency = latency_percentiles_us(lambda ur: callers[ur[0]].decide(ur[1]), our_requests)
    cedar_latency = latency_percentiles_us(
        lambda ur: cedarpy.is_authorized(ur[1], policy_sets[ur[0]], entities), cedar_requests
    )

    mismatches = [
        {"user": u, "action": a, "resource": r, "context": c, "ours": o, "cedar": x, "batch": b}
        for (u, a, r, c), o, x, b in zip(
            raw_requests, ours.decisions, cedar.decisions, cedar_batch.decisions, strict=True
        )
        if not (o == x == b)
    ]
    reasons = Counter(callers[u].decide(request).reason for u, request in our_requests)
    statements = sum(len(d["statement"]) for docs in documents.values() for d in docs)
    denies = sum(
        s["effect"] == "deny" for docs in documents.values() for d in docs for s in d["statement"]
    )
    ratio = ours.rate / cedar.rate
    ratio_batch = ours.rate / cedar_batch.rate

    result = {
        "benchmark": "cam_decisions",
        "workload": {
            "seed": SEED,
            "users": USERS,
            "policies_per_user": POLICIES_PER_USER,
            "statements_per_policy": STATEMENTS_PER_POLICY,
            "statements": statements,
            "deny_statements": denies,
            "requests": REQUESTS,
            "actions": len(CATALOGUE),
            "outcomes": dict(reasons),
        },
        "method": (
            f"median of {RUNS_OURS} (ours) / {RUNS_CEDAR} (cedarpy) runs over all {REQUESTS} "
            "requests after an untimed warm-up pass; policies compiled/parsed once per user "
            "before timing (build_ms); latencies from a separate pass timing each call"
        ),
        "ours": {
            "decisions_per_s": round(ours.rate),
            "runs": [round(r) for r in ours.runs],
            "build_ms": round(ours_build_ms, 1),
            **ours_latency,
        },
        "cedarpy": {
            "decisions_per_s": round(cedar.rate),
            "runs": [round(r) for r in cedar.runs],
            "build_ms": round(cedar_build_ms, 1),
            **cedar_latency,
        },
        "cedarpy_batch": {
            "decisions_per_s": round(cedar_batch.rate),
            "runs": [round(r) for r in cedar_batch.runs],
        },
        "ratio_vs_cedarpy": round(ratio, 1),
        "ratio_vs_cedarpy_batch": round(ratio_batch, 1),
        "target_ratio": TARGET_RATIO,
        "target_met": min(ratio, ratio_batch) >= TARGET_RATIO,
        "agreement": {
            "checked": len(raw_requests),
            "mismatches": len(mismatches),
            "first_mismatches": mismatches[:5],
        },
        "environment": {
            "python": platform.python_version(),
            "cedarpy": _version("cedarpy"),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    print(
        f"workload: {USERS} users x {POLICIES_PER_USER} policies x {STATEMENTS_PER_POLICY} "
        f"statements ({denies}/{statements} deny), {REQUESTS} requests; outcomes {dict(reasons)}"
    )
    print(
        f"ours          {ours.rate:>12,.0f} decisions/s  p50 {ours_latency['p50_us']} us  "
        f"p99 {ours_latency['p99_us']} us  (build {ours_build_ms:.0f} ms)"
    )
    print(
        f"cedarpy       {cedar.rate:>12,.0f} decisions/s  p50 {cedar_latency['p50_us']} us  "
        f"p99 {cedar_latency['p99_us']} us  (parse {cedar_build_ms:.0f} ms)"
    )
    print(f"cedarpy batch {cedar_batch.rate:>12,.0f} decisions/s")
    print(
        f"ratio         {ratio:.1f}x vs cedarpy, {ratio_batch:.1f}x vs cedarpy batch "
        f"(target {TARGET_RATIO:.0f}x: {'met' if result['target_met'] else 'NOT met'})"
    )
    print(f"agreement     {len(raw_requests) - len(mismatches)}/{len(raw_requests)} identical")
    print(f"results       {RESULTS}")
    if mismatches:
        print("DECISIONS DIFFER, first ones:", json.dumps(mismatches[:5], indent=2))
        return 1
    return 0


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
