"""Problem documents: every AppError renders as problem+json with its code, and its details
never clobber (or crash on) the standard members."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from kit.errors import FailedOperation, install_error_handlers


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def call(app: FastAPI) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app),
                                 base_url="http://t") as client:
        return await client.get("/boom")


async def test_details_join_the_problem_document() -> None:
    answer = await call(app_raising(FailedOperation("不行", code="FailedOperation.X",
                                                    details={"field": "amount"})))
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert (body["code"], body["detail"], body["field"]) == ("FailedOperation.X", "不行", "amount")


async def test_details_named_like_a_standard_member_go_under_details() -> None:
    """An error saying which invoice status refused it (`details={"status": "issuing"}`)
    keeps the HTTP status in `status` and its own under `details`."""
    answer = await call(app_raising(FailedOperation(
        "开票中的发票不能退票", code="FailedOperation.InvoiceStatusTransitionForbidden",
        details={"status": "issuing", "code": "shadow", "action": "return"})))
    body = answer.json()
    assert answer.status_code == 409 and body["status"] == 409
    assert body["code"] == "FailedOperation.InvoiceStatusTransitionForbidden"
    assert body["details"] == {"status": "issuing", "code": "shadow"}
    assert body["action"] == "return"
