"""Contract and invoice CAM actions, their dependencies (CAM-REQ-3/4) and preset policies.

The contract actions and their dependencies come from the source's "合同 CAM 权限设置指引"
table. All are operation-level (操作级), so presets grant them on resource ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from iam_svc.policies.document import CompiledPolicy, parse_policy

CONTRACT_SERVICE: Final = "contract"
INVOICE_SERVICE: Final = "invoice"


def _qualify(service: str, names: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{service}:{name}" for name in names)


CONTRACT_ACTIONS: Final = _qualify(
    CONTRACT_SERVICE,
    (
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
    ),
)
"""The 17 contract actions of CAM-REQ-3, in the source's order."""

CONTRACT_READ_ONLY_ACTIONS: Final = tuple(
    a for a in CONTRACT_ACTIONS if a.split(":", 1)[1].startswith(("Get", "Describe"))
)
"""The contract actions that only read: Get* and Describe*. RefreshData (pulls new status and
sealed files into the contract) and CheckContractRule (a step of creating) are left out."""

INVOICE_ACTIONS: Final = _qualify(
    INVOICE_SERVICE,
    (
        "DescribeConsumptionRecords",
        "DescribeMonthlyBills",
        "DescribeInvoiceableAmount",
        "CreateInvoiceTitle",
        "ModifyInvoiceTitle",
        "DescribeInvoiceTitle",
        "MatchInvoiceAmount",
        "PreviewInvoice",
        "ApplyInvoice",
        "DescribeInvoices",
        "DescribeInvoiceDetail",
        "RevokeInvoice",
        "ReturnInvoice",
        "DownloadInvoice",
        "DescribeAutoInvoiceSetting",
        "ModifyAutoInvoiceSetting",
    ),
)

INVOICE_READ_ONLY_ACTIONS: Final = tuple(
    a
    for a in INVOICE_ACTIONS
    if a.split(":", 1)[1].startswith(("Describe", "Download", "Preview", "Match"))
)

ALL_ACTIONS: Final = CONTRACT_ACTIONS + INVOICE_ACTIONS
_KNOWN_ACTIONS: Final = frozenset(ALL_ACTIONS)

_CREATE_ANY_CONTRACT: Final = _qualify(
    CONTRACT_SERVICE, ("GetContractStatus", "GetContractContact", "RefreshData", "GetPdfData")
)
_CHECK_RULE: Final = f"{CONTRACT_SERVICE}:CheckContractRule"
_EMPLOYEES: Final = f"{CONTRACT_SERVICE}:DescribeOrganizationEmployees"


def _deps(*actions: str) -> frozenset[str]:
    return frozenset(actions)


ACTION_DEPENDENCIES: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Viewing contracts needs their attachments too
        # (GetPdfData: "配置查询或创建权限策略时均需包含该接口").
        "contract:GetContractList": _deps("contract:GetPdfData"),
        # Every contract kind needs real-name info, Party A contact, refresh and attachments;
        # framework, order and filing contracts also need the rule check.
        "contract:ApplyPactContract": _deps(*_CREATE_ANY_CONTRACT, _CHECK_RULE),
        "contract:ApplyDealContract": _deps(
            *_CREATE_ANY_CONTRACT, _CHECK_RULE, "contract:GetDealList"
        ),
        "contract:ApplyBeianContract": _deps(
            *_CREATE_ANY_CONTRACT, _CHECK_RULE, "contract:GetBEIANList"
        ),
        "contract:ApplyPaymentContract": _deps(*_CREATE_ANY_CONTRACT),
        # Adding an e-sign signer means choosing among the enterprise's e-sign employees.
        "contract:ApplySignUser": _deps(_EMPLOYEES),
    }
)
"""Action -> the other actions a policy granting it must also grant (CAM-REQ-4)."""

CONTRACT_CREATING_ACTIONS: Final = (
    "contract:ApplyPactContract",
    "contract:ApplyDealContract",
    "contract:ApplyBeianContract",
    "contract:ApplyPaymentContract",
)


def required_actions(action: str, *, both_parties_esign: bool = False) -> frozenset[str]:
    """The actions that ``action`` also needs (not including itself), transitively.

    ``both_parties_esign``: the contract is created with both parties' e-signatures, which also
    needs ``contract:DescribeOrganizationEmployees``. Raises ``ValueError`` for an unknown action.
    """
    if action not in _KNOWN_ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    needed: set[str] = set()
    pending = [action]
    while pending:
        for dependency in ACTION_DEPENDENCIES.get(pending.pop(), ()):
            if dependency not in needed:
                needed.add(dependency)
                pending.append(dependency)
    if both_parties_esign and action in CONTRACT_CREATING_ACTIONS:
        needed.add(_EMPLOYEES)
    needed.discard(action)
    return frozenset(needed)


def with_dependencies(
    actions: Iterable[str], *, both_parties_esign: bool = False
) -> frozenset[str]:
    """``actions`` plus everything they need: what a custom policy should grant."""
    result: set[str] = set()
    for action in actions:
        result.add(action)
        result |= required_actions(action, both_parties_esign=both_parties_esign)
    return frozenset(result)


@dataclass(frozen=True, slots=True)
class PresetPolicy:
    name: str
    description: str
    actions: tuple[str, ...]
    policy: CompiledPolicy

    @property
    def document(self) -> dict[str, object]:
        return self.policy.document


def _preset(name: str, description: str, actions: tuple[str, ...]) -> PresetPolicy:
    document = {
        "version": "2.0",
        "statement": [{"effect": "allow", "action": list(actions), "resource": "*"}],
    }
    return PresetPolicy(name, description, actions, parse_policy(document, policy_id=name))


PRESET_POLICIES: Final[Mapping[str, PresetPolicy]] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            _preset("QcloudContractFullAccess", "合同管理全读写访问权限", CONTRACT_ACTIONS),
            _preset(
                "QcloudContractReadOnlyAccess", "合同管理只读访问权限", CONTRACT_READ_ONLY_ACTIONS
            ),
            _preset("QcloudInvoiceFullAccess", "发票管理全读写访问权限", INVOICE_ACTIONS),
            _preset(
                "QcloudInvoiceReadOnlyAccess", "发票管理只读访问权限", INVOICE_READ_ONLY_ACTIONS
            ),
            _preset("QcloudFinanceFullAccess", "发票与合同全读写访问权限", ALL_ACTIONS),
        )
    }
)

CONTRACT_FULL_ACCESS: Final = PRESET_POLICIES["QcloudContractFullAccess"]
CONTRACT_READ_ONLY: Final = PRESET_POLICIES["QcloudContractReadOnlyAccess"]
INVOICE_FULL_ACCESS: Final = PRESET_POLICIES["QcloudInvoiceFullAccess"]
INVOICE_READ_ONLY: Final = PRESET_POLICIES["QcloudInvoiceReadOnlyAccess"]
FINANCE_FULL_ACCESS: Final = PRESET_POLICIES["QcloudFinanceFullAccess"]
