"""Bad input at the gateway's door: every case gets a clear refusal with a stable code (API 3.0
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``, REST problem+json with a 4xx
status), never a 5xx, a hang or a wrong acceptance, and a refused write changes nothing.

The system runs as in distributed mode, in one thread: iam-svc and invoice-svc on their own
PostgreSQL databases, each under uvicorn on a socket, the gateway under uvicorn calling them
with its default HTTP client (``RawHttpUpstream``). Requests go over real sockets, some of them
written by hand (request targets, methods and header bytes an HTTP client library would refuse
to send).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from gateway.config import Settings
from gateway.embedded import SERVICES
from gateway.main import Gateway, create_app
from gateway.testing import ServedInThread
from kit import tc3
from kit.db import drop_postgres_database, ensure_postgres_database
from kit.identity import generate_keypair
from kit.messaging import InProcessBus
from kit.testing import PG_BASE, serving

CAM = ("cam", "2019-01-16")
INVOICE = ("invoice", "2026-11-01")
MAX_BODY = 64 * 1024
BODY_TIMEOUT = 1.0
SECRET_ID = "AKID" + "Adversarial0123456789abcdefghij"
SECRET_KEY = "Adversarial0123456789abcdefghijk"


# --------------------------------------------------------------------------- the system


class System:
    def __init__(self, served: ServedInThread) -> None:
        self.served = served
        self.host = served.host
        self.http = httpx.Client(base_url=f"http://{self.host}", timeout=10)

    # ---- signing

    def signed(self, action: str, body: bytes = b"{}", *, api: tuple[str, str] = CAM,
               method: str = "POST", query: str = "", content_type: str | None = None,
               **extra: Any) -> dict[str, str]:
        return tc3.build_signed_headers(SECRET_ID, SECRET_KEY, api[0], self.host, action,
                                        api[1], body=body, method=method, query=query,
                                        content_type=content_type, **extra)

    def rest_signed(self, method: str, path: str, *, query: str = "", body: bytes = b"",
                    service: str = "iam", host: str | None = None) -> dict[str, str]:
        return tc3.build_signed_headers(SECRET_ID, SECRET_KEY, service, host or self.host,
                                        "Rest", "rest", body=body, method=method, path=path,
                                        query=query, content_type="application/json")

    # ---- calls

    def api3(self, action: str, body: bytes = b"{}", *, api: tuple[str, str] = CAM,
             headers: dict[str, str] | None = None) -> httpx.Response:
        signed = {**self.signed(action, body, api=api), **(headers or {})}
        return self.http.post("/", content=body, headers=signed)

    def api3_get(self, action: str, query: str, *,
                 api: tuple[str, str] = CAM) -> httpx.Response:
        signed = self.signed(action, b"", api=api, method="GET", query=query)
        return self.http.get("/?" + query, headers=signed)

    def rest(self, method: str, path: str, *, query: str = "", body: bytes = b"",
             service: str = "iam") -> httpx.Response:
        signed = self.rest_signed(method, path, query=query, body=body, service=service)
        target = path + ("?" + query if query else "")
        return self.http.request(method, target, content=body, headers=signed)

    def wire(self, head: bytes, body: bytes = b"", *, timeout: float = 5) -> tuple[int, bytes,
                                                                                    bytes]:
        """Send bytes as they are; (status, head, body) of the answer, status 0 when the
        server closed the connection without one."""
        with socket.create_connection(("127.0.0.1", self.served.port), timeout=timeout) as sock:
            sock.sendall(head + body)
            data = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    raise AssertionError(f"no answer within {timeout} s to {head[:80]!r}") from None
                if not chunk:
                    break
                data += chunk
                answer_head, sep, rest = data.partition(b"\r\n\r\n")
                if sep:
                    length = _content_length(answer_head)
                    if length is not None and len(rest) >= length:
                        break
        if not data:
            return 0, b"", b""
        answer_head, _, rest = data.partition(b"\r\n\r\n")
        return int(answer_head.split(b" ", 2)[1]), answer_head, rest

    def wire_request(self, method: str, target: str, headers: dict[str, str], body: bytes = b"",
                     *, extra: bytes = b"") -> tuple[int, bytes, bytes]:
        lines = [f"{method} {target} HTTP/1.1".encode("latin-1")]
        lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items()]
        lines.append(b"Content-Length: %d" % len(body))
        lines.append(b"Connection: close")
        return self.wire(b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n", body)

    # ---- state, to show a refused write changed nothing

    def snapshot(self) -> dict[str, Any]:
        def data(action: str, api: tuple[str, str] = CAM) -> Any:
            answer = self.api3(action, b"{}", api=api).json()["Response"]
            assert "Error" not in answer, answer
            answer.pop("RequestId")
            return answer

        return {"users": data("ListUsers"), "groups": data("ListGroups"),
                "keys": data("ListAccessKeys"),
                "title": self.api3("DescribeInvoiceTitle", b"{}", api=INVOICE).json()[
                    "Response"].get("Error", {}).get("Code")}


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None


@contextlib.asynccontextmanager
async def _distributed(databases: dict[str, str]) -> AsyncIterator[Gateway]:
    private, public = generate_keypair()
    bus = InProcessBus()
    await bus.connect()
    overrides: dict[str, dict[str, Any]] = {
        "iam": {"key_encryption_key": base64.b64encode(os.urandom(32)).decode(),
                "create_demo_account": True, "demo_secret_id": SECRET_ID,
                "demo_secret_key": SECRET_KEY},
        "invoice": {},
    }
    urls: dict[str, str] = {}
    try:
        async with contextlib.AsyncExitStack() as stack:
            for name, values in overrides.items():
                settings_cls, make = SERVICES[name]
                fields = {"database_url": databases[name], "bus": "inprocess",
                          "auto_migrate": True, "gateway_public_key": public,
                          "log_level": "WARNING", **values}
                app = make(settings_cls(**{k: v for k, v in fields.items()
                                           if k in settings_cls.model_fields}), bus=bus)
                await stack.enter_async_context(app.router.lifespan_context(app))
                urls[name] = await stack.enter_async_context(serving(app, graceful_seconds=1))
            settings = Settings(
                assertion_private_key=private, bus="none", iam_url=urls["iam"],
                invoice_url=urls["invoice"], contract_url="http://127.0.0.1:9",
                esign_url="http://127.0.0.1:9", rate_limit_rps=100_000,
                rate_limit_burst=100_000, max_body_bytes=MAX_BODY, upstream_timeout_seconds=5,
                body_timeout_seconds=BODY_TIMEOUT,
                log_level="WARNING")
            gateway = create_app(settings)
            async with gateway.lifespan():
                yield gateway
    finally:
        await bus.close()


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    tag = os.urandom(5).hex()
    databases = {name: f"{PG_BASE}/t_gwadv_{name}_{tag}" for name in ("iam", "invoice")}

    async def create() -> None:
        for url in databases.values():
            await ensure_postgres_database(url)

    async def drop() -> None:
        for url in databases.values():
            await drop_postgres_database(url)

    asyncio.run(create())
    served = ServedInThread()
    try:
        served.start(lambda: _distributed(databases))
        made = System(served)
        yield made
        made.http.close()
    finally:
        served.stop()
        asyncio.run(drop())


# --------------------------------------------------------------------------- checks


def api3_code(answer: httpx.Response) -> str:
    """The API 3.0 error code, after checking the envelope is the one the SDK reads."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    response = answer.json()["Response"]
    assert isinstance(response["RequestId"], str) and response["RequestId"]
    error = response["Error"]
    assert isinstance(error["Code"], str) and error["Code"]
    assert isinstance(error["Message"], str) and error["Message"]
    assert error["Code"] not in ("InternalError", "ResourceUnavailable"), error
    return error["Code"]


