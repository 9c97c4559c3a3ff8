"""REST of returns (退票, INV-REQ-21..25).

Customer:
- `POST /v1/invoices/{invoice_id}/returns` submit a return (reason, description, deducted,
  red_form_number, courier fields for paper). A submitted return cannot be withdrawn: there
  is deliberately no endpoint to cancel it (INV-REQ-24); the operator may reject it.
- `POST /v1/invoices/{invoice_id}/returns/red-form` give the red-letter form number later
  (red_letter_pending -> returning).
- `GET /v1/invoices/{invoice_id}/returns` the invoice's status and its returns (current first):
  plan dates, form state, red invoice id and number. The red invoice itself is downloaded as
  any invoice: `GET /v1/invoices/{red_invoice_id}/documents/pdf`.
- `GET /v1/invoices/{invoice_id}/lost-invoice-remedy` lost invoice (INV-REQ-26): download again
  (electronic, 数电) or a stamped stub scan by ticket in 5-7 business days (paper).

Operator (callers `operator` only):
- `POST /v1/operator/invoices/{invoice_id}/returns/approve` paper: review passed.
- `POST /v1/operator/invoices/{invoice_id}/returns/reject` with a reason: return_rejected.
- `POST /v1/operator/invoices/{invoice_id}/returns/complete` legacy electronic and paper:
  voided, money released.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from invoice_svc.common.deps import CustomerCaller, OperatorCaller, RuntimeDep
from invoice_svc.common.types import Flag, Text, Token
from invoice_svc.returns import service
from invoice_svc.returns.rules import ReturnRequest

router = APIRouter(tags=["returns"])


InvoiceId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]{1,36}$")]


class ReturnBody(BaseModel):
    """Lengths and choices are checked by returns.rules, which answer stable codes
    (InvalidParameterValue.ReturnReason, ...ReturnDescriptionTooLong, MissingParameter.Deducted
    ...); the sizes here only stop absurd bodies."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=64)
    description: str | None = Field(default=None, max_length=1000)
    deducted: Flag | None = None
    red_form_number: Token | None = Field(default=None, max_length=64)
    courier_company: str | None = Field(default=None, max_length=200)
    tracking_number: str | None = Field(default=None, max_length=64)


class RedFormBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    red_form_number: Token | None = Field(default=None, max_length=64)


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=service.DECISION_REASON_MAX)


@router.post("/v1/invoices/{invoice_id}/returns",
             summary="Submit a return (退票); it cannot be withdrawn (INV-REQ-22..25)")
async def submit_return(invoice_id: InvoiceId, body: ReturnBody, caller: CustomerCaller,
                        runtime: RuntimeDep) -> dict[str, Any]:
    request = ReturnRequest(**body.model_dump())
    async with runtime.db.transaction() as session:
        return await service.submit_return(session, caller.uin or "", invoice_id, request,
                                           runtime.clock.now(), created_by=caller.sub_uin)


@router.post("/v1/invoices/{invoice_id}/returns/red-form",
             summary="Give the red-letter form number of a return waiting for it")
async def supply_red_form(invoice_id: InvoiceId, body: RedFormBody, caller: CustomerCaller,
                          runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.supply_red_form(session, caller.uin or "", invoice_id,
                                             body.red_form_number, runtime.clock.now())


@router.get("/v1/invoices/{invoice_id}/returns",
            summary="An invoice's returns, the current one first")
async def describe_returns(invoice_id: InvoiceId, caller: CustomerCaller,
                           runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.describe_returns(session, caller.uin or "", invoice_id)


@router.get("/v1/invoices/{invoice_id}/lost-invoice-remedy",
            summary="What to do about a lost invoice (INV-REQ-26)")
async def lost_invoice_remedy(invoice_id: InvoiceId, caller: CustomerCaller,
                              runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.lost_invoice_remedy(session, caller.uin or "", invoice_id,
                                                 runtime.clock.now())


def _operator(caller: Any) -> str | None:
    return caller.sub_uin or caller.uin


@router.post("/v1/operator/invoices/{invoice_id}/returns/approve",
             summary="Operator: a paper return passed review (return_pending -> returning)")
async def approve_return(invoice_id: InvoiceId, caller: OperatorCaller,
                         runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.approve_return(session, invoice_id, _operator(caller),
                                            runtime.clock.now())


@router.post("/v1/operator/invoices/{invoice_id}/returns/reject",
             summary="Operator: reject a return with a reason (return_rejected)")
async def reject_return(invoice_id: InvoiceId, body: RejectBody, caller: OperatorCaller,
                        runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.reject_return(session, invoice_id, body.reason.strip(),
                                           _operator(caller), runtime.clock.now())


@router.post("/v1/operator/invoices/{invoice_id}/returns/complete",
             summary="Operator: complete a legacy electronic or paper return (voided)")
async def complete_return(invoice_id: InvoiceId, caller: OperatorCaller,
                          runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.complete_return(session, runtime.outbox, invoice_id,
                                             _operator(caller), runtime.clock.now())
