"""What invoice-svc needs from a tax platform or an issuing provider (Nuonuo, Baiwang, the
bureau's own 乐企 channel ...), independent of any one of them. Modelled on Odoo's
provider-neutral `l10n_cn_edi` client (reference/einvoice.md §2.1, §4).

Rules every adapter keeps:
- `order_no` is ours and makes `issue` idempotent: submitting the same order number again
  returns the invoice already made for it (never a second one). A retry after a timeout or
  an unknown outcome uses the SAME order number and asks first (`query`).
- Connectivity problems (timeouts, refused connections, 5xx, throttling) raise
  `PlatformUnavailable`: "try again later", never "failed".
- A business refusal raises `PlatformRejected` with the platform's code and reason (or comes
  back as a `failed` status from `query`): the invoice fails and its money is released.
- Issuing is asynchronous: `issue` may answer `issuing`; `query` tells when it is done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from invoice_svc.documents.model import DocumentLine, InvoiceKind, Party

IssueState = Literal["issuing", "issued", "failed"]

#: Bureau states of a 红字发票信息确认单 (reference/einvoice.md §4.1), passed through as is.
FORM_NO_CONFIRMATION = "01"  # 无需确认
FORM_SELLER_RAISED_PENDING = "02"  # 销方录入待购方确认
FORM_BUYER_RAISED_PENDING = "03"  # 购方录入待销方确认
FORM_CONFIRMED = "04"  # 购销双方已确认
FORM_VOID_BUYER_DENIED = "05"
FORM_VOID_SELLER_DENIED = "06"
FORM_VOID_LAPSED = "07"  # 超72小时未确认
FORM_VOID_REVOKED = "08"  # 发起方已撤销
FORM_VOID_REVOKED_AFTER_CONFIRM = "09"
FORM_VOID_ABNORMAL = "10"
FORM_CONFIRMED_STATES = frozenset({FORM_NO_CONFIRMATION, FORM_CONFIRMED})
FORM_PENDING_STATES = frozenset({FORM_SELLER_RAISED_PENDING, FORM_BUYER_RAISED_PENDING})
FORM_VOID_STATES = frozenset({FORM_VOID_BUYER_DENIED, FORM_VOID_SELLER_DENIED, FORM_VOID_LAPSED,
                              FORM_VOID_REVOKED, FORM_VOID_REVOKED_AFTER_CONFIRM,
                              FORM_VOID_ABNORMAL})

#: 红冲原因, mapped by name (providers number them differently).
RedReason = Literal["issue_error", "sales_return", "service_suspension", "sales_discount"]
RED_REASON_NAMES: dict[str, str] = {
    "issue_error": "开票有误", "sales_return": "销货退回",
    "service_suspension": "服务中止", "sales_discount": "销售折让",
}


class PlatformError(Exception):
    """Base of what an adapter raises."""


class PlatformUnavailable(PlatformError):
    """Could not get an answer (timeout, connection, 5xx, throttled): try again later with
    the same order number. The outcome of the call is unknown."""


class PlatformRejected(PlatformError):
    """The platform refused the request for a business reason; retrying will not help."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """A blue invoice to issue (or a red one: `original_number` + `red_form_number` set and
    negative amounts)."""

    order_no: str  # ours, unique per invoice; the idempotency key with the platform
    kind: InvoiceKind
    buyer: Party
    seller: Party
    lines: tuple[DocumentLine, ...]
    drawer: str
    remark: str = ""
    buyer_email: str | None = None
    original_number: str | None = None
    red_form_number: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedDocuments:
    pdf: bytes
    xml: bytes
    ofd: bytes | None = None


@dataclass(frozen=True, slots=True)
class IssueResult:
    order_no: str
    state: IssueState
    number: str | None = None  # 20 digits once issued
    issued_at: datetime | None = None
    documents: IssuedDocuments | None = None  # once issued
    failure_code: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RedFormRequest:
    """A 红字确认单 raised by the seller (us) against a blue invoice. Full offset when
    `lines` is empty; partial offset lists `(blue line index, negative net, negative tax)`,
    the index 0-based in the blue invoice's `lines`."""

    request_no: str  # ours, idempotency key
    blue_number: str
    reason: RedReason
    buyer_deducted: bool  # the buyer has done 用途确认/入账确认 -> buyer must confirm
    lines: tuple[tuple[int, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class RedForm:
    form_number: str  # 红字发票信息确认单编号
    blue_number: str
    state: str  # a FORM_* code
    raised_by: Literal["seller", "buyer"]
    reason: RedReason
    amount_fen: int  # negative: what the red invoice will offset
    created_at: datetime
    red_invoice_number: str | None = None  # set once the platform issued the red invoice
    request_no: str | None = None
    lines: tuple[tuple[int, int, int], ...] = field(default=())


@runtime_checkable
class TaxPlatform(Protocol):
    async def issue(self, request: IssueRequest) -> IssueResult:
        """Submit (idempotent by `order_no`). Answers the current state: may be `issuing`."""
        ...

    async def query(self, order_no: str) -> IssueResult | None:
        """The state of an order number, or None if the platform never received it."""
        ...

    async def request_red_form(self, request: RedFormRequest) -> RedForm:
        """Raise a red-letter form (idempotent by `request_no`)."""
        ...

    async def query_red_form(self, form_number: str) -> RedForm | None: ...

    async def query_red_invoice(self, form_number: str) -> IssueResult | None:
        """The red invoice the platform issued for a confirmed form (with its documents), or
        None while there is none."""
        ...

    async def confirm_red_form(self, form_number: str) -> RedForm:
        """Confirm a form the buyer raised (state 03 -> 04)."""
        ...

    async def reject_red_form(self, form_number: str) -> RedForm:
        """Deny a form the buyer raised (03 -> 06)."""
        ...

    async def revoke_red_form(self, form_number: str) -> RedForm:
        """Withdraw a form we raised while pending (02 -> 08)."""
        ...

    async def list_inbound_red_forms(self, since: datetime) -> Sequence[RedForm]:
        """Forms raised by buyers against our invoices since a time (to confirm or reject)."""
        ...

    async def close(self) -> None: ...
