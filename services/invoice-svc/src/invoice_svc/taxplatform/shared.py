"""One tax platform per service runtime, shared by every worker of that runtime.

`build_tax_platform` makes a new client on each call. For an HTTP or provider adapter two
clients talk to the same platform, but the in-process `"simulated"` spec would make two
*different* platforms: the returns worker would never see the invoices the issuing worker
issued. Workers therefore ask `platform_for(runtime, settings)`, which builds the platform once
per runtime and hands the same object to every caller.

Closing: each worker may call `close()` on stop; adapters' `close` must tolerate being called
more than once (the simulator's is a no-op; the HTTP client closes its pool).
"""

from __future__ import annotations

from typing import Any

from invoice_svc.config import Settings
from invoice_svc.taxplatform.factory import build_tax_platform
from invoice_svc.taxplatform.interface import TaxPlatform

_ATTRIBUTE = "_invoice_svc_tax_platform"


def platform_for(runtime: Any, settings: Settings) -> TaxPlatform:
    """The runtime's tax platform, built from `settings.tax_platform` on first use."""
    platform = getattr(runtime, _ATTRIBUTE, None)
    if platform is None:
        platform = build_tax_platform(settings.tax_platform, clock=runtime.clock)
        setattr(runtime, _ATTRIBUTE, platform)
    return platform