def problem_code(status: int, head: bytes, body: bytes) -> str:
    """The problem+json code of a REST refusal, after checking its status is a 4xx."""
    assert 400 <= status < 500, (status, body[:300])
    assert b"content-type: application/problem+json" in head.lower(), head
    problem = orjson.loads(body)
    assert problem["status"] == status and problem["requestId"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem["code"]


def rest_code(answer: httpx.Response) -> str:
    head = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items()).encode()
    return problem_code(answer.status_code, head, answer.content)


@pytest.fixture
def unchanged(system: System) -> Iterator[None]:
    """The test's refused writes leave iam-svc and invoice-svc as they were."""
    before = system.snapshot()
    yield
    assert system.snapshot() == before


ADD_USER = b'{"Name": "adversary"}'


# --------------------------------------------------------------------------- authentication


def _auth_variants(system: System) -> dict[str, tuple[str | None, str]]:
    good = system.signed("AddUser", ADD_USER)["Authorization"]
    return {
        "missing": (None, "AuthFailure.InvalidAuthorization"),
        "algorithm only": ("TC3-HMAC-SHA256", "AuthFailure.InvalidAuthorization"),
        "wrong algorithm": (good.replace("TC3-HMAC-SHA256", "TC3-HMAC-SHA1", 1),
                            "AuthFailure.InvalidAuthorization"),
        "lower-case algorithm": (good.replace("TC3-HMAC-SHA256", "tc3-hmac-sha256", 1),
                                 "AuthFailure.InvalidAuthorization"),
        "duplicate field": (good + ", Signature=" + "0" * 64, "AuthFailure.InvalidAuthorization"),
        "missing signature": (good.rsplit(",", 1)[0], "AuthFailure.InvalidAuthorization"),
        "unknown field": (good + ", Extra=1", "AuthFailure.InvalidAuthorization"),
        "huge": ("TC3-HMAC-SHA256 Credential=" + "A" * 60_000,
                 "AuthFailure.InvalidAuthorization"),
        "empty SignedHeaders": (good.replace("SignedHeaders=content-type;host",
                                             "SignedHeaders="), "AuthFailure.InvalidAuthorization"),
        "SignedHeaders without host": (good.replace("SignedHeaders=content-type;host",
                                                    "SignedHeaders=content-type"),
                                       "AuthFailure.InvalidAuthorization"),
        "upper-case SignedHeaders": (good.replace("content-type;host", "Content-Type;Host"),
                                     "AuthFailure.InvalidAuthorization"),
        "short signature": (good[:-1], "AuthFailure.InvalidAuthorization"),
        "scope of another day": (re.sub(r"/[0-9]{4}-[0-9]{2}-[0-9]{2}/", "/2001-01-01/", good),
                                 "AuthFailure.InvalidAuthorization"),
        "scope date not a date": (re.sub(r"/[0-9]{4}-[0-9]{2}-[0-9]{2}/", "/2026-02-30/", good),
                                  "AuthFailure.InvalidAuthorization"),
        "bad scope terminator": (good.replace("tc3_request", "tc4_request"),
                                 "AuthFailure.InvalidAuthorization"),
        "unknown SecretId": (good.replace(SECRET_ID, "AKIDnobody"),
                             "AuthFailure.SecretIdNotFound"),
        "altered signature": (good[:-4] + ("0000" if not good.endswith("0000") else "1111"),
                              "AuthFailure.SignatureFailure"),
    }


