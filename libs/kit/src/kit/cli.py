"""The command line every service shares: `python -m <service> migrate | serve`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from kit.db import ensure_postgres_database, is_sqlite
from kit.migrations import upgrade_to_head
from kit.settings import ServiceSettings


def service_main(*, name: str, settings_factory: Callable[[], ServiceSettings],
                 create_app: Callable[[ServiceSettings], FastAPI], migrations_dir: Path,
                 default_port: int) -> None:
    parser = argparse.ArgumentParser(prog=name)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the database if missing and migrate it to head")
    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    args = parser.parse_args()
    settings = settings_factory()
    if args.command == "migrate":
        if not is_sqlite(settings.database_url):
            asyncio.run(ensure_postgres_database(settings.database_url))
        upgrade_to_head(migrations_dir, settings.database_url)
        print(f"{name}: database migrated to head")
        return
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None,
                access_log=False, lifespan="on", timeout_graceful_shutdown=10)
