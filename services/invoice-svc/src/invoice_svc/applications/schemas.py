"""Request bodies of matching, preview and application (snake_case; the gateway maps
PascalCase). Amounts are yuan strings with at most two decimals, parsed by the service so a
bad one is answered `InvalidParameterValue.Amount` naming the field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from invoice_svc.common.types import Amount, ClientToken, Flag, Month, RecordId

MAX_LINES = 5000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AllocationLineIn(_Body):
    """One adjusted line: a record (match_by records) or a monthly bill (match_by bills)."""

    record_id: RecordId | None = None
    month: Month | None = None
    amount: Amount


class AllocationIn(_Body):
    legacy_amount: Amount = "0.00"
    lines: list[AllocationLineIn] = Field(default_factory=list, max_length=MAX_LINES)


class MatchRequest(_Body):
    total_amount: Amount
    match_by: Literal["records", "bills"] = "records"


class InvoiceRequest(_Body):
    """What to invoice and how. `mode`:

    - `records`: `record_ids`, each invoiced for its whole balance (INV-REQ-13a);
    - `bills`: `months`, each monthly bill invoiced whole (INV-REQ-13b);
    - `amount`: `total_amount`, drawn as proposed (legacy first, then newest to oldest) or as
      the customer adjusted it in `allocation` (INV-REQ-13c).
    """

    mode: Literal["records", "bills", "amount"]
    record_ids: list[RecordId] | None = Field(default=None, max_length=MAX_LINES)
    months: list[Month] | None = Field(default=None, max_length=240)
    total_amount: Amount | None = None
    match_by: Literal["records", "bills"] = "records"
    allocation: AllocationIn | None = None
    legacy_tax_rate: Literal["0.06", "0.09", "0.13"] | None = None
    remark: str | None = Field(default=None, max_length=2000)
    email: str | None = Field(default=None, max_length=254)
    show_buyer_bank: Flag = False
    show_seller_bank: Flag = False


class ApplyRequest(InvoiceRequest):
    email: str = Field(max_length=254)
    client_token: ClientToken | None = None