def test_malformed_authorization_headers(system: System, unchanged: None) -> None:
    for label, (value, expected) in _auth_variants(system).items():
        headers = system.signed("AddUser", ADD_USER)
        if value is None:
            del headers["Authorization"]
        else:
            headers["Authorization"] = value
        answer = system.http.post("/", content=ADD_USER, headers=headers)
        assert api3_code(answer) == expected, label


def test_authorization_bytes_a_client_library_would_not_send(system: System,
                                                             unchanged: None) -> None:
    headers = system.signed("AddUser", ADD_USER)
    good = headers.pop("Authorization")
    for raw in ("TC3-HMAC-SHA256 Credential=é/2026-01-01/cam/tc3_request".encode(),
                b"TC3-HMAC-SHA256 Credential=\xff\xfe, SignedHeaders=host, Signature=x",
                good.encode().replace(b"Signature=", b"Signature=\xc3\xa9")):
        status, head, body = system.wire_request("POST", "/", headers, ADD_USER,
                                                 extra=b"Authorization: " + raw + b"\r\n")
        assert status == 200 and b"application/json" in head
        assert orjson.loads(body)["Response"]["Error"]["Code"] == (
            "AuthFailure.InvalidAuthorization")
    # two Authorization headers: which one counts would depend on the reader
    status, head, body = system.wire_request(
        "POST", "/", {**headers, "Authorization": good}, ADD_USER,
        extra=b"Authorization: " + good.encode() + b"\r\n")
    assert orjson.loads(body)["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_signed_header_not_present(system: System, unchanged: None) -> None:
    headers = system.signed("AddUser", ADD_USER, region="ap-guangzhou",
                            signed_headers=("content-type", "host", "x-tc-region"))
    del headers["X-TC-Region"]
    answer = system.http.post("/", content=ADD_USER, headers=headers)
    assert api3_code(answer) == "AuthFailure.SignatureFailure"
    headers = system.signed("AddUser", ADD_USER)
    del headers["Content-Type"]
    answer = system.http.post("/", content=ADD_USER, headers=headers)
    assert api3_code(answer) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(("timestamp", "expected"), [
    ("", "MissingParameter"),
    ("abc", "InvalidParameter"),
    ("-5", "InvalidParameter"),
    ("+1700000000", "InvalidParameter"),
    ("01700000000", "InvalidParameter"),
    ("1.7e9", "InvalidParameter"),
    (str(2**63 + 1), "InvalidParameter"),
    ("9" * 400, "InvalidParameter"),
    ("999999999999", "AuthFailure.SignatureExpire"),  # year 33658
    ("FAR_FUTURE", "AuthFailure.SignatureExpire"),
    ("0", "AuthFailure.SignatureExpire"),
])
def test_odd_timestamps(system: System, unchanged: None, timestamp: str, expected: str) -> None:
    if timestamp == "FAR_FUTURE":
        timestamp = str(int(time.time()) + 400)
    headers = {**system.signed("AddUser", ADD_USER), "X-TC-Timestamp": timestamp}
    assert api3_code(system.http.post("/", content=ADD_USER, headers=headers)) == expected


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("X-TC-Action", "NoSuchAction", "InvalidAction"),
    ("X-TC-Action", "List Users", "InvalidAction"),
    ("X-TC-Action", "../ListUsers", "InvalidAction"),
    ("X-TC-Action", "adduser", "InvalidAction"),
    ("X-TC-Action", "A" * 8000, "InvalidAction"),
    ("X-TC-Action", "", "MissingParameter"),
    ("X-TC-Version", "2019-01-17", "NoSuchVersion"),
    ("X-TC-Version", "2026-11-01", "NoSuchVersion"),  # invoice's, not cam's
    ("X-TC-Version", "v" * 8000, "NoSuchVersion"),
    ("X-TC-Version", "", "MissingParameter"),
    ("X-TC-Token", "temporary", "AuthFailure.TokenFailure"),
])
def test_odd_action_and_version(system: System, unchanged: None, name: str, value: str,
                                expected: str) -> None:
    headers = {**system.signed("AddUser", ADD_USER), name: value}
    assert api3_code(system.http.post("/", content=ADD_USER, headers=headers)) == expected


