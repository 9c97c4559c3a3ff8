"""The gateway's default HTTP client (`RawHttpUpstream`) against a real uvicorn server on a
socket: framing (length, chunked, HEAD), keep-alive reuse and its limit, timeouts, refused
connections, header injection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from gateway.testing import ServedInThread
from gateway.upstreams import (
    RawHttpUpstream,
    UpstreamTimeout,
    UpstreamUnavailable,
    make_http_upstream,
)
from kit.testing import free_port


def _app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/echo/{name}", methods=["GET", "POST", "PUT", "DELETE", "HEAD"])
    async def echo(name: str, request: Request) -> dict[str, object]:
        body = await request.body()
        return {"name": name, "query": request.url.query, "body": body.decode(),
                "x": request.headers.get("x-test"), "host": request.headers.get("host"),
                "length": request.headers.get("content-length")}

    @app.get("/chunked")
    async def chunked() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(3):
                yield b"part%d;" % i
        return StreamingResponse(parts(), media_type="text/plain")

    @app.get("/empty")
    async def empty() -> Response:
        return Response(status_code=204)

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(1.0)
        return {"late": "yes"}

    return app


@pytest.fixture(scope="module")
def server() -> AsyncIterator[ServedInThread]:
    @contextlib.asynccontextmanager
    async def make() -> AsyncIterator[FastAPI]:
        yield _app()

    served = ServedInThread().start(make)
    yield served
    served.stop()


def test_auto_picks_the_raw_client() -> None:
    assert isinstance(make_http_upstream("http://127.0.0.1:1"), RawHttpUpstream)


async def test_requests_and_framing(server: ServedInThread) -> None:
    upstream = RawHttpUpstream(f"http://{server.host}")
    try:
        got = await upstream.request("GET", "/echo/a%20b", query=b"k=1&k=2",
                                     headers=[(b"x-test", b"yes")])
        assert got.status == 200
        assert (b"content-type", b"application/json") in got.headers
        assert all(name == name.lower() for name, _ in got.headers)
        import orjson

        answer = orjson.loads(got.body)
        assert answer == {"name": "a b", "query": "k=1&k=2", "body": "", "x": "yes",
                          "host": server.host, "length": None}

        posted = orjson.loads((await upstream.request(
            "POST", "/echo/p", body=b'{"a": 1}',
            headers=[(b"content-type", b"application/json")])).body)
        assert posted["body"] == '{"a": 1}' and posted["length"] == "8"
        emptied = orjson.loads((await upstream.request("DELETE", "/echo/d")).body)
        assert emptied["length"] == "0"  # a method with a body always says its length

        head = await upstream.request("HEAD", "/echo/h")
        assert head.status == 200 and head.body == b""

        streamed = await upstream.request("GET", "/chunked")
        assert streamed.body == b"part0;part1;part2;"
        assert (b"transfer-encoding", b"chunked") in streamed.headers

        nothing = await upstream.request("GET", "/empty")
        assert nothing.status == 204 and nothing.body == b""
    finally:
        await upstream.close()


async def test_connections_are_reused_and_limited(server: ServedInThread) -> None:
    upstream = RawHttpUpstream(f"http://{server.host}", max_connections=3)
    try:
        answers = await asyncio.gather(*(upstream.request("GET", f"/echo/{i}")
                                         for i in range(30)))
        assert [a.status for a in answers] == [200] * 30
        assert upstream._open <= 3
        idle = len(upstream._idle)
        await upstream.request("GET", "/echo/again")
        assert len(upstream._idle) == idle  # reused, not a new one
    finally:
        await upstream.close()


async def test_timeout_and_recovery(server: ServedInThread) -> None:
    upstream = RawHttpUpstream(f"http://{server.host}", timeout=0.2)
    try:
        with pytest.raises(UpstreamTimeout):
            await upstream.request("GET", "/slow")
        assert (await upstream.request("GET", "/echo/after")).status == 200
    finally:
        await upstream.close()


async def test_a_stale_pooled_connection_is_retried_for_get(server: ServedInThread) -> None:
    upstream = RawHttpUpstream(f"http://{server.host}")
    try:
        await upstream.request("GET", "/echo/first")
        (conn,) = upstream._idle
        conn.transport.close()  # as if the service had closed it, unnoticed so far
        conn.closed = False
        assert (await upstream.request("GET", "/echo/second")).status == 200
    finally:
        await upstream.close()


async def test_unreachable_and_injection() -> None:
    upstream = RawHttpUpstream(f"http://127.0.0.1:{free_port()}", connect_timeout=0.5)
    with pytest.raises(UpstreamUnavailable):
        await upstream.request("GET", "/")
    with pytest.raises(ValueError):
        await upstream.request("GET", "/", headers=[(b"x-test", b"a\r\nx-other: b")])
    with pytest.raises(ValueError):
        await upstream.request("GET", "/a b\r\nx: y")


async def test_informational_answers_are_skipped_and_close_delimits() -> None:
    answers = {
        b"/continue": b"HTTP/1.1 100 Continue\r\n\r\n"
                      b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        b"/until-close": b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it",
    }

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.split(b" ", 2)[1]
        writer.write(answers[target])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    upstream = RawHttpUpstream(f"http://127.0.0.1:{port}")
    try:
        got = await upstream.request("POST", "/continue", body=b"{}",
                                     headers=[(b"expect", b"100-continue")])
        assert (got.status, got.body) == (201, b"ok")
        got = await upstream.request("GET", "/until-close")
        assert (got.status, got.body) == (200, b"all of it")
    finally:
        await upstream.close()
        server.close()
        await server.wait_closed()
