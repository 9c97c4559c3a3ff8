"""`PollingWorker`: the loop of a background worker beside a service's HTTP server (issuing,
returns, schedulers): `run_once()` in rounds, again at once while a round finds a full batch,
otherwise after `poll_seconds`; a failing round is logged and the loop goes on
(databases and partners have outages), and `stop()` cancels it cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kit.db import is_transient_error


class PollingWorker:
    name = "worker"
    log = logging.getLogger("kit.worker")

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    # What a subclass provides.
    async def run_once(self) -> Any:
        """One round; a number >= `full_batch()` asks for the next round right away."""
        raise NotImplementedError

    def poll_seconds(self) -> float:
        raise NotImplementedError

    def full_batch(self) -> int | None:
        """The round size that means "more may be waiting" (None: always wait)."""
        return None

    async def close(self) -> None:
        """Release what the worker holds, after the loop stopped."""

    # The loop.
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.close()

    async def _run(self) -> None:
        while True:
            handled: Any = 0
            try:
                handled = await self.run_once()
            except Exception as exc:
                level = logging.WARNING if is_transient_error(exc) else logging.ERROR
                self.log.log(level, "%s round failed", self.name, exc_info=exc)
            full = self.full_batch()
            if full is not None and isinstance(handled, int) and handled >= full:
                continue
            await asyncio.sleep(self.poll_seconds())
