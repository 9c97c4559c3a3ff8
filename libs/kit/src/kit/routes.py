"""The gateway's route table, contributed to by every service.

Each service lists its public operations in `<service>_svc/routes.py` as `ROUTES`. The gateway
joins them into one table: REST requests are matched by (method, path); API 3.0 requests by
(service, version, action), which points at the same entry. Both reach the same handler after
the same checks (signature, CAM action on the CAM resource, rate limit).

API 3.0 translation rule (kept mechanical so integrators can predict it): parameters are
PascalCase; they become snake_case; those named in the path template fill the path, the rest
form the JSON body (POST/PUT/PATCH/DELETE) or the query (GET). The REST answer's snake_case
keys become PascalCase inside `{"Response": {..., "RequestId"}}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
CallerKinds = frozenset[Literal["customer", "operator", "service"]]

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Api3Action:
    service: str  # as in the credential scope and the endpoint: "cam", "invoice", "contract"
    version: str  # "2019-01-16"
    action: str  # "AddUser"


@dataclass(frozen=True)
class Route:
    """One public operation.

    `path` is the service's own REST path, also the public path behind the gateway under
    `/{service}` (e.g. `/iam/v1/users/{sub_uin}`). `resource` is the CAM resource template;
    `{uin}` is the caller's account, other placeholders come from path parameters or,
    for API 3.0 calls, from the parameter of the same name.
    """

    method: Method
    path: str
    service: str  # upstream: iam | invoice | contract | esign
    action: str  # CAM action, "cam:AddUser", "invoice:ApplyInvoice"
    resource: str = "qcs::{service}::uin/{uin}:*"
    api3: Api3Action | None = None
    callers: CallerKinds = field(default_factory=lambda: frozenset({"customer"}))
    summary: str = ""

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.path))


def path_regex(template: str) -> re.Pattern[str]:
    """`/v1/users/{sub_uin}` -> a regex with one named group per placeholder (no slashes)."""
    pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template)
                               .replace(r"\{", "{").replace(r"\}", "}"))
    return re.compile(f"^{pattern}$")
