"""Distributed mode: `python -m gateway serve [--host H] [--port P]`, configured by `GATEWAY_*`
environment variables (service URLs, assertion key, broker)."""

from __future__ import annotations

import argparse

from gateway import server
from gateway.config import Settings
from gateway.main import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server.run(create_app(Settings()), host=args.host, port=args.port, lifespan="on",
               timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
