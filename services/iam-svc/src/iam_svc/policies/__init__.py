"""CAM policy engine: parse documents, evaluate requests, preset policies (pure domain)."""

from iam_svc.policies.conditions import ConditionBlock, parse_cam_time
from iam_svc.policies.document import (
    MAX_POLICY_DOCUMENT_CHARS,
    POLICY_DOCUMENT_ERROR_CODE,
    CompiledPolicy,
    CompiledStatement,
    PolicyDocumentError,
    parse_policy,
    validate_policy_document,
)
from iam_svc.policies.evaluator import (
    CallerPolicies,
    Decision,
    Principal,
    Reason,
    Request,
    StatementRef,
    decide,
    resource_name,
)
from iam_svc.policies.presets import (
    ACTION_DEPENDENCIES,
    CONTRACT_ACTIONS,
    INVOICE_ACTIONS,
    PRESET_POLICIES,
    PresetPolicy,
    required_actions,
    with_dependencies,
)

__all__ = [
    "ACTION_DEPENDENCIES",
    "CONTRACT_ACTIONS",
    "INVOICE_ACTIONS",
    "MAX_POLICY_DOCUMENT_CHARS",
    "POLICY_DOCUMENT_ERROR_CODE",
    "PRESET_POLICIES",
    "CallerPolicies",
    "CompiledPolicy",
    "CompiledStatement",
    "ConditionBlock",
    "Decision",
    "PolicyDocumentError",
    "PresetPolicy",
    "Principal",
    "Reason",
    "Request",
    "StatementRef",
    "decide",
    "parse_cam_time",
    "parse_policy",
    "required_actions",
    "resource_name",
    "validate_policy_document",
    "with_dependencies",
]
