"""The simulated tax platform as its own HTTP service, so the service (or a test in another
process) can talk to it over a real network: `python -m invoice_svc.taxplatform.server
--port 8105`.

Platform API (what `HttpTaxPlatform` calls; JSON bodies as in `http_client`'s wire format):

    POST /v1/invoices                               issue -> IssueResult
    GET  /v1/invoices/{order_no}                    query -> IssueResult | 404 E4040
    GET  /v1/invoices/{order_no}/pdf|xml|ofd        a document's bytes (404 until issued)
    POST /v1/red-forms                              request_red_form -> RedForm
    GET  /v1/red-forms/{form_number}                query_red_form -> RedForm | 404 E4040
    POST /v1/red-forms/{form_number}/confirm|reject|revoke
    GET  /v1/inbound-red-forms?since=<ISO time>     {"forms": [RedForm, ...]}

Refusals answer 422 `{"code", "reason"}`, malformed requests 400 `{"code": "E0400", ...}`,
unavailability (injected) 503 `{"code": "E5030", ...}`.

Simulator controls under `/_sim/` (not part of any real platform): faults, latency, the clock
(forward only), the buyer's side of red-letter forms, statistics. See `create_simulator_app`.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from invoice_svc.taxplatform.http_client import (
    NOT_FOUND_CODE,
    WireError,
    issue_request_from_wire,
    issue_result_to_wire,
    red_form_request_from_wire,
    red_form_to_wire,
    red_lines_from_wire,
)
from invoice_svc.taxplatform.interface import (
    IssueRequest,
    PlatformRejected,
    PlatformUnavailable,
    RedForm,
)
from invoice_svc.taxplatform.simulated import CODES, OffsetClock, SimulatedTaxPlatform

__all__ = ["create_simulator_app", "main"]

DEFAULT_PORT = 8105
MEDIA_TYPES = {"pdf": "application/pdf", "xml": "application/xml", "ofd": "application/ofd"}


def _problem(status: int, code: str, reason: str) -> JSONResponse:
    return JSONResponse({"code": code, "reason": reason}, status_code=status)


def _not_found(what: str) -> JSONResponse:
    return _problem(404, NOT_FOUND_CODE, f"{what}不存在")


def _form(form: RedForm) -> dict[str, Any]:
    return red_form_to_wire(form)


# --- admin bodies ------------------------------------------------------------------------------

Ops = list[str] | None


class CountedFault(BaseModel):
    n: int = Field(1, ge=1)
    on: Ops = None


class RejectNext(CountedFault):
    code: str = "E9999"
    reason: str = CODES["E9999"]
    on: Ops = ["issue"]


class RejectWhen(BaseModel):
    """Refuse new submissions matching every given field (at least one)."""

    code: str = "E9999"
    reason: str = CODES["E9999"]
    order_no_prefix: str | None = None
    buyer_name: str | None = None
    kind: Literal["special", "general"] | None = None
    min_amount_fen: int | None = None


class FailAsync(BaseModel):
    n: int = Field(1, ge=1)
    code: str = "E0024"
    reason: str = CODES["E0024"]


class Slow(CountedFault):
    seconds: float = Field(5.0, gt=0)


class Latency(BaseModel):
    seconds: float = Field(ge=0)


class Advance(BaseModel):
    seconds: float = Field(ge=0)


class SetClock(BaseModel):
    now: datetime


class BuyerForm(BaseModel):
    blue_number: str
    reason: str = "sales_return"
    lines: list[list[int]] = Field(default_factory=list)


def _predicate(rule: RejectWhen) -> Any:
    checks = []
    if rule.order_no_prefix is not None:
        checks.append(lambda r: r.order_no.startswith(rule.order_no_prefix))
    if rule.buyer_name is not None:
        checks.append(lambda r: r.buyer.name == rule.buyer_name)
    if rule.kind is not None:
        checks.append(lambda r: r.kind == rule.kind)
    if rule.min_amount_fen is not None:
        checks.append(lambda r: sum(x.net_fen + x.tax_fen for x in r.lines)
                      >= rule.min_amount_fen)
    if not checks:
        raise ValueError("reject-when needs at least one condition")
    return lambda request: all(check(request) for check in checks)


# --- the app -----------------------------------------------------------------------------------


def create_simulator_app(platform: SimulatedTaxPlatform) -> FastAPI:
    """The platform API plus `/_sim/` controls over one simulated platform."""
    app = FastAPI(title="Simulated tax platform (数电)", version="1")
    app.state.platform = platform

    @app.exception_handler(PlatformRejected)
    async def _rejected(_: Request, exc: PlatformRejected) -> Response:
        return _problem(422, exc.code, exc.reason)

    @app.exception_handler(PlatformUnavailable)
    async def _unavailable(_: Request, exc: PlatformUnavailable) -> Response:
        return _problem(503, "E5030", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        return _problem(400, "E0400", f"请求格式错误：{exc.errors()[:3]}")

    @app.exception_handler(WireError)
    async def _malformed(_: Request, exc: WireError) -> Response:
        return _problem(400, "E0400", f"请求格式错误：{exc}")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # --- platform API ------------------------------------------------------------------------
    @app.post("/v1/invoices")
    async def issue(request: Request) -> Any:
        result = await platform.issue(issue_request_from_wire(await _json(request)))
        return issue_result_to_wire(result)

    def document_route(fmt: str) -> Any:
        async def document(order_no: str) -> Response:
            result = await platform.query(order_no)
            if result is None:
                return _not_found(f"订单 {order_no} ")
            content = getattr(result.documents, fmt) if result.documents else None
            if content is None:
                return _problem(404, "E4041", f"订单 {order_no} 的 {fmt.upper()} 文件尚未生成")
            return Response(content, media_type=MEDIA_TYPES[fmt], headers={
                "Content-Disposition": f'attachment; filename="{result.number}.{fmt}"'})
        return document

    # Before the query route: `{order_no:path}` would also match ".../pdf".
    for fmt in MEDIA_TYPES:
        app.add_api_route(f"/v1/invoices/{{order_no:path}}/{fmt}", document_route(fmt),
                          methods=["GET"], name=f"invoice_{fmt}")

    @app.get("/v1/invoices/{order_no:path}")
    async def query(order_no: str) -> Any:
        result = await platform.query(order_no)
        return _not_found(f"订单 {order_no} ") if result is None else issue_result_to_wire(result)

    @app.post("/v1/red-forms")
    async def request_red_form(request: Request) -> Any:
        body = red_form_request_from_wire(await _json(request))
        return _form(await platform.request_red_form(body))

    @app.get("/v1/red-forms/{form_number}")
    async def query_red_form(form_number: str) -> Any:
        form = await platform.query_red_form(form_number)
        return _not_found(f"红字确认单 {form_number} ") if form is None else _form(form)

    @app.post("/v1/red-forms/{form_number}/{action}")
    async def act_on_red_form(form_number: str,
                              action: Literal["confirm", "reject", "revoke"]) -> Any:
        call = {"confirm": platform.confirm_red_form, "reject": platform.reject_red_form,
                "revoke": platform.revoke_red_form}[action]
        return _form(await call(form_number))

    @app.get("/v1/inbound-red-forms")
    async def inbound(since: datetime) -> Any:
        if since.tzinfo is None:
            raise WireError("since must carry a UTC offset")
        return {"forms": [_form(f) for f in await platform.list_inbound_red_forms(since)]}

    # --- simulator controls ------------------------------------------------------------------
    faults = platform.faults

    @app.post("/_sim/faults/reject-next")
    async def reject_next(body: RejectNext) -> Any:
        with _bad_request():
            faults.reject_next(body.n, body.code, body.reason, on=body.on)
        return faults.pending()

    @app.post("/_sim/faults/reject-when")
    async def reject_when(body: RejectWhen) -> Any:
        with _bad_request():
            test = _predicate(body)

        def predicate(request: IssueRequest) -> bool:
            return bool(test(request))

        faults.reject_when(predicate, body.code, body.reason)
        return faults.pending()

    @app.post("/_sim/faults/unavailable-next")
    async def unavailable_next(body: CountedFault) -> Any:
        with _bad_request():
            faults.unavailable_next(body.n, on=body.on)
        return faults.pending()

    @app.post("/_sim/faults/lose-answer-next")
    async def lose_answer_next(body: CountedFault) -> Any:
        with _bad_request():
            faults.lose_answer_next(body.n, on=body.on)
        return faults.pending()

    @app.post("/_sim/faults/fail-async-next")
    async def fail_async_next(body: FailAsync) -> Any:
        faults.fail_async_next(body.n, body.code, body.reason)
        return faults.pending()

    @app.post("/_sim/faults/slow-next")
    async def slow_next(body: Slow) -> Any:
        """Answer the next calls only after `seconds` (beyond a client's timeout)."""
        with _bad_request():
            faults.slow_next(body.n, body.seconds, on=body.on)
        return faults.pending()

    @app.get("/_sim/faults")
    async def pending_faults() -> Any:
        return faults.pending()

    @app.delete("/_sim/faults")
    async def clear_faults() -> Any:
        faults.clear()
        return faults.pending()

    @app.put("/_sim/latency")
    async def set_latency(body: Latency) -> Any:
        platform.set_latency(timedelta(seconds=body.seconds))
        return {"seconds": platform.latency.total_seconds()}

    @app.get("/_sim/clock")
    async def get_clock() -> Any:
        return {"now": platform.clock.now().isoformat()}

    @app.post("/_sim/clock/advance")
    async def advance_clock(body: Advance) -> Any:
        with _bad_request():
            _movable(platform).advance(timedelta(seconds=body.seconds))
        return {"now": platform.clock.now().isoformat()}

    @app.put("/_sim/clock")
    async def set_clock(body: SetClock) -> Any:
        if body.now.tzinfo is None:
            raise WireError("now must carry a UTC offset")
        if body.now < platform.clock.now():
            raise WireError("the simulator's clock only moves forward")
        with _bad_request():
            _movable(platform).set(body.now)
        return {"now": platform.clock.now().isoformat()}

    @app.post("/_sim/buyer/red-forms")
    async def buyer_raises(body: BuyerForm) -> Any:
        lines = red_lines_from_wire(body.lines)
        return _form(platform.buyer_raises_red_form(body.blue_number, reason=body.reason,
                                                    lines=lines))

    @app.post("/_sim/buyer/red-forms/{form_number}/{action}")
    async def buyer_acts(form_number: str,
                         action: Literal["confirm", "deny", "revoke"]) -> Any:
        call = {"confirm": platform.buyer_confirms, "deny": platform.buyer_denies,
                "revoke": platform.buyer_revokes}[action]
        return _form(call(form_number))

    @app.get("/_sim/stats")
    async def stats() -> Any:
        return {**asdict(platform.stats()), "issued_count": platform.issued_count()}

    @app.get("/_sim/invoices")
    async def invoices() -> Any:
        """Every invoice issued, in issue order, with what is left to offset on blue ones."""
        return {"invoices": [{
            "number": d.number, "issued_at": d.issued_at.isoformat(), "kind": d.kind,
            "red": d.is_red, "original_number": d.original_number,
            "red_form_number": d.red_form_number, "buyer_name": d.buyer.name,
            "amount_fen": d.amount_fen,
            "red_remaining_fen": None if d.is_red else platform.red_remaining_fen(d.number),
        } for d in platform.documents()]}

    return app


def _movable(platform: SimulatedTaxPlatform) -> Any:
    clock = platform.clock
    if not (hasattr(clock, "advance") and hasattr(clock, "set")):
        raise WireError("this simulator's clock cannot be moved")
    return clock


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError as exc:
        raise WireError(f"body is not JSON: {exc}") from None


@contextmanager
def _bad_request() -> Iterator[None]:
    """Parameters the simulator refuses (unknown operation names ...) are the caller's error;
    kept narrow so a ValueError from a simulator bug still answers 500."""
    try:
        yield
    except ValueError as exc:
        raise WireError(str(exc)) from None


# --- command line ------------------------------------------------------------------------------


def build(argv: Sequence[str] | None = None) -> tuple[FastAPI, str, int]:
    """Parse the command line into (app, host, port)."""
    parser = argparse.ArgumentParser(prog="python -m invoice_svc.taxplatform.server",
                                     description="Simulated 数电 tax platform over HTTP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--latency", type=float, default=1.0,
                        help="seconds an invoice stays 'issuing' (default 1)")
    parser.add_argument("--region", default="44", help="2-digit region code (default 44)")
    parser.add_argument("--channel", default="2", help="channel digit of numbers (default 2)")
    parser.add_argument("--seller-taxpayer-id", default=None,
                        help="refuse invoices whose seller is another taxpayer")
    args = parser.parse_args(argv)
    platform = SimulatedTaxPlatform(OffsetClock(), latency=timedelta(seconds=args.latency),
                                    region=args.region, channel=args.channel,
                                    seller_taxpayer_id=args.seller_taxpayer_id)
    return create_simulator_app(platform), args.host, args.port


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    app, host, port = build(argv)
    uvicorn.run(app, host=host, port=port, access_log=False)


if __name__ == "__main__":
    main()
