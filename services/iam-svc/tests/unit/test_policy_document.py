"""Parsing and validating CAM policy documents (CAM-REQ-1)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from iam_svc.policies import (
    MAX_POLICY_DOCUMENT_CHARS,
    POLICY_DOCUMENT_ERROR_CODE,
    PolicyDocumentError,
    parse_policy,
    validate_policy_document,
)


def doc(*statements: dict, **top: object) -> dict:
    return {"version": "2.0", "statement": list(statements), **top}


ALLOW_LIST = {
    "effect": "allow",
    "action": ["contract:GetContractList"],
    "resource": ["qcs::contract::uin/100001:contract/*"],
}


def test_cam_req_1_parses_the_documented_shape() -> None:
    policy = parse_policy(
        json.dumps(
            doc(
                {
                    "effect": "allow",
                    "action": ["name/cos:PutObject", "cos:GetObject", "cvm:Describe*"],
                    "resource": [
                        "qcs::cos:ap-beijing:uid/1238423:bucketA-1238423/*",
                        "qcs::cvm:ap-guangzhou:uin/1234:instance/ins-1",
                    ],
                    "condition": {"ip_equal": {"qcs:ip": ["10.121.2.0/24"]}},
                },
                {"effect": "deny", "action": "cvm:TerminateInstances", "resource": "*"},
            )
        ),
        policy_id="p-1",
    )
    assert policy.policy_id == "p-1"
    first, second = policy.statements
    assert first.effect == "allow"
    assert first.actions == ("cos:PutObject", "cos:GetObject", "cvm:Describe*")
    assert first.condition is not None and len(first.condition.conditions) == 1
    assert second.effect == "deny"
    assert second.actions == ("cvm:TerminateInstances",)
    assert second.resources == ("*",)
    assert second.resource_template is None  # '*' compiles to "every resource"
    assert [s.index for s in policy.statements] == [0, 1]


def test_cam_req_1_single_values_need_no_list() -> None:
    policy = parse_policy(
        doc({"effect": "allow", "action": "contract:*", "resource": "qcs::contract:::contract/*"})
    )
    assert policy.statements[0].actions == ("contract:*",)
    assert policy.statements[0].resources == ("qcs::contract:::contract/*",)


def test_accepts_bytes_and_mappings_alike() -> None:
    as_text = json.dumps(doc(ALLOW_LIST))
    from_bytes = parse_policy(as_text.encode())
    from_mapping = parse_policy(doc(ALLOW_LIST))
    assert from_bytes.statements == from_mapping.statements
    assert from_mapping.document == doc(ALLOW_LIST)


def test_compiled_policy_is_immutable() -> None:
    policy = parse_policy(doc(ALLOW_LIST))
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.policy_id = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.statements[0].effect = "deny"  # type: ignore[misc]
    policy.document["version"] = "1.0"  # a copy: the policy is unaffected
    assert policy.document["version"] == "2.0"


def bad_statement(**changes: object) -> dict:
    statement = dict(ALLOW_LIST)
    for key, value in changes.items():
        if value is None:
            statement.pop(key, None)
        else:
            statement[key] = value
    return doc(statement)


MALFORMED = [
    ('{"version": "2.0", "statement": [', "policy document is not valid JSON"),
    ("[1, 2]", "policy document must be a JSON object"),
    ({"statement": [ALLOW_LIST]}, "version is required"),
    ({"version": "1.0", "statement": [ALLOW_LIST]}, "version must be '2.0', got '1.0'"),
    ({"version": 2.0, "statement": [ALLOW_LIST]}, "version must be '2.0', got 2.0"),
    ({"version": "2.0"}, "statement must be a non-empty list"),
    ({"version": "2.0", "statement": []}, "statement must be a non-empty list"),
    ({"version": "2.0", "statement": ALLOW_LIST}, "statement must be a non-empty list"),
    (doc(ALLOW_LIST, ["allow"]), "statement[1] must be an object"),
    (
        doc(ALLOW_LIST, {**ALLOW_LIST, "effect": "Allow"}),
        "statement[1].effect must be 'allow' or 'deny'",
    ),
    (bad_statement(effect=None), "statement[0].effect must be 'allow' or 'deny'"),
    (bad_statement(effect="permit"), "statement[0].effect must be 'allow' or 'deny'"),
    (bad_statement(Effect="allow"), "statement[0]: element names are lowercase, use 'effect'"),
    (bad_statement(notaction=["x:Y"]), "statement[0]: unknown element 'notaction'"),
    (
        bad_statement(principal={"qcs": ["qcs::cam::uin/1:uin/2"]}),
        "statement[0].principal is not allowed",
    ),
    (doc(ALLOW_LIST, principal="*"), "policy.principal is not allowed"),
    (doc(ALLOW_LIST, Version="2.0"), "policy: element names are lowercase, use 'version'"),
    (bad_statement(action=None), "statement[0].action is required"),
    (bad_statement(resource=None), "statement[0].resource is required"),
    (bad_statement(action=[]), "statement[0].action must not be empty"),
    (bad_statement(action=[""]), "statement[0].action[0] must be a non-empty string"),
    (bad_statement(action=["contract:A", 7]), "statement[0].action[1] must be a non-empty string"),
    (
        bad_statement(action="GetContractList"),
        "statement[0].action 'GetContractList' must be '*' or 'service:ActionName'",
    ),
    (
        bad_statement(action=["Contract:GetContractList"]),
        "statement[0].action[0] 'Contract:GetContractList'",
    ),
    (
        bad_statement(action=["contract:Get Contract"]),
        "statement[0].action[0] 'contract:Get Contract'",
    ),
    (bad_statement(action=["contract:${uin}"]), "statement[0].action[0]"),
    (bad_statement(resource=[]), "statement[0].resource must not be empty"),
    (
        bad_statement(resource=["qcs::contract"]),
        "statement[0].resource[0] 'qcs::contract' must be '*' or a six-segment",
    ),
    (bad_statement(resource="arn:aws:s3:::bucket/key:x"), "must be '*' or a six-segment"),
    (
        bad_statement(resource=["qcs::contract::100001:contract/1"]),
        "account segment must be empty, '*', or 'uin/<uin>'",
    ),
    (bad_statement(resource=["qcs::contract::uin/1:"]), "resource segment must not be empty"),
    (bad_statement(resource=["qcs::con tract::uin/1:x"]), "service segment contains whitespace"),
    (bad_statement(resource=["qcs::contract::uin/1:u/${user}"]), "unknown policy variable ${user}"),
    (bad_statement(condition="ip"), "statement[0].condition: must be an object"),
    (bad_statement(condition={}), "statement[0].condition: must not be empty"),
    (
        bad_statement(condition={"ip_in": {"qcs:ip": "10.0.0.0/8"}}),
        "statement[0].condition.ip_in: unknown condition operator 'ip_in'",
    ),
    (
        bad_statement(condition={"ip_equal": {}}),
        "statement[0].condition.ip_equal: must be a non-empty object",
    ),
    (
        bad_statement(condition={"ip_equal": {"qcs:ip": []}}),
        "statement[0].condition.ip_equal.qcs:ip: needs at least one value",
    ),
    (
        bad_statement(condition={"ip_equal": {"qcs:ip": ["10.0.0.0/8", "10.0.0.300"]}}),
        "statement[0].condition.ip_equal.qcs:ip[1]: '10.0.0.300' is not an IP address",
    ),
    (
        bad_statement(condition={"ip_equal": {"qcs:ip": "10.0.0.0/33"}}),
        "is not an IP address or CIDR block",
    ),
    (
        bad_statement(condition={"date_less_than": {"qcs:current_time": "tomorrow"}}),
        "statement[0].condition.date_less_than.qcs:current_time[0]: 'tomorrow' is not a date",
    ),
    (bad_statement(condition={"numeric_less_than": {"n": "ten"}}), "'ten' is not a number"),
    (bad_statement(condition={"numeric_less_than": {"n": True}}), "True is not a number"),
    (bad_statement(condition={"bool_equal": {"mfa": "yes"}}), "'yes' is not 'true' or 'false'"),
    (bad_statement(condition={"binary_equal": {"k": "***"}}), "'***' is not base64"),
    (bad_statement(condition={"null_equal_if_exist": {"k": "true"}}), "null_equal takes neither"),
    (
        bad_statement(condition={"for_any_value:null_equal": {"k": "true"}}),
        "null_equal takes neither",
    ),
    (
        bad_statement(condition={"null_equal": {"k": ["true", "false"]}}),
        "null_equal takes exactly one value",
    ),
    (
        bad_statement(condition={"string_equal": {"k": {"a": 1}}}),
        "values must be strings, numbers or booleans",
    ),
    (bad_statement(condition={"string_equal": {"k": "${who}"}}), "unknown policy variable ${who}"),
    (
        bad_statement(condition={"ip_equal": {"qcs:ip": "${uin}"}}),
        "policy variables are only allowed in string operators",
    ),
    ('{"version": "2.0", "version": "2.0", "statement": []}', "duplicate element 'version'"),
    ('{"version": "2.0", "statement": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply"),
    ('{"version": "2.0", "statement": [{"x": ' + "9" * 4400 + "}]}", "not valid JSON"),
    (bad_statement(action="contract:\udc00"), "lone UTF-16 surrogate"),
    (json.dumps(bad_statement(action="contract:Get")).replace("Get", "\\ud800"),
     "lone UTF-16 surrogate"),
]


@pytest.mark.parametrize(("document", "message"), MALFORMED)
def test_cam_req_1_malformed_documents_are_refused_with_a_pointer(
    document: object, message: str
) -> None:
    with pytest.raises(PolicyDocumentError) as caught:
        parse_policy(document)  # type: ignore[arg-type]
    assert caught.value.code == POLICY_DOCUMENT_ERROR_CODE == "InvalidParameter.PolicyDocument"
    assert message in caught.value.message
    assert str(caught.value) == caught.value.message


def test_refuses_non_json_inputs() -> None:
    with pytest.raises(PolicyDocumentError, match="UTF-8"):
        parse_policy(b"\xff\xfe{}")
    with pytest.raises(PolicyDocumentError, match="JSON string or object"):
        parse_policy(42)  # type: ignore[arg-type]
    with pytest.raises(PolicyDocumentError, match="not JSON data"):
        parse_policy({"version": "2.0", "statement": [{"effect": "allow", "x": object()}]})


def _padded(length: int) -> str:
    text = json.dumps(doc(ALLOW_LIST))
    return text[:-1] + " " * (length - len(text)) + "}"


def test_size_limit_is_cams_6144_characters() -> None:
    assert MAX_POLICY_DOCUMENT_CHARS == 6144
    at_limit = _padded(6144)
    assert len(at_limit) == 6144
    validate_policy_document(at_limit)
    with pytest.raises(PolicyDocumentError, match="6145 characters; at most 6144"):
        validate_policy_document(_padded(6145))


def test_size_limit_counts_characters_not_bytes() -> None:
    text = json.dumps(
        doc({**ALLOW_LIST, "condition": {"string_equal": {"qcs:tag": "合同"}}}), ensure_ascii=False
    )
    padded = text[:-1] + " " * (6144 - len(text)) + "}"
    assert len(padded.encode()) > 6144
    validate_policy_document(padded)


def test_size_limit_applies_to_mappings_too() -> None:
    big = doc(*[ALLOW_LIST] * 60)
    with pytest.raises(PolicyDocumentError, match="at most 6144"):
        parse_policy(big)


def test_variables_are_kept_for_binding() -> None:
    policy = parse_policy(bad_statement(resource="qcs::contract::uin/${owner_uin}:u/${uin}/*"))
    statement = policy.statements[0]
    assert statement.needs_binding
    assert statement.resource_regex is None
    plain = parse_policy(doc(ALLOW_LIST)).statements[0]
    assert not plain.needs_binding
    assert plain.resource_regex is not None


def test_resource_star_inside_a_segment_does_not_cross_colons() -> None:
    statement = parse_policy(bad_statement(resource="qcs::contract:*:uin/1:contract/*")).statements[
        0
    ]
    regex = statement.resource_regex
    assert regex is not None
    assert regex.fullmatch("qcs::contract:ap-guangzhou:uin/1:contract/a:b/c")
    assert regex.fullmatch("qcs::contract::uin/1:contract/x")
    assert not regex.fullmatch("qcs::contract:ap:extra:uin/1:contract/x")
    assert not regex.fullmatch("qcs::invoice:ap:uin/1:contract/x")


def test_regex_metacharacters_in_patterns_are_literal() -> None:
    statement = parse_policy(
        bad_statement(action="contract:Get_*", resource="qcs::contract::uin/1:c/a.b[1]+(x)")
    ).statements[0]
    assert statement.resource_regex is not None
    assert statement.resource_regex.fullmatch("qcs::contract::uin/1:c/a.b[1]+(x)")
    assert not statement.resource_regex.fullmatch("qcs::contract::uin/1:c/aXb1+(x)")
    assert statement.matches_action("contract:Get_List")
    assert not statement.matches_action("contract:GetList")