def test_action_bytes_outside_ascii(system: System, unchanged: None) -> None:
    headers = system.signed("AddUser", ADD_USER)
    del headers["X-TC-Action"]
    for action in (b"AddUs\xc3\xa9r", b"\xff", b"Add\x80User"):
        status, _, body = system.wire_request("POST", "/", headers, ADD_USER,
                                              extra=b"X-TC-Action: " + action + b"\r\n")
        assert status == 200
        assert orjson.loads(body)["Response"]["Error"]["Code"] == "InvalidAction"


@pytest.mark.parametrize("region", ["", "ap-guangzhou", "r" * 8000, "../../etc", "ap guangzhou"])
def test_odd_region_is_ignored_by_global_services(system: System, region: str) -> None:
    answer = system.api3("ListUsers", headers={"X-TC-Region": region})
    assert "Error" not in answer.json()["Response"]


@pytest.mark.parametrize("content_type", [
    "application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON",
    'application/json; charset="utf-8"'])
def test_json_content_types_are_accepted(system: System, content_type: str) -> None:
    headers = system.signed("ListUsers", b"{}", content_type=content_type)
    answer = system.http.post("/", content=b"{}", headers=headers)
    assert "Error" not in answer.json()["Response"], answer.text


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/json; charset=latin-1", "application/jsonp", ""])
def test_other_content_types_are_refused(system: System, unchanged: None,
                                         content_type: str) -> None:
    headers = system.signed("AddUser", ADD_USER, content_type=content_type)
    answer = system.http.post("/", content=ADD_USER, headers=headers)
    assert api3_code(answer) == "InvalidParameter"


