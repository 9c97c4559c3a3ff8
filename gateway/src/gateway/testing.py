"""Running the gateway on a real socket for tests and benchmarks.

The system runs in a background thread with its own event loop, so blocking clients (the
official SDK's sync CommonClient) and async ones can both call it from the test. The
listening socket is bound and listening before the thread starts: connections made before
the server accepts simply wait in the backlog, so no test has to wait for a port to open.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from gateway.config import Settings
from gateway.embedded import EmbeddedSystem

T = TypeVar("T")


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port and already listening.

    Made with ``IPPROTO_TCP`` spelled out: asyncio sets ``TCP_NODELAY`` only on connections
    whose socket says so (``proto`` 0 does not), and without it a keep-alive answer written in
    two parts (head, then body) waits about 40 ms for the client's delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(512)
    return sock


class ServedInThread:
    """``start(make)`` where ``make()`` is a coroutine function returning an async context
    manager that yields the ASGI app (its lifespan is the context manager's)."""

    def __init__(self) -> None:
        self.sock = listening_socket()
        self.port: int = self.sock.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app: Any = None

    def start(self, make: Callable[[], Any], *, timeout: float = 120) -> ServedInThread:
        self._thread = threading.Thread(target=self._run, args=(make,), daemon=True,
                                        name=f"served:{self.port}")
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the system did not start in time")
        if self._failed is not None:
            raise RuntimeError("the system failed to start") from self._failed
        return self

    def _run(self, make: Callable[[], Any]) -> None:
        asyncio.run(self._main(make))

    async def _main(self, make: Callable[[], Any]) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            async with make() as app:
                self.app = app
                config = uvicorn.Config(app, lifespan="off", log_config=None,
                                        access_log=False, server_header=False,
                                        date_header=False, timeout_graceful_shutdown=5)
                self._server = uvicorn.Server(config)
                self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
                serving = asyncio.create_task(self._server.serve(sockets=[self.sock]))
                self._ready.set()
                await serving
        except BaseException as exc:
            self._failed = exc
            self._ready.set()
            raise

    def call(self, fn: Callable[[], Coroutine[Any, Any, T] | Awaitable[T]],
             timeout: float = 60) -> T:
        """Run ``fn()`` on the server's loop and wait for its result (from another thread)."""
        assert self.loop is not None

        async def run() -> T:
            return await fn()

        future: Future[T] = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return future.result(timeout)

    def stop(self, timeout: float = 60) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.sock.close()


class EmbeddedInThread(ServedInThread):
    """The embedded system (four services, the gateway, the in-process bus) on a socket."""

    def __init__(self, var_dir: Path, gateway_settings: Settings | None = None) -> None:
        super().__init__()
        self.system = EmbeddedSystem(var_dir, gateway_settings=gateway_settings)

    def start_system(self) -> EmbeddedInThread:
        self.start(self.system.running)
        return self
