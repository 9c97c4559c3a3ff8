"""CAM decisions: wildcards, deny-override, root and cross-account, conditions, presets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from iam_svc.policies import (
    CONTRACT_ACTIONS,
    INVOICE_ACTIONS,
    PRESET_POLICIES,
    CallerPolicies,
    CompiledPolicy,
    Principal,
    Reason,
    Request,
    StatementRef,
    decide,
    parse_policy,
    required_actions,
    resource_name,
    with_dependencies,
)
from iam_svc.policies.presets import (
    ACTION_DEPENDENCIES,
    CONTRACT_CREATING_ACTIONS,
    CONTRACT_FULL_ACCESS,
    CONTRACT_READ_ONLY,
    FINANCE_FULL_ACCESS,
    INVOICE_FULL_ACCESS,
    INVOICE_READ_ONLY,
)

OWNER = "100001"
OTHER_OWNER = "100002"
SUB = "200001"
OTHER_SUB = "200002"
USER = Principal(OWNER, SUB)
ROOT = Principal(OWNER)


def contract(name: str = "QC-1", owner: str = OWNER, region: str = "ap-guangzhou") -> str:
    return resource_name("contract", owner, f"contract/{name}", region)


def invoice(name: str = "INV-1", owner: str = OWNER) -> str:
    return resource_name("invoice", owner, f"invoice/{name}")


def stmt(
    effect: str, action: object, resource: object = "*", condition: dict | None = None
) -> dict:
    statement = {"effect": effect, "action": action, "resource": resource}
    if condition is not None:
        statement["condition"] = condition
    return statement


def allow(action: object, resource: object = "*", condition: dict | None = None) -> dict:
    return stmt("allow", action, resource, condition)


def deny(action: object, resource: object = "*", condition: dict | None = None) -> dict:
    return stmt("deny", action, resource, condition)


def policy(*statements: dict, policy_id: str = "p") -> CompiledPolicy:
    return parse_policy({"version": "2.0", "statement": list(statements)}, policy_id=policy_id)


def allowed(
    policies: list[CompiledPolicy] | CompiledPolicy,
    action: str,
    resource: str,
    context: dict | None = None,
    principal: Principal = USER,
) -> bool:
    if isinstance(policies, CompiledPolicy):
        policies = [policies]
    return decide(principal, policies, Request(action, resource, context or {})).allowed


# --- CAM-REQ-1: actions and resources with wildcards ----------------------------------------


def test_cam_req_1_action_prefix_wildcard() -> None:
    p = policy(allow("contract:Get*"))
    assert allowed(p, "contract:GetContractList", contract())
    assert allowed(p, "contract:GetPdfData", contract())
    assert allowed(p, "contract:Get", contract())
    assert not allowed(p, "contract:ApplyPactContract", contract())
    assert not allowed(p, "invoice:GetContractList", invoice())


def test_cam_req_1_action_wildcards_anywhere() -> None:
    p = policy(allow(["contract:Apply*Contract", "invoice:*Invoice*"]))
    assert allowed(p, "contract:ApplyPactContract", contract())
    assert allowed(p, "contract:ApplyBeianContract", contract())
    assert not allowed(p, "contract:ApplySignUser", contract())
    assert allowed(p, "invoice:DescribeInvoiceDetail", invoice())
    assert allowed(p, "invoice:ApplyInvoice", invoice())
    assert not allowed(p, "invoice:DescribeMonthlyBills", invoice())


def test_cam_req_1_service_wildcard_and_star() -> None:
    service = policy(allow("contract:*"))
    for action in CONTRACT_ACTIONS:
        assert allowed(service, action, contract())
    assert not allowed(service, "invoice:ApplyInvoice", invoice())
    everything = policy(allow("*"))
    assert allowed(everything, "invoice:ApplyInvoice", invoice())
    assert allowed(everything, "anything:AtAll", contract())


def test_cam_req_1_actions_are_case_sensitive() -> None:
    p = policy(allow("contract:getcontractlist"))
    assert not allowed(p, "contract:GetContractList", contract())
    assert allowed(p, "contract:getcontractlist", contract())


def test_cam_req_1_legacy_name_prefix_is_the_same_action() -> None:
    p = policy(allow("name/contract:GetContractList"))
    assert allowed(p, "contract:GetContractList", contract())
    assert not allowed(p, "name/contract:GetContractList", contract())


def test_cam_req_1_resource_wildcard_in_resource_segment_spans_paths() -> None:
    p = policy(allow("contract:*", "qcs::contract:ap-guangzhou:uin/100001:contract/*"))
    assert allowed(p, "contract:GetPdfData", contract("QC-1"))
    assert allowed(p, "contract:GetPdfData", contract("a/b:c"))
    assert not allowed(p, "contract:GetPdfData", contract("QC-1", region="ap-beijing"))
    assert not allowed(p, "contract:GetPdfData", resource_name("contract", OWNER, "deal/D-1"))


def test_cam_req_1_specific_resource_only() -> None:
    p = policy(allow("contract:GetPdfData", "qcs::contract::uin/100001:contract/QC-1"))
    assert allowed(p, "contract:GetPdfData", contract("QC-1"))
    assert not allowed(p, "contract:GetPdfData", contract("QC-10"))
    assert not allowed(p, "contract:GetPdfData", contract("QC-"))


def test_cam_req_1_empty_segments_mean_any_service_and_region() -> None:
    p = policy(allow("*", "qcs::::uin/100001:*"))
    assert allowed(p, "contract:GetPdfData", contract(region="ap-beijing"))
    assert allowed(p, "invoice:ApplyInvoice", invoice())


def test_cam_req_1_star_in_a_segment() -> None:
    p = policy(allow("*", "qcs::contract:ap-*:uin/100001:contract/*"))
    assert allowed(p, "contract:GetPdfData", contract(region="ap-shanghai"))
    assert not allowed(p, "contract:GetPdfData", contract(region=""))
    assert not allowed(p, "contract:GetPdfData", contract(region="eu-frankfurt"))


def test_cam_req_1_empty_account_means_the_callers_own_account() -> None:
    p = policy(allow("*", "qcs::contract:::contract/*"))
    assert allowed(p, "contract:GetPdfData", contract())
    other_user = Principal(OTHER_OWNER, "300001")
    assert allowed(p, "contract:GetPdfData", contract(owner=OTHER_OWNER), principal=other_user)


def test_cam_req_1_policy_for_another_account_matches_nothing_here() -> None:
    p = policy(allow("*", "qcs::contract::uin/100002:contract/*"))
    assert not allowed(p, "contract:GetPdfData", contract())


def test_cam_req_1_several_actions_and_resources_are_alternatives() -> None:
    p = policy(
        allow(
            ["contract:GetPdfData", "invoice:DownloadInvoice"],
            ["qcs::contract::uin/100001:contract/QC-1", "qcs::invoice::uin/100001:invoice/*"],
        )
    )
    assert allowed(p, "contract:GetPdfData", contract("QC-1"))
    assert allowed(p, "invoice:DownloadInvoice", invoice("INV-9"))
    # The action/resource pairs are not tied: any listed action on any listed resource.
    assert allowed(p, "contract:GetPdfData", invoice("INV-9"))
    assert not allowed(p, "contract:GetPdfData", contract("QC-2"))


def test_policy_variables_uin_and_owner_uin() -> None:
    p = policy(allow("*", "qcs::contract::uin/${owner_uin}:folder/${uin}/*"))
    mine = resource_name("contract", OWNER, f"folder/{SUB}/QC-1")
    theirs = resource_name("contract", OWNER, f"folder/{OTHER_SUB}/QC-1")
    assert allowed(p, "contract:GetPdfData", mine)
    assert not allowed(p, "contract:GetPdfData", theirs)
    assert allowed(p, "contract:GetPdfData", theirs, principal=Principal(OWNER, OTHER_SUB))
    assert not allowed(p, "contract:GetPdfData", mine, principal=Principal(OWNER, OTHER_SUB))


def test_policy_variable_app_id_matches_only_when_known() -> None:
    p = policy(allow("*", "qcs::cos::uin/100001:bucket-${app_id}/*"))
    resource = resource_name("cos", OWNER, "bucket-1250000000/a.txt")
    assert not allowed(p, "cos:GetObject", resource)
    assert allowed(p, "cos:GetObject", resource, principal=Principal(OWNER, SUB, "1250000000"))


def test_policy_variable_in_string_condition() -> None:
    p = policy(allow("*", "*", {"string_equal": {"qcs:create_uin": "${uin}"}}))
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:create_uin": SUB})
    assert not allowed(p, "contract:GetPdfData", contract(), {"qcs:create_uin": OTHER_SUB})
    unknown_app = policy(allow("*", "*", {"string_not_equal": {"k": "${app_id}"}}))
    assert not allowed(unknown_app, "contract:GetPdfData", contract(), {"k": "x"})


# --- CAM-REQ-2: deny-override, default deny, root, cross-account ----------------------------


def test_cam_req_2_explicit_deny_beats_allow() -> None:
    grant = policy(allow("contract:*", "qcs::contract::uin/100001:contract/*"), policy_id="grant")
    block = policy(
        deny("contract:CancelContract", "qcs::contract::uin/100001:contract/QC-1"),
        policy_id="block",
    )
    for order in ([grant, block], [block, grant]):
        decision = decide(USER, order, Request("contract:CancelContract", contract("QC-1")))
        assert decision.allowed is False
        assert decision.reason == Reason.EXPLICIT_DENY
        assert decision.matched_statement == StatementRef("block", 0, "deny")
        assert allowed(order, "contract:CancelContract", contract("QC-2"))
        assert allowed(order, "contract:GetPdfData", contract("QC-1"))


def test_cam_req_2_explicit_deny_beats_allow_in_the_same_policy() -> None:
    p = policy(allow("*"), deny("invoice:RevokeInvoice"))
    assert not allowed(p, "invoice:RevokeInvoice", invoice())
    assert allowed(p, "invoice:ApplyInvoice", invoice())


def test_cam_req_2_no_matching_allow_means_deny() -> None:
    decision = decide(USER, [], Request("contract:GetContractList", contract()))
    assert decision.allowed is False
    assert decision.reason == Reason.NO_MATCHING_ALLOW
    assert decision.matched_statement is None
    unrelated = policy(allow("invoice:*"), allow("contract:GetPdfData"))
    assert not allowed(unrelated, "contract:GetContractList", contract())


def test_cam_req_2_a_deny_alone_grants_nothing() -> None:
    p = policy(deny("contract:CancelContract"))
    assert not allowed(p, "contract:GetContractList", contract())


def test_cam_req_2_root_may_do_everything_in_its_own_account() -> None:
    decision = decide(ROOT, [], Request("contract:TerminateContract", contract()))
    assert decision.allowed is True
    assert decision.reason == Reason.ROOT_ACCOUNT
    assert allowed([], "anything:Whatever", invoice(), principal=ROOT)


def test_cam_req_2_nobody_reaches_another_accounts_resources() -> None:
    everything = policy(allow("*", "*"))
    explicit = policy(allow("*", "qcs::contract::uin/100002:contract/*"))
    for principal in (USER, ROOT):
        for policies in ([], [everything], [explicit]):
            decision = decide(
                principal, policies, Request("contract:GetPdfData", contract(owner=OTHER_OWNER))
            )
            assert decision.allowed is False
            assert decision.reason == Reason.CROSS_ACCOUNT
    assert allowed([everything], "contract:GetPdfData", contract())


def test_cam_req_2_cross_account_by_uid_or_lookalike_uin_is_denied() -> None:
    everything = policy(allow("*"))
    for account in ("uid/100001", "uin/1000010", "uin/10000", "uin/100001 ", ""):
        resource = f"qcs::contract::{account}:contract/QC-1"
        assert decide(USER, [everything], Request("contract:GetPdfData", resource)).reason == (
            Reason.CROSS_ACCOUNT
        )


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "",
        "contract/QC-1",
        "qcs::contract::uin/100001",
        "arn::contract::uin/100001:c/1",
        "qcs::contract::uin/100001:",
    ],
)
def test_malformed_request_resources_are_denied(resource: str) -> None:
    for principal in (USER, ROOT):
        decision = decide(principal, [policy(allow("*"))], Request("contract:GetPdfData", resource))
        assert decision.allowed is False
        assert decision.reason == Reason.INVALID_RESOURCE


def test_allow_decision_names_the_statement() -> None:
    p = policy(deny("invoice:*"), allow("contract:Get*"), policy_id="pol-7")
    decision = decide(USER, [p], Request("contract:GetPdfData", contract()))
    assert decision == decision.__class__(
        True, Reason.EXPLICIT_ALLOW, StatementRef("pol-7", 1, "allow")
    )
    assert bool(decision) is True


def test_cached_caller_policies_decide_like_one_off_calls() -> None:
    policies = [
        policy(allow("contract:*", "qcs::contract::uin/100001:contract/*"), policy_id="a"),
        policy(deny("contract:Cancel*", "qcs::contract::uin/100001:contract/QC-9"), policy_id="b"),
    ]
    cached = CallerPolicies(USER, policies)
    for action in CONTRACT_ACTIONS + INVOICE_ACTIONS:
        for resource in (
            contract("QC-1"),
            contract("QC-9"),
            invoice(),
            contract(owner=OTHER_OWNER),
        ):
            request = Request(action, resource)
            first = cached.decide(request)
            assert first == cached.decide(request)  # memoised path agrees with the first
            assert first == decide(USER, policies, request)
            assert decide(USER, cached, request) == first


def test_cached_caller_policies_refuse_another_principal() -> None:
    cached = CallerPolicies(USER, [])
    with pytest.raises(ValueError, match="different principal"):
        decide(Principal(OWNER, OTHER_SUB), cached, Request("contract:GetPdfData", contract()))


def test_action_memo_stays_correct_past_its_size_limit() -> None:
    cached = CallerPolicies(USER, [policy(allow("contract:Get*"), deny("contract:GetX1*"))])
    for number in range(5000):
        action = f"contract:GetX{number}"
        expected = not str(number).startswith("1")
        assert cached.decide(Request(action, contract())).allowed is expected


def test_operation_level_actions_need_resource_star() -> None:
    """Reference §2.4: an operation-level API limited to a resource is not authorised."""
    operation = resource_name("contract", OWNER, "*")
    limited = policy(allow("contract:GetContractList", "qcs::contract::uin/100001:contract/*"))
    whole = policy(allow("contract:GetContractList", "*"))
    by_service = policy(allow("contract:GetContractList", "qcs::contract::uin/100001:*"))
    assert not allowed(limited, "contract:GetContractList", operation)
    assert allowed(whole, "contract:GetContractList", operation)
    assert allowed(by_service, "contract:GetContractList", operation)


# --- CAM-REQ-3 / CAM-REQ-4: actions, dependencies, presets ---------------------------------


def test_cam_req_3_the_seventeen_contract_actions() -> None:
    names = [a.split(":", 1)[1] for a in CONTRACT_ACTIONS]
    assert names == [
        "GetContractList",
        "GetPdfData",
        "GetContractStatus",
        "GetContractContact",
        "RefreshData",
        "CheckContractRule",
        "ApplyPactContract",
        "ApplyDealContract",
        "GetDealList",
        "ApplyBeianContract",
        "GetBEIANList",
        "ApplyPaymentContract",
        "TerminateContract",
        "DescribeOrganizationEmployees",
        "ApplySignUser",
        "UrgeContractSign",
        "CancelContract",
    ]
    assert all(a.startswith("contract:") for a in CONTRACT_ACTIONS)
    assert len(INVOICE_ACTIONS) == 16 and all(a.startswith("invoice:") for a in INVOICE_ACTIONS)


def test_cam_req_3_each_contract_action_is_enforceable_on_its_own() -> None:
    for granted in CONTRACT_ACTIONS + INVOICE_ACTIONS:
        p = policy(allow(granted))
        for asked in CONTRACT_ACTIONS + INVOICE_ACTIONS:
            assert allowed(p, asked, resource_name(asked.split(":")[0], OWNER, "*")) is (
                asked == granted
            )


def test_cam_req_4_creating_any_contract_needs_status_contact_and_refresh() -> None:
    base = {"contract:GetContractStatus", "contract:GetContractContact", "contract:RefreshData"}
    for action in CONTRACT_CREATING_ACTIONS:
        assert base <= required_actions(action), action


def test_cam_req_4_order_contract_needs_deal_list_and_filing_contract_needs_beian_list() -> None:
    assert "contract:GetDealList" in required_actions("contract:ApplyDealContract")
    assert "contract:GetBEIANList" in required_actions("contract:ApplyBeianContract")
    assert "contract:GetDealList" not in required_actions("contract:ApplyPactContract")
    assert "contract:GetBEIANList" not in required_actions("contract:ApplyDealContract")


def test_cam_req_4_rule_check_for_framework_order_and_filing_contracts_only() -> None:
    for action in (
        "contract:ApplyPactContract",
        "contract:ApplyDealContract",
        "contract:ApplyBeianContract",
    ):
        assert "contract:CheckContractRule" in required_actions(action)
    assert "contract:CheckContractRule" not in required_actions("contract:ApplyPaymentContract")


def test_cam_req_4_exact_dependency_table() -> None:
    common = {
        "contract:GetContractStatus",
        "contract:GetContractContact",
        "contract:RefreshData",
        "contract:GetPdfData",
    }
    assert required_actions("contract:ApplyPactContract") == common | {"contract:CheckContractRule"}
    assert required_actions("contract:ApplyDealContract") == common | {
        "contract:CheckContractRule",
        "contract:GetDealList",
    }
    assert required_actions("contract:ApplyBeianContract") == common | {
        "contract:CheckContractRule",
        "contract:GetBEIANList",
    }
    assert required_actions("contract:ApplyPaymentContract") == common
    assert required_actions("contract:GetContractList") == {"contract:GetPdfData"}
    assert required_actions("contract:GetPdfData") == frozenset()
    assert required_actions("invoice:ApplyInvoice") == frozenset()


def test_cam_req_4_both_parties_esign_needs_employee_lookup() -> None:
    employees = "contract:DescribeOrganizationEmployees"
    for action in CONTRACT_CREATING_ACTIONS:
        assert employees not in required_actions(action)
        assert employees in required_actions(action, both_parties_esign=True)
    assert employees in required_actions("contract:ApplySignUser")
    assert employees not in required_actions("contract:GetPdfData", both_parties_esign=True)


def test_cam_req_4_required_actions_refuses_unknown_actions() -> None:
    with pytest.raises(ValueError, match="unknown action"):
        required_actions("contract:ApplyContract")
    with pytest.raises(ValueError, match="unknown action"):
        required_actions("ApplyPactContract")
    assert all(dep in CONTRACT_ACTIONS for deps in ACTION_DEPENDENCIES.values() for dep in deps)


def test_cam_req_4_a_policy_built_from_the_table_lets_a_user_create_an_order_contract() -> None:
    grant = sorted(with_dependencies(["contract:ApplyDealContract"]))
    p = policy(allow(grant))
    for action in ("contract:ApplyDealContract", *required_actions("contract:ApplyDealContract")):
        assert allowed(p, action, resource_name("contract", OWNER, "*"))
    assert not allowed(p, "contract:ApplyBeianContract", resource_name("contract", OWNER, "*"))


PRESET_EXPECTATIONS = {
    "QcloudContractFullAccess": set(CONTRACT_ACTIONS),
    "QcloudContractReadOnlyAccess": {
        "contract:GetContractList",
        "contract:GetPdfData",
        "contract:GetContractStatus",
        "contract:GetContractContact",
        "contract:GetDealList",
        "contract:GetBEIANList",
        "contract:DescribeOrganizationEmployees",
    },
    "QcloudInvoiceFullAccess": set(INVOICE_ACTIONS),
    "QcloudInvoiceReadOnlyAccess": {
        "invoice:DescribeConsumptionRecords",
        "invoice:DescribeMonthlyBills",
        "invoice:DescribeInvoiceableAmount",
        "invoice:DescribeInvoiceTitle",
        "invoice:MatchInvoiceAmount",
        "invoice:PreviewInvoice",
        "invoice:DescribeInvoices",
        "invoice:DescribeInvoiceDetail",
        "invoice:DownloadInvoice",
        "invoice:DescribeAutoInvoiceSetting",
    },
    "QcloudFinanceFullAccess": set(CONTRACT_ACTIONS) | set(INVOICE_ACTIONS),
}


@pytest.mark.parametrize("name", sorted(PRESET_EXPECTATIONS))
def test_cam_req_4_presets_allow_exactly_their_actions(name: str) -> None:
    preset = PRESET_POLICIES[name]
    expected = PRESET_EXPECTATIONS[name]
    assert set(preset.actions) == expected
    for action in CONTRACT_ACTIONS + INVOICE_ACTIONS + ("billing:DescribeBillList",):
        service = action.split(":")[0]
        for resource in (resource_name(service, OWNER, "*"), resource_name(service, OWNER, "x/1")):
            assert allowed([preset.policy], action, resource) is (action in expected), action


@pytest.mark.parametrize("name", sorted(PRESET_EXPECTATIONS))
def test_cam_req_4_presets_include_every_dependency_of_what_they_grant(name: str) -> None:
    actions = PRESET_POLICIES[name].actions
    assert with_dependencies(actions) == set(actions)


def test_cam_req_4_full_access_covers_both_parties_esign() -> None:
    actions = CONTRACT_FULL_ACCESS.actions
    assert with_dependencies(actions, both_parties_esign=True) == set(actions)


def test_cam_req_4_read_only_presets_grant_no_writes() -> None:
    for preset in (CONTRACT_READ_ONLY, INVOICE_READ_ONLY):
        for action in preset.actions:
            name = action.split(":")[1]
            assert not name.startswith(
                (
                    "Apply",
                    "Create",
                    "Modify",
                    "Cancel",
                    "Terminate",
                    "Revoke",
                    "Return",
                    "Urge",
                    "Refresh",
                    "Check",
                )
            )
    assert {p.name for p in (CONTRACT_FULL_ACCESS, INVOICE_FULL_ACCESS, FINANCE_FULL_ACCESS)} == {
        "QcloudContractFullAccess",
        "QcloudInvoiceFullAccess",
        "QcloudFinanceFullAccess",
    }


def test_cam_req_4_presets_are_valid_documents_for_resource_star() -> None:
    for preset in PRESET_POLICIES.values():
        assert preset.document["version"] == "2.0"
        (statement,) = preset.document["statement"]
        assert statement["effect"] == "allow" and statement["resource"] == "*"
        assert preset.policy.policy_id == preset.name


def test_cam_req_4_a_deny_narrows_a_preset() -> None:
    no_cancel = policy(deny("contract:CancelContract"))
    assert not allowed(
        [CONTRACT_FULL_ACCESS.policy, no_cancel], "contract:CancelContract", contract()
    )
    assert allowed(
        [CONTRACT_FULL_ACCESS.policy, no_cancel], "contract:UrgeContractSign", contract()
    )


# --- CAM-REQ-5: source IP and time conditions ----------------------------------------------


def test_cam_req_5_ip_equal_with_cidr() -> None:
    p = policy(allow("contract:*", "*", {"ip_equal": {"qcs:ip": "10.121.2.0/24"}}))
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "10.121.2.77"})
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "10.121.2.0"})
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "10.121.2.255"})
    assert not allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "10.121.3.1"})
    assert not allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "not-an-ip"})
    assert not allowed(p, "contract:GetPdfData", contract(), {})


def test_cam_req_5_ip_equal_several_blocks_single_addresses_and_ipv6() -> None:
    p = policy(
        allow("*", "*", {"ip_equal": {"qcs:ip": ["10.0.0.0/8", "192.168.1.10", "2001:db8::/32"]}})
    )
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "10.255.0.1"})
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "192.168.1.10"})
    assert not allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "192.168.1.11"})
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "2001:db8::1"})
    assert not allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "2001:db9::1"})


def test_cam_req_5_ip_not_equal_in_a_deny_blocks_outside_addresses() -> None:
    policies = [
        policy(allow("contract:*")),
        policy(
            deny("contract:*", "*", {"ip_not_equal": {"qcs:ip": ["10.0.0.0/8", "172.16.0.0/12"]}})
        ),
    ]
    assert allowed(policies, "contract:GetPdfData", contract(), {"qcs:ip": "10.1.2.3"})
    assert allowed(policies, "contract:GetPdfData", contract(), {"qcs:ip": "172.20.0.9"})
    assert not allowed(policies, "contract:GetPdfData", contract(), {"qcs:ip": "8.8.8.8"})


def test_cam_req_5_ip_not_equal_in_an_allow() -> None:
    p = policy(allow("*", "*", {"ip_not_equal": {"qcs:ip": "203.0.113.0/24"}}))
    assert allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "198.51.100.1"})
    assert not allowed(p, "contract:GetPdfData", contract(), {"qcs:ip": "203.0.113.9"})
    assert not allowed(p, "contract:GetPdfData", contract(), {})  # absent key: condition fails


def test_cam_req_5_date_window() -> None:
    window = {
        "date_greater_than": {"qcs:current_time": "2026-01-01T00:00:00Z"},
        "date_less_than": {"qcs:current_time": "2026-02-01 00:00:00"},
    }
    p = policy(allow("invoice:*", "*", window))
    assert allowed(
        p, "invoice:ApplyInvoice", invoice(), {"qcs:current_time": "2026-01-15T08:00:00Z"}
    )
    assert not allowed(
        p, "invoice:ApplyInvoice", invoice(), {"qcs:current_time": "2025-12-31T23:59:59Z"}
    )
    assert not allowed(
        p, "invoice:ApplyInvoice", invoice(), {"qcs:current_time": "2026-02-01T00:00:00Z"}
    )
    assert not allowed(
        p, "invoice:ApplyInvoice", invoice(), {"qcs:current_time": "2026-01-01T00:00:00Z"}
    )
    assert not allowed(p, "invoice:ApplyInvoice", invoice(), {})


def test_cam_req_5_date_context_as_datetime_epoch_or_offset_string() -> None:
    p = policy(allow("*", "*", {"date_less_than": {"qcs:current_time": "2026-01-01T00:00:00Z"}}))
    before = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert allowed(p, "x:Y", contract(), {"qcs:current_time": before})
    assert allowed(p, "x:Y", contract(), {"qcs:current_time": int(before.timestamp())})
    assert not allowed(p, "x:Y", contract(), {"qcs:current_time": before + timedelta(hours=2)})
    # 07:30 in Shanghai on 1 January is still 31 December in UTC.
    assert allowed(p, "x:Y", contract(), {"qcs:current_time": "2026-01-01T07:30:00+08:00"})
    shanghai = timezone(timedelta(hours=8))
    assert not allowed(
        p, "x:Y", contract(), {"qcs:current_time": datetime(2026, 1, 1, 8, 30, tzinfo=shanghai)}
    )
    assert not allowed(p, "x:Y", contract(), {"qcs:current_time": "soon"})


def test_cam_req_5_date_boundaries() -> None:
    moment = "2026-03-01T12:00:00Z"
    cases = {
        "date_equal": (False, True, False),
        "date_not_equal": (True, False, True),
        "date_less_than": (True, False, False),
        "date_less_than_equal": (True, True, False),
        "date_greater_than": (False, False, True),
        "date_greater_than_equal": (False, True, True),
    }
    probes = ("2026-03-01T11:59:59Z", moment, "2026-03-01T12:00:00.000001Z")
    for operator, expected in cases.items():
        p = policy(allow("*", "*", {operator: {"qcs:current_time": moment}}))
        got = tuple(allowed(p, "x:Y", contract(), {"qcs:current_time": t}) for t in probes)
        assert got == expected, operator


def test_cam_req_5_ip_and_time_together_must_both_hold() -> None:
    p = policy(
        allow(
            "*",
            "*",
            {
                "ip_equal": {"qcs:ip": "10.0.0.0/8"},
                "date_less_than": {"qcs:current_time": "2026-01-01T00:00:00Z"},
            },
        )
    )
    inside_early = {"qcs:ip": "10.0.0.1", "qcs:current_time": "2025-06-01T00:00:00Z"}
    assert allowed(p, "x:Y", contract(), inside_early)
    assert not allowed(p, "x:Y", contract(), {**inside_early, "qcs:ip": "11.0.0.1"})
    assert not allowed(p, "x:Y", contract(), {**inside_early, "qcs:current_time": "2026-06-01"})


# --- other condition operators ---------------------------------------------------------------


def cond_allows(condition: dict, context: dict) -> bool:
    return allowed(policy(allow("*", "*", condition)), "contract:GetPdfData", contract(), context)


def test_several_keys_under_one_operator_are_anded() -> None:
    condition = {"string_equal": {"a": "1", "b": "2"}}
    assert cond_allows(condition, {"a": "1", "b": "2"})
    assert not cond_allows(condition, {"a": "1", "b": "3"})
    assert not cond_allows(condition, {"a": "1"})


def test_string_operators() -> None:
    assert cond_allows({"string_equal": {"k": ["a", "b"]}}, {"k": "b"})
    assert not cond_allows({"string_equal": {"k": ["a", "b"]}}, {"k": "B"})
    assert cond_allows({"string_not_equal": {"k": ["a", "b"]}}, {"k": "c"})
    assert not cond_allows({"string_not_equal": {"k": ["a", "b"]}}, {"k": "a"})
    assert cond_allows({"string_equal_ignore_case": {"k": "ABC"}}, {"k": "aBc"})
    assert not cond_allows({"string_not_equal_ignore_case": {"k": "ABC"}}, {"k": "abc"})
    assert cond_allows({"string_equal": {"mfa": "0"}}, {"mfa": 0})
    assert cond_allows({"string_equal": {"k": True}}, {"k": "true"})
    assert not cond_allows({"string_equal": {"k": "x"}}, {"k": object()})


def test_string_like_operators() -> None:
    assert cond_allows({"string_like": {"k": "dept/*/fin?"}}, {"k": "dept/a/b/fin1"})
    assert not cond_allows({"string_like": {"k": "dept/*/fin?"}}, {"k": "dept/a/fin12"})
    assert not cond_allows({"string_like": {"k": "Dept*"}}, {"k": "dept"})
    assert cond_allows({"string_not_like": {"k": ["a*", "b*"]}}, {"k": "cat"})
    assert not cond_allows({"string_not_like": {"k": ["a*", "b*"]}}, {"k": "bat"})
    assert cond_allows({"string_like": {"k": "a.b"}}, {"k": "a.b"})
    assert not cond_allows({"string_like": {"k": "a.b"}}, {"k": "axb"})


def test_numeric_operators() -> None:
    cases = {
        "numeric_equal": (False, True, False),
        "numeric_not_equal": (True, False, True),
        "numeric_less_than": (True, False, False),
        "numeric_less_than_equal": (True, True, False),
        "numeric_greater_than": (False, False, True),
        "numeric_greater_than_equal": (False, True, True),
    }
    for operator, expected in cases.items():
        got = tuple(cond_allows({operator: {"n": "10"}}, {"n": v}) for v in (9.5, "10.0", 11))
        assert got == expected, operator
    assert cond_allows({"numeric_equal": {"n": 10}}, {"n": Decimal("10.00")})
    assert not cond_allows({"numeric_equal": {"n": 1}}, {"n": True})
    assert not cond_allows({"numeric_not_equal": {"n": 1}}, {"n": "many"})
    assert not cond_allows({"numeric_not_equal": {"n": 1}}, {"n": float("nan")})
    assert cond_allows({"numeric_less_than": {"n": ["1", "5"]}}, {"n": 3})  # any value


def test_bool_null_and_binary_operators() -> None:
    assert cond_allows(
        {"bool_equal": {"qcs:secure_transport": "true"}}, {"qcs:secure_transport": True}
    )
    assert cond_allows({"bool_equal": {"k": False}}, {"k": "FALSE"})
    assert not cond_allows({"bool_equal": {"k": "true"}}, {"k": "yes"})
    assert cond_allows({"null_equal": {"k": "true"}}, {})
    assert cond_allows({"null_equal": {"k": "true"}}, {"k": None})
    assert cond_allows({"null_equal": {"k": "true"}}, {"k": []})
    assert not cond_allows({"null_equal": {"k": "true"}}, {"k": "v"})
    assert cond_allows({"null_equal": {"k": "false"}}, {"k": "v"})
    assert not cond_allows({"null_equal": {"k": "false"}}, {})
    assert cond_allows({"binary_equal": {"k": "aGVsbG8="}}, {"k": b"hello"})
    assert cond_allows({"binary_equal": {"k": "aGVsbG8="}}, {"k": "aGVsbG8="})
    assert not cond_allows({"binary_equal": {"k": "aGVsbG8="}}, {"k": b"hellO"})


def test_if_exist_suffix_passes_only_when_the_key_is_absent() -> None:
    condition = {"ip_equal_if_exist": {"qcs:ip": "10.0.0.0/8"}}
    assert cond_allows(condition, {})
    assert cond_allows(condition, {"qcs:ip": "10.0.0.1"})
    assert not cond_allows(condition, {"qcs:ip": "11.0.0.1"})
    assert not cond_allows({"ip_equal": {"qcs:ip": "10.0.0.0/8"}}, {})
    assert cond_allows({"string_not_equal_if_exist": {"k": "x"}}, {})
    assert not cond_allows({"string_not_equal": {"k": "x"}}, {})


def test_multi_valued_context_and_qualifiers() -> None:
    tags = {"qcs:request_tag": ["team&fin", "env&prod"]}
    assert cond_allows({"for_any_value:string_equal": {"qcs:request_tag": "env&prod"}}, tags)
    assert not cond_allows({"for_all_value:string_equal": {"qcs:request_tag": "env&prod"}}, tags)
    assert cond_allows(
        {"for_all_value:string_equal": {"qcs:request_tag": ["env&prod", "team&fin"]}}, tags
    )
    assert cond_allows({"string_equal": {"qcs:request_tag": "team&fin"}}, tags)  # like any
    assert not cond_allows(
        {"for_all_value:string_equal": {"qcs:request_tag": "x"}}, {"qcs:request_tag": []}
    )
    assert cond_allows({"for_any_value:string_equal_if_exist": {"qcs:request_tag": "x"}}, {})
