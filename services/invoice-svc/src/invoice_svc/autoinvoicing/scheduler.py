"""The auto-invoicing scheduler (filled in by its implementation)."""

from __future__ import annotations

from kit.service import BackgroundWorker, Runtime, WorkerFactory

from invoice_svc.config import Settings


class _Idle:
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def autoinvoicing_scheduler(settings: Settings) -> WorkerFactory:
    def make(runtime: Runtime) -> BackgroundWorker:
        return _Idle()
    return make
