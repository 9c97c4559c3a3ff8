"""Choose the tax platform by configuration (one string), so swapping the simulator for a real
provider is a settings change, not a code change.

- `"simulated"`: the in-process simulator on the service's clock. Options as a query string,
  e.g. `"simulated?latency=0&region=11"` (latency in seconds; region, channel,
  seller_taxpayer_id as in `SimulatedTaxPlatform`).
- `"http://..."` / `"https://..."`: the simulator server (`HttpTaxPlatform`).
- `"package.module:factory"`: a provider adapter; called as `factory(clock=clock)` and must
  return something implementing `TaxPlatform`.
"""

from __future__ import annotations

import importlib
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from kit.clock import Clock

from invoice_svc.taxplatform.interface import TaxPlatform

__all__ = ["build_tax_platform"]

_ENTRY_POINT = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
_SIMULATED_OPTIONS = {"latency", "region", "channel", "seller_taxpayer_id"}


def build_tax_platform(spec: str, clock: Clock, *, http_timeout: float = 10.0) -> TaxPlatform:
    spec = spec.strip()
    if spec == "simulated" or spec.startswith("simulated?"):
        return _simulated(spec.partition("?")[2], clock)
    if spec.startswith(("http://", "https://")):
        from invoice_svc.taxplatform.http_client import HttpTaxPlatform

        return HttpTaxPlatform(spec, timeout=http_timeout)
    if _ENTRY_POINT.fullmatch(spec):
        return _plugged_in(spec, clock)
    raise ValueError(f"tax platform {spec!r} not understood: use 'simulated', an http(s):// "
                     "URL of a simulator server, or 'package.module:factory'")


def _simulated(query: str, clock: Clock) -> TaxPlatform:
    from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform

    options: dict[str, Any] = dict(parse_qsl(query, strict_parsing=bool(query)))
    unknown = set(options) - _SIMULATED_OPTIONS
    if unknown:
        raise ValueError(f"unknown simulated tax platform options {sorted(unknown)}; "
                         f"known: {sorted(_SIMULATED_OPTIONS)}")
    if "latency" in options:
        options["latency"] = timedelta(seconds=float(options["latency"]))
    return SimulatedTaxPlatform(clock, **options)


def _plugged_in(spec: str, clock: Clock) -> TaxPlatform:
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ValueError(f"tax platform {spec!r}: cannot import {module_name}: {exc}") from exc
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise ValueError(f"tax platform {spec!r}: {module_name} has no callable {attribute}")
    platform = factory(clock=clock)
    if not isinstance(platform, TaxPlatform):
        raise TypeError(f"tax platform {spec!r}: {attribute}() returned "
                        f"{type(platform).__name__}, which does not implement TaxPlatform")
    return platform