# --------------------------------------------------------------------------- API 3.0 bodies

BODIES: dict[str, tuple[bytes, str]] = {
    "not JSON": (b"Name=adversary", "InvalidParameter"),
    "array": (b'[{"Name": "adversary"}]', "InvalidParameter"),
    "string": (b'"adversary"', "InvalidParameter"),
    "number": (b"12", "InvalidParameter"),
    "true": (b"true", "InvalidParameter"),
    "5000 levels": (b'{"Name":' * 5000 + b'"a"' + b"}" * 5000, "InvalidParameter"),
    "5000 levels of arrays": (b'{"Name":' + b"[" * 5000 + b"]" * 5000 + b"}",
                              "InvalidParameter"),
    "300 levels": (b'{"Name":' * 300 + b'"a"' + b"}" * 300, "InvalidParameter"),
    "600 levels of arrays": (b'{"Name":' + b"[" * 600 + b"]" * 600 + b"}", "InvalidParameter"),
    "5000-digit integer": (b'{"Name": "adversary", "Remark": ' + b"9" * 5000 + b"}",
                           "InvalidParameter"),
    "1e400": (b'{"Name": "adversary", "Remark": 1e400}', "InvalidParameter"),
    "NaN": (b'{"Name": "adversary", "Remark": NaN}', "InvalidParameter"),
    "Infinity": (b'{"Name": "adversary", "Remark": -Infinity}', "InvalidParameter"),
    "lone surrogate": (b'{"Name": "\\ud800"}', "InvalidParameter"),
    "lone surrogate key": (b'{"Name": "adversary", "\\udc00": 1}', "InvalidParameter"),
    "NUL byte": (b'{"Name": "adver\x00sary"}', "InvalidParameter"),
    "escaped NUL": (b'{"Name": "adver\\u0000sary"}', "InvalidParameterValue"),
    "invalid UTF-8": (b'{"Name": "adver\xff\xfesary"}', "InvalidParameter"),
    "overlong UTF-8": (b'{"Name": "\xc0\xaf"}', "InvalidParameter"),
    "byte order mark": (b'\xef\xbb\xbf{"Name": "adversary"}', "InvalidParameter"),
    "trailing data": (b'{"Name": "adversary"} {}', "InvalidParameter"),
    "duplicate keys": (b'{"Name": "adversary", "Name": "other"}', "InvalidParameter"),
    "duplicate nested keys": (b'{"Name": "adversary", "Tags": [{"K": 1, "K" : 2}]}',
                              "InvalidParameter"),
    "keys colliding in snake_case": (b'{"Name": "adversary", "UserName": "a", "User_Name": "b"}',
                                     "InvalidParameter"),
    "acronym collision": (b'{"Name": "adversary", "URLName": "a", "UrlName": "b"}',
                          "InvalidParameter"),
    "collision inside a list of objects": (
        b'{"Name": "adversary", "Tags": [{"TagKey": "a"}, {"TagKey": "a", "Tag_Key": "b"}]}',
        "InvalidParameter"),
    "Name is a list": (b'{"Name": ["adversary"]}', "InvalidParameterValue"),
    "Name is an object": (b'{"Name": {"A": 1}}', "InvalidParameterValue"),
    "ClientToken with CR/LF": (b'{"Name": "adversary", "ClientToken": "a\\r\\nX-Evil: 1"}',
                               "InvalidParameterValue"),
    "ClientToken with a space": (b'{"Name": "adversary", "ClientToken": "a b"}',
                                 "InvalidParameterValue"),
    "ClientToken not ASCII": ('{"Name": "adversary", "ClientToken": "é"}'.encode(),
                              "InvalidParameterValue"),
    "ClientToken too long": (b'{"Name": "adversary", "ClientToken": "' + b"a" * 5000 + b'"}',
                             "InvalidParameterValue"),
    "ClientToken an object": (b'{"Name": "adversary", "ClientToken": {"A": 1}}',
                              "InvalidParameterValue"),
    "ClientToken empty": (b'{"Name": "adversary", "ClientToken": ""}', "InvalidParameterValue"),
}


