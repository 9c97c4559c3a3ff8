"""The one route table, joined from every service's ``<svc>_svc.routes.ROUTES``.

REST requests are matched by (service, method, path) on the undecoded path, API 3.0 requests by
(service, version, action); both give the same :class:`kit.routes.Route`. The table also
fills CAM resource templates (:meth:`RouteTable.resource`).
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from kit.routes import Route, path_regex

from gateway.errors import GatewayError

log = logging.getLogger("gateway.routes")

ROUTE_MODULES: tuple[str, ...] = (
    "iam_svc.routes", "invoice_svc.routes", "contract_svc.routes", "esign_svc.routes",
)

# Filled by the gateway, never by the caller: the caller's account, the action's service.
RESERVED_PLACEHOLDERS = frozenset({"uin", "service"})
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class RouteTableError(ValueError):
    """Two routes claim the same request, or a route is malformed."""


@dataclass(frozen=True, slots=True)
class RestMatch:
    route: Route
    upstream_path: str  # the path at the service, still percent-encoded as received
    path_params: dict[str, str]  # decoded


def load_service_routes(modules: Iterable[str] = ROUTE_MODULES) -> list[Route]:
    """Every ``ROUTES`` of the service route modules; a module not written yet adds none."""
    routes: list[Route] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but one of its imports does not
                raise
            log.info("no route module yet", extra={"route_module": name})
            continue
        routes.extend(getattr(module, "ROUTES", ()))
    return routes


class RouteTable:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._static: dict[tuple[str, str, str], Route] = {}
        self._dynamic: dict[tuple[str, str], list[tuple[re.Pattern[str], Route]]] = {}
        self._paths: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
        self._api3: dict[tuple[str, str], Route] = {}
        self._versions: dict[str, set[str]] = {}
        self._placeholders: dict[Route, tuple[str, ...]] = {}
        self._beyond_path: dict[Route, bool] = {}
        for route in self.routes:
            self._add(route)

    def _add(self, route: Route) -> None:
        if not route.path.startswith("/"):
            raise RouteTableError(f"route path must start with '/': {route.path!r}")
        regex = path_regex(route.path)
        if route.path_params:
            self._dynamic.setdefault((route.service, route.method), []).append((regex, route))
        else:
            key = (route.service, route.method, route.path)
            if key in self._static:
                raise RouteTableError(f"two routes for {route.method} /{route.service}"
                                      f"{route.path}")
            self._static[key] = route
        self._paths.setdefault(route.service, []).append((regex, route))
        self._placeholders[route] = tuple(_PLACEHOLDER.findall(route.resource))
        self._beyond_path[route] = any(
            name not in RESERVED_PLACEHOLDERS and name not in route.path_params
            for name in self._placeholders[route])
        if route.api3 is not None:
            key3 = (route.api3.service, route.api3.action)
            if key3 in self._api3:
                raise RouteTableError(f"two routes for API 3.0 action {route.api3.service}:"
                                      f"{route.api3.action}")
            self._api3[key3] = route
            self._versions.setdefault(route.api3.service, set()).add(route.api3.version)

    def versions(self) -> dict[str, set[str]]:
        """API 3.0 services and the versions they speak."""
        return {service: set(v) for service, v in self._versions.items()}

    # ----------------------------------------------------------------------------- REST

    def match_rest(self, method: str, raw_path: str) -> RestMatch:
        """Match ``/{service}{path}`` (undecoded); ``GatewayError`` when nothing matches."""
        _, _, rest = raw_path.partition("/")
        service, slash, tail = rest.partition("/")
        path = slash + tail
        if service not in self._paths or not path:
            raise GatewayError("InvalidAction", f"no API at {method} {raw_path}")
        route = self._static.get((service, method, path))
        if route is not None:
            return RestMatch(route, path, {})
        for regex, candidate in self._dynamic.get((service, method), ()):
            found = regex.match(path)
            if found is not None:
                params = {k: unquote(v) for k, v in found.groupdict().items()}
                return RestMatch(candidate, path, params)
        if any(regex.match(path) for regex, _ in self._paths[service]):
            raise GatewayError("UnsupportedOperation",
                               f"{method} is not supported at {raw_path}")
        raise GatewayError("InvalidAction", f"no API at {method} {raw_path}")

    # ----------------------------------------------------------------------------- API 3.0

    def match_api3(self, service: str, version: str | None, action: str | None) -> Route:
        if not action:
            raise GatewayError("MissingParameter", "The X-TC-Action header is missing.")
        if not version:
            raise GatewayError("MissingParameter", "The X-TC-Version header is missing.")
        versions = self._versions.get(service)
        if versions is None:
            raise GatewayError("InvalidAction",
                               f"The service `{service}` has no API 3.0 actions here.")
        if version not in versions:
            raise GatewayError("NoSuchVersion", f"The API version `{version}` of `{service}` "
                               f"does not exist; use {', '.join(sorted(versions))}.")
        route = self._api3.get((service, action))
        if route is None or route.api3 is None:
            raise GatewayError("InvalidAction", f"The action `{action}` does not exist.")
        if route.api3.version != version:
            raise GatewayError("NoSuchVersion", f"The action `{action}` is not in version "
                               f"`{version}`; use {route.api3.version}.")
        return route

    # ----------------------------------------------------------------------------- CAM

    def resource_needs_query(self, route: Route) -> bool:
        """Whether a REST request's resource needs more than its path parameters."""
        return self._beyond_path[route]

    def resource(self, route: Route, owner_uin: str, values: Mapping[str, object],
                 display: Callable[[str], str] = str) -> str:
        """The CAM resource of one request: ``{uin}`` is the caller's account, ``{service}``
        the action's service, other placeholders come from ``values`` (path parameters, then
        parameters). A placeholder without a scalar value refuses the request, so a
        statement about a specific resource can never be side-stepped."""
        filled: dict[str, str] = {"uin": owner_uin, "service": route.action.partition(":")[0]}
        for name in self._placeholders[route]:
            if name in RESERVED_PLACEHOLDERS:
                continue
            value = values.get(name)
            if value is None or isinstance(value, dict | list | bool):
                raise GatewayError("MissingParameter",
                                   f"The parameter `{display(name)}` is required here.")
            filled[name] = str(value)
        return route.resource.format_map(filled)
