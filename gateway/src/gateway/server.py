"""How the gateway is served: uvicorn with uvloop and httptools, tuned for the proxy path.

`python -m gateway serve` and `bench/bench_gateway.py` both go through :func:`run`, so the
benchmark measures what is deployed.

* ``proxy_headers=False``: uvicorn would otherwise rewrite the client address from
  ``X-Forwarded-For`` for loopback peers, behind the gateway's back; the gateway decides that
  itself (``GATEWAY_TRUST_FORWARDED_FOR``), and one ASGI layer less runs per request.
* No ``server``/``date`` headers (the services' own are stripped as hop-by-hop), no access log
  (the gateway logs refusals and failures itself).
"""

from __future__ import annotations

from typing import Any

import uvicorn


def options() -> dict[str, Any]:
    """uvicorn's settings for the gateway (besides host, port and lifespan)."""
    return {
        "loop": "auto",  # uvloop when installed
        "http": "auto",  # httptools when installed
        "proxy_headers": False,
        "server_header": False,
        "date_header": False,
        "access_log": False,
        "log_config": None,
    }


def run(app: Any, *, host: str, port: int, **overrides: Any) -> None:
    uvicorn.run(app, host=host, port=port, **{**options(), **overrides})
