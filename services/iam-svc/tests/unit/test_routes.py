"""The route table (iam_svc.routes.ROUTES) against the app and against CAM's own names.

The gateway's API 3.0 facade converts PascalCase <-> snake_case mechanically, so every REST
parameter and answer field must be the snake_case form of the CAM SDK's name
(tencentcloud-sdk-python-cam, cam/v20190116/models.py) and survive the round trip.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from gateway.facade.params import pascal_to_snake, snake_to_pascal
from iam_svc.config import Settings
from iam_svc.main import create_app
from iam_svc.routes import ROUTES

# CAM SDK 2019-01-16 names (request parameters; answer fields, nested ones included).
SUB_ACCOUNT = {"Uin", "Name", "Uid", "Remark", "ConsoleLogin", "PhoneNum", "CountryCode",
               "Email", "CreateTime", "NickName"}
MEMBERS = {"Info", "GroupId", "Uid", "Uin"}
CAM: dict[str, tuple[set[str], set[str]]] = {
    "AddUser": ({"Name", "Remark", "ConsoleLogin", "UseApi", "Password", "NeedResetPassword",
                 "PhoneNum", "CountryCode", "Email"},
                {"Uin", "Name", "Password", "SecretId", "SecretKey", "Uid",
                 "PhoneNumVerifyLink"}),
    "GetUser": ({"Name"}, SUB_ACCOUNT | {"RecentlyLoginIP", "RecentlyLoginTime"}),
    "ListUsers": (set(), {"Data"} | SUB_ACCOUNT),
    "DeleteUser": ({"Name", "Force"}, set()),
    "CreateGroup": ({"GroupName", "Remark"}, {"GroupId"}),
    "ListGroups": ({"Page", "Rp", "Keyword"},
                   {"TotalNum", "GroupInfo", "GroupId", "GroupName", "CreateTime", "Remark"}),
    "DeleteGroup": ({"GroupId"}, set()),
    "AddUserToGroup": (MEMBERS, set()),
    "RemoveUserFromGroup": (MEMBERS, set()),
    "CreatePolicy": ({"PolicyName", "PolicyDocument", "Description", "Tags"}, {"PolicyId"}),
    "GetPolicy": ({"PolicyId"}, {"PolicyName", "Description", "Type", "AddTime", "UpdateTime",
                                 "PolicyDocument", "PresetAlias", "IsServiceLinkedRolePolicy",
                                 "Tags"}),
    "ListPolicies": ({"Rp", "Page", "Scope", "Keyword"},
                     {"TotalNum", "List", "ServiceTypeList", "PolicyId", "PolicyName",
                      "AddTime", "Type", "Description", "CreateMode", "Attachments",
                      "ServiceType", "IsAttached"}),
    "DeletePolicy": ({"PolicyId"}, set()),
    "AttachUserPolicy": ({"PolicyId", "AttachUin"}, set()),
    "DetachUserPolicy": ({"PolicyId", "DetachUin"}, set()),
    "AttachGroupPolicy": ({"PolicyId", "AttachGroupId"}, set()),
    "DetachGroupPolicy": ({"PolicyId", "DetachGroupId"}, set()),
    "ListAttachedUserAllPolicies": (
        {"TargetUin", "Rp", "Page", "AttachType", "StrategyType", "Keyword"},
        {"PolicyList", "TotalNum", "PolicyId", "PolicyName", "Description", "AddTime",
         "StrategyType", "CreateMode", "Groups", "GroupId", "GroupName", "Deactived",
         "DeactivedDetail"}),
    "CreateAccessKey": ({"TargetUin", "Description"},
                        {"AccessKey", "AccessKeyId", "SecretAccessKey", "Status",
                         "CreateTime", "Description"}),
    "ListAccessKeys": ({"TargetUin"},
                       {"AccessKeys", "AccessKeyId", "Status", "CreateTime", "Description"}),
    "UpdateAccessKey": ({"AccessKeyId", "Status", "TargetUin"}, set()),
    "DeleteAccessKey": ({"AccessKeyId", "TargetUin"}, set()),
}
REQUIRED_ACTIONS = {"AddUser", "GetUser", "ListUsers", "DeleteUser", "CreateGroup",
                    "AddUserToGroup", "ListGroups", "CreatePolicy", "GetPolicy", "ListPolicies",
                    "DeletePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
                    "ListAttachedUserAllPolicies", "CreateAccessKey", "ListAccessKeys",
                    "UpdateAccessKey", "DeleteAccessKey"}
OURS = {"client_token"}  # idempotency: the facade's ClientToken


@pytest.fixture(scope="module")
def openapi(tmp_path_factory) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('iam') / 'iam.db'}"
    return create_app(Settings(database_url=url, create_demo_account=False)).openapi()


def _schema(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _schema(openapi, option)
    return schema


def _keys(openapi: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """Every property name in a schema, nested objects and list items included."""
    schema = _schema(openapi, schema)
    names: set[str] = set()
    if schema.get("type") == "array":
        return _keys(openapi, schema["items"])
    for name, sub in schema.get("properties", {}).items():
        names.add(name)
        names |= _keys(openapi, sub)
    return names


def _operation(openapi: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    assert path in openapi["paths"], path
    assert method.lower() in openapi["paths"][path], (method, path)
    return openapi["paths"][path][method.lower()]


def test_every_issue_action_is_routed_once():
    actions = [r.api3.action for r in ROUTES if r.api3 is not None]
    assert len(actions) == len(set(actions))
    assert REQUIRED_ACTIONS <= set(actions)
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.action)
def test_route_matches_the_app_and_its_cam_resource(openapi, route):
    _operation(openapi, route.method, route.path)
    assert route.service == "iam" and route.callers == frozenset({"customer"})
    placeholders = set(re.findall(r"\{([a-z_]+)\}", route.resource))
    assert placeholders <= set(route.path_params) | {"uin"}, route.resource
    segments = route.resource.split(":", 5)
    assert len(segments) == 6 and segments[0] == "qcs" and segments[4] == "uin/{uin}"
    if route.api3 is not None:
        assert route.api3.service == "cam" and route.api3.version == "2019-01-16"
        assert route.action == f"cam:{route.api3.action}"
    else:
        assert route.action.startswith("account:")


@pytest.mark.parametrize("route", [r for r in ROUTES if r.api3], ids=lambda r: r.api3.action)
def test_parameters_and_answers_are_cam_names_in_snake_case(openapi, route):
    requests, answers = CAM[route.api3.action]
    operation = _operation(openapi, route.method, route.path)
    params = {p["name"] for p in operation.get("parameters", []) if p["in"] in ("path", "query")}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        params |= set(_schema(openapi, body["schema"]).get("properties", {}))
    for name in params - OURS:
        assert pascal_to_snake(snake_to_pascal(name)) == name
        assert snake_to_pascal(name) in requests, (route.api3.action, name)
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    for name in _keys(openapi, answer):
        assert pascal_to_snake(snake_to_pascal(name)) == name
        assert snake_to_pascal(name) in answers, (route.api3.action, name)
