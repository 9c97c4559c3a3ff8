"""Route matching (REST and API 3.0) and CAM resource templating."""

from __future__ import annotations

import pytest
from gateway.errors import GatewayError
from gateway.routes_table import RouteTable, RouteTableError, load_service_routes
from kit.routes import Api3Action, Route

USERS = Route("GET", "/v1/users", "iam", "cam:ListUsers",
              api3=Api3Action("cam", "2019-01-16", "ListUsers"))
USER = Route("GET", "/v1/users/{sub_uin}", "iam", "cam:GetUser",
             resource="qcs::cam::uin/{uin}:uin/{sub_uin}",
             api3=Api3Action("cam", "2019-01-16", "GetUser"))
DELETE_USER = Route("DELETE", "/v1/users/{sub_uin}", "iam", "cam:DeleteUser",
                    resource="qcs::cam::uin/{uin}:uin/{sub_uin}")
USER_ME = Route("GET", "/v1/users/me", "iam", "cam:GetSelf")
CONTRACT = Route("GET", "/v1/contracts/{contract_id}", "contract", "contract:GetContractStatus",
                 resource="qcs::contract::uin/{uin}:contract/{contract_id}",
                 api3=Api3Action("contract", "2026-11-01", "GetContractStatus"))
BY_QUERY = Route("GET", "/v1/pdf", "contract", "contract:GetPdfData",
                 resource="qcs::contract::uin/{uin}:contract/{contract_id}")


@pytest.fixture
def table() -> RouteTable:
    return RouteTable([USERS, USER, DELETE_USER, USER_ME, CONTRACT, BY_QUERY])


def test_rest_static_and_dynamic_paths(table: RouteTable):
    assert table.match_rest("GET", "/iam/v1/users").route is USERS
    match = table.match_rest("GET", "/iam/v1/users/200001")
    assert match.route is USER
    assert match.upstream_path == "/v1/users/200001"
    assert match.path_params == {"sub_uin": "200001"}
    assert table.match_rest("DELETE", "/iam/v1/users/200001").route is DELETE_USER


def test_rest_static_path_wins_over_a_placeholder(table: RouteTable):
    assert table.match_rest("GET", "/iam/v1/users/me").route is USER_ME


def test_rest_path_params_are_decoded_but_forwarded_as_received(table: RouteTable):
    match = table.match_rest("GET", "/contract/v1/contracts/QC%2D1%20x")
    assert match.path_params == {"contract_id": "QC-1 x"}
    assert match.upstream_path == "/v1/contracts/QC%2D1%20x"


@pytest.mark.parametrize("method,path,code", [
    ("GET", "/nosuch/v1/users", "InvalidAction"),
    ("GET", "/iam/v1/nothing", "InvalidAction"),
    ("GET", "/iam", "InvalidAction"),
    ("GET", "/iam/v1/users/1/extra", "InvalidAction"),
    ("PUT", "/iam/v1/users/1", "UnsupportedOperation"),
])
def test_rest_no_match(table: RouteTable, method: str, path: str, code: str):
    with pytest.raises(GatewayError) as err:
        table.match_rest(method, path)
    assert err.value.code == code


def test_api3_match_and_errors(table: RouteTable):
    assert table.match_api3("cam", "2019-01-16", "GetUser") is USER
    cases = [
        (("cam", "2019-01-16", "NoSuchAction"), "InvalidAction"),
        (("cam", "2017-03-12", "GetUser"), "NoSuchVersion"),
        (("cam", None, "GetUser"), "MissingParameter"),
        (("cam", "2019-01-16", None), "MissingParameter"),
        (("nosuch", "2019-01-16", "GetUser"), "InvalidAction"),
        (("contract", "2019-01-16", "GetContractStatus"), "NoSuchVersion"),
    ]
    for args, code in cases:
        with pytest.raises(GatewayError) as err:
            table.match_api3(*args)
        assert err.value.code == code, args
    assert table.versions() == {"cam": {"2019-01-16"}, "contract": {"2026-11-01"}}


def test_duplicate_routes_are_refused():
    with pytest.raises(RouteTableError):
        RouteTable([USERS, USERS])
    twin = Route("POST", "/v1/other", "iam", "cam:GetUser",
                 api3=Api3Action("cam", "2019-01-16", "GetUser"))
    with pytest.raises(RouteTableError):
        RouteTable([USER, twin])


def test_resource_uses_the_callers_account_and_the_parameters(table: RouteTable):
    assert table.resource(USER, "100001", {"sub_uin": "200001"}) == \
        "qcs::cam::uin/100001:uin/200001"
    assert table.resource(USERS, "100001", {}) == "qcs::cam::uin/100001:*"


def test_resource_ignores_a_caller_supplied_uin(table: RouteTable):
    """{uin} is always the caller's own account: a parameter named uin cannot move it."""
    assert table.resource(USER, "100001", {"sub_uin": "2", "uin": "999"}) == \
        "qcs::cam::uin/100001:uin/2"


@pytest.mark.parametrize("values", [{}, {"contract_id": None}, {"contract_id": ["a"]},
                                    {"contract_id": {"a": 1}}, {"contract_id": True}])
def test_resource_without_a_scalar_value_refuses(table: RouteTable, values):
    with pytest.raises(GatewayError) as err:
        table.resource(CONTRACT, "100001", values, display=lambda n: n.upper())
    assert err.value.code == "MissingParameter"
    assert "CONTRACT_ID" in err.value.message


def test_resource_needs_query_only_beyond_path_params(table: RouteTable):
    assert not table.resource_needs_query(USER)
    assert not table.resource_needs_query(USERS)
    assert table.resource_needs_query(BY_QUERY)


def test_missing_route_modules_add_no_routes():
    assert load_service_routes(["gateway.no_such_routes"]) == []