@pytest.mark.parametrize("label", list(BODIES))
def test_bad_bodies_of_a_write(system: System, unchanged: None, label: str) -> None:
    body, expected = BODIES[label]
    assert api3_code(system.api3("AddUser", body)) == expected


def test_bad_values_for_a_path_parameter(system: System, unchanged: None) -> None:
    for body in (b'{"Name": "../../internal/v1/access-keys"}', b'{"Name": "a/b"}',
                 b'{"Name": "%2e%2e"}', b'{"Name": "\\u0000"}', b'{"Name": ""}', b"{}",
                 b'{"Name": true}', b'{"Name": "' + b"n" * 50_000 + b'"}'):
        assert api3_code(system.api3("DeleteUser", body)).startswith(
            ("InvalidParameter", "MissingParameter", "ResourceNotFound")), body[:40]


def test_a_write_through_the_facade_with_nul_in_a_free_text(system: System,
                                                           unchanged: None) -> None:
    answer = system.api3("CreateGroup", b'{"GroupName": "g-adv", "Remark": "a\\u0000b"}')
    assert api3_code(answer) == "InvalidParameterValue"


def test_body_size_limit(system: System, unchanged: None) -> None:
    def body_of(size: int) -> bytes:
        head, tail = b'{"Name": "', b'"}'
        return head + b"a" * (size - len(head) - len(tail)) + tail

    assert api3_code(system.api3("AddUser", body_of(MAX_BODY + 1))) == (
        "RequestSizeLimitExceeded")
    at_limit = api3_code(system.api3("AddUser", body_of(MAX_BODY)))
    assert at_limit == "InvalidParameterValue"  # read, and refused by iam-svc for its length
    # announced, sent in chunks: refused once the limit is passed
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n")
    chunk = b"a" * (MAX_BODY + 10)
    status, _, body = system.wire(head + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
    assert status == 200
    assert orjson.loads(body)["Response"]["Error"]["Code"] == "RequestSizeLimitExceeded"


def test_a_body_that_never_arrives_times_out(system: System) -> None:
    started = time.monotonic()
    status, head, body = system.wire(b"POST /iam/v1/users HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: 100\r\n\r\n{}", timeout=10)
    assert problem_code(status, head, body) == "RequestTimeout"
    assert b"connection: close" in head.lower()
    assert time.monotonic() - started < BODY_TIMEOUT + 3


# --------------------------------------------------------------------------- API 3.0 GET


@pytest.mark.parametrize("query", [
    "Filters.1.Name=a",  # gap
    "Filters.0.Name=a&Filters.2.Name=b",  # gap
    "Filters.-1.Name=a",  # negative
    "Filters.%2B1.Name=a",  # signed
    "Filters.99999999.Name=a",  # huge
    "Filters.999999.Name=a",  # big, and a gap
    "Filters.00.Name=a",  # leading zero
    "Filters.0.Name=a&Filters.x.Name=b",  # list and object
    "Filters.0=a&Filters.0.Name=b",  # value and container
    "Filters.0.Name=a&Filters.0=b",
    "Filters..Name=a",
    "Filters.0.Name=a&Filters.0.Name=b",  # repeated
    "0.Name=a",
    "=a",
    ".".join(["A"] * 40) + "=1",
    "Name=%ff",
])
def test_malformed_flattened_queries(system: System, query: str) -> None:
    assert api3_code(system.api3_get("ListUsers", query)) == "InvalidParameter"


def test_well_formed_flattened_queries_still_work(system: System) -> None:
    answer = system.api3_get("DescribeInvoices", "Filters.0.Name=status&Filters.0.Values.0=x"
                             "&Filters.0.Values.1=y&Limit=10", api=INVOICE)
    assert answer.json()["Response"].get("Error", {}).get("Code") != "InvalidParameter"
    answer = system.api3_get("DescribeInvoices", "Limit=" + "9" * 5000, api=INVOICE)
    assert api3_code(answer) == "InvalidParameterValue"


def test_other_methods_on_the_facade(system: System, unchanged: None) -> None:
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        headers = system.signed("AddUser", ADD_USER, method=method)
        answer = system.http.request(method, "/", content=ADD_USER, headers=headers)
        assert api3_code(answer) == "UnsupportedOperation", method


# --------------------------------------------------------------------------- REST passthrough


def _signed_wire(system: System, method: str, target: str, body: bytes = b"",
                 service: str = "iam") -> tuple[int, bytes, bytes]:
    path, _, query = target.partition("?")
    headers = system.rest_signed(method, path, query=query, body=body, service=service)
    return system.wire_request(method, target, headers, body)


@pytest.mark.parametrize(("target", "expected"), [
    ("/iam/v1/../v1/users", "InvalidAction"),
    ("/iam/../internal/v1/access-keys/AKIDx", "InvalidAction"),
    ("/iam/%2e%2e/internal/v1/access-keys/AKIDx", "InvalidAction"),
    ("/iam/%2E%2E/%2E%2E/iam/v1/users", "InvalidAction"),
    ("/iam/internal/v1/access-keys/AKIDx", "InvalidAction"),
    ("/iam%2Fv1/users", "InvalidAction"),
    ("/iam//v1/users", "InvalidAction"),
    ("//iam/v1/users", "InvalidAction"),
    ("/iam/v1/users/", "InvalidAction"),
    ("/iam", "InvalidAction"),
    ("/nosuch/v1/users", "InvalidAction"),
    ("/iam/v1/users;x=1", "InvalidAction"),
    ("/iam/v1/users/..%2f..%2finternal", "ResourceNotFound"),
    ("/iam/v1/users/a%2Fb", "ResourceNotFound"),
    ("/iam/v1/users/%2e%2e", "ResourceNotFound.User"),
    ("/iam/v1/users/%00", "InvalidParameterValue"),
    ("/iam/v1/users/%ff", "InvalidParameterValue"),
    ("/iam/v1/users/%zz", "InvalidParameterValue"),
    ("/iam/v1/users/" + "a" * 30_000, "InvalidParameterValue"),
    ("/invoice/v1/invoices/%2e%2e%2f%2e%2e%2finternal", "ResourceNotFound"),
])
def test_odd_rest_paths(system: System, target: str, expected: str) -> None:
    service = target.split("/")[1] if target.split("/")[1] in ("iam", "invoice") else "iam"
    assert problem_code(*_signed_wire(system, "GET", target, service=service)) == expected


@pytest.mark.parametrize(("method", "expected"), [
    ("TRACE", "UnsupportedOperation"), ("OPTIONS", "UnsupportedOperation"),
    ("PATCH", "UnsupportedOperation"), ("PUT", "UnsupportedOperation"),
    ("PROPFIND", "UnsupportedOperation"),
])
def test_other_methods_on_rest_routes(system: System, unchanged: None, method: str,
                                      expected: str) -> None:
    assert problem_code(*_signed_wire(system, method, "/iam/v1/users", b"{}")) == expected


def test_head_on_a_get_route(system: System) -> None:
    status, head, body = _signed_wire(system, "HEAD", "/iam/v1/users")
    assert status == 405 and body == b""
    assert b"x-request-id:" in head.lower()


def test_requests_the_http_parser_refuses(system: System, unchanged: None) -> None:
    """Refused by uvicorn's parser before the gateway sees them: a 400, never a hang."""
    signed = "".join(f"{k}: {v}\r\n" for k, v in
                     system.rest_signed("POST", "/iam/v1/users", body=ADD_USER).items()).encode()
    for head in (
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"X-A: a\rb\r\n",
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"X-A: a\nX-B: b\r\n",
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"X-A: a\r\n folded\r\n",
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"X-A: a\x00b\r\n",
        b"POST /iam/v1/us\xc3\xa9rs HTTP/1.1\r\n" + signed,
        b"POST /iam/v1/users?a=\xc3\xa9 HTTP/1.1\r\n" + signed,
        b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n" + signed,
        b"FOO /iam/v1/users HTTP/1.1\r\n" + signed,
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"Content-Length: -1\r\n",
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"Content-Length: 99999999999999999999\r\n",
        b"POST /iam/v1/users HTTP/1.1\r\n" + signed + b"Content-Length: 17\r\n"
        b"Transfer-Encoding: chunked\r\n",
    ):
        status, _, _ = system.wire(head + b"Connection: close\r\n\r\n" + ADD_USER)
        assert status == 400, head[:60]


def test_absolute_form_targets_are_read_as_their_path(system: System) -> None:
    headers = system.rest_signed("GET", "/iam/v1/users")
    for target in (f"http://{system.host}/iam/v1/users", "http://elsewhere.example/iam/v1/users"):
        status, _, body = system.wire_request("GET", target, headers)
        assert status == 200 and "data" in orjson.loads(body)
    status, head, body = system.wire_request("GET", "*", headers)
    assert problem_code(status, head, body) == "AuthFailure.SignatureFailure"


def test_repeated_headers_the_gateway_reads_once(system: System, unchanged: None) -> None:
    headers = system.rest_signed("POST", "/iam/v1/users", body=ADD_USER)
    signed = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
    for first in (b"Content-Type: text/plain\r\n", b"Host: elsewhere\r\n",
                  b"X-TC-Timestamp: 1\r\n", b"Authorization: TC3-HMAC-SHA256 x\r\n"):
        status, head, body = system.wire(b"POST /iam/v1/users HTTP/1.1\r\n" + first + signed
                                         + b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                                         % len(ADD_USER) + ADD_USER)
        assert problem_code(status, head, body) in (
            "InvalidParameter", "AuthFailure.InvalidAuthorization"), first
    # a header nobody signed nor reads may repeat
    status, _, _ = system.wire_request("GET", "/iam/v1/users",
                                       system.rest_signed("GET", "/iam/v1/users"),
                                       extra=b"Accept: a\r\nAccept: b\r\n")
    assert status == 200


@pytest.mark.parametrize("body", [
    b"{bad", b"[]", b'"x"', b'{"name":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"name": "adversary", "remark": ' + b"9" * 5000 + b"}", b'{"name": "\\ud800"}',
    b'{"name": "adversary", "remark": "\\u0000"}', b'{"name": "\xff"}',
    b'{"name": "adversary", "remark": 1e400}', b'{"name": "adversary", "remark": NaN}',
])
def test_bad_rest_bodies_of_a_write(system: System, unchanged: None, body: bytes) -> None:
    code = rest_code(system.rest("POST", "/iam/v1/users", body=body))
    assert code.startswith("InvalidParameter")


def test_rest_body_over_the_limit(system: System, unchanged: None) -> None:
    body = b'{"name": "' + b"a" * MAX_BODY + b'"}'
    assert rest_code(system.rest("POST", "/iam/v1/users", body=body)) == (
        "RequestSizeLimitExceeded")
    status, head, _ = system.wire(b"POST /iam/v1/users HTTP/1.1\r\nHost: x\r\n"
                                  b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                                  % (MAX_BODY + 1))
    assert status == 413 and b"application/problem+json" in head


def test_still_serving(system: System) -> None:
    assert "Error" not in system.api3("ListUsers").json()["Response"]
    assert system.rest("GET", "/iam/v1/users").status_code == 200
