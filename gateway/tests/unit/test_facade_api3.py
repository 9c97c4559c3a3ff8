"""API 3.0 <-> REST translation of whole calls: parameters into path, body or query, and the
service's answer (or problem+json) into the Response envelope."""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
import pytest
from gateway.errors import GatewayError
from gateway.facade.api3 import answer, build_call, read_params
from gateway.facade.params import to_query
from kit.routes import Api3Action, Route

ADD = Route("POST", "/v1/users", "iam", "cam:AddUser",
            api3=Api3Action("cam", "2019-01-16", "AddUser"))
GET_USER = Route("GET", "/v1/users/{sub_uin}", "iam", "cam:GetUser",
                 api3=Api3Action("cam", "2019-01-16", "GetUser"))
LIST = Route("GET", "/v1/contracts", "contract", "contract:GetContractList",
             api3=Api3Action("contract", "2026-11-01", "GetContractList"))
UPDATE = Route("PUT", "/v1/contracts/{contract_id}/contact", "contract",
               "contract:GetContractContact")


def test_read_params_post_json_and_null_body():
    assert read_params("POST", "", b'{"Name": "a"}') == {"Name": "a"}
    assert read_params("POST", "", b"null") == {}
    assert read_params("POST", "", b"") == {}


@pytest.mark.parametrize("body,code", [(b"[1]", "InvalidParameter"),
                                       (b"{nope", "InvalidParameter")])
def test_read_params_refuses_non_objects(body: bytes, code: str):
    with pytest.raises(GatewayError) as err:
        read_params("POST", "", body)
    assert err.value.code == code


def test_read_params_get_unflattens_like_the_sdk_flattens():
    params = {"Filters": [{"Name": "status", "Values": ["signed", "待签"]}], "Limit": 20}
    assert read_params("GET", to_query(params), b"") == {
        "Filters": [{"Name": "status", "Values": ["signed", "待签"]}], "Limit": "20"}
    with pytest.raises(GatewayError) as err:
        read_params("GET", "Ids.1=a", b"")
    assert err.value.code == "InvalidParameter"


def test_post_route_gets_a_snake_case_json_body_and_client_token_header():
    call, values = build_call(ADD, {"Name": "alice", "ConsoleLogin": 1, "ClientToken": "t-1",
                                    "Remark": {"InnerKey": "x"}})
    assert (call.method, call.path, call.query) == ("POST", "/v1/users", b"")
    assert orjson.loads(call.body) == {"name": "alice", "console_login": 1,
                                       "remark": {"inner_key": "x"}}
    assert (b"idempotency-key", b"t-1") in call.headers
    assert (b"content-type", b"application/json") in call.headers
    assert values["name"] == "alice"


def test_path_params_come_from_params_of_the_same_name_and_are_encoded():
    call, values = build_call(GET_USER, {"SubUin": "20/01 x"})
    assert call.path == "/v1/users/20%2F01%20x"
    assert values["sub_uin"] == "20/01 x"
    call, _ = build_call(UPDATE, {"ContractId": "QC-1", "Phone": "13800000000"})
    assert call.path == "/v1/contracts/QC-1/contact"
    assert orjson.loads(call.body) == {"phone": "13800000000"}


@pytest.mark.parametrize("params,code", [({}, "MissingParameter"),
                                         ({"SubUin": ""}, "MissingParameter"),
                                         ({"SubUin": ["1"]}, "InvalidParameterValue")])
def test_path_param_missing_or_mistyped(params, code):
    with pytest.raises(GatewayError) as err:
        build_call(GET_USER, params)
    assert err.value.code == code
    assert "SubUin" in err.value.message


def test_get_route_gets_a_query_string():
    call, _ = build_call(LIST, {"Offset": 0, "Limit": 20, "Status": ["signed", "draft"],
                                "Paper": True,
                                "Filters": [{"Name": "status", "Values": ["a"]}]})
    assert call.body == b""
    pairs = parse_qsl(call.query.decode())
    assert pairs[:5] == [("offset", "0"), ("limit", "20"), ("status", "signed"),
                         ("status", "draft"), ("paper", "true")]
    assert pairs[5][0] == "filters"
    assert orjson.loads(pairs[5][1]) == [{"name": "status", "values": ["a"]}]


def test_success_answer_becomes_pascal_case_with_request_id():
    body = orjson.dumps({"sub_uin": "200001", "items": [{"policy_id": "p1"}]})
    out = answer(200, [(b"content-type", b"application/json")], body, "rid")
    assert out.status == 200 and out.headers == [(b"content-type", b"application/json")]
    assert orjson.loads(out.body) == {"Response": {"SubUin": "200001",
                                                   "Items": [{"PolicyId": "p1"}],
                                                   "RequestId": "rid"}}
    empty = answer(204, [], b"", "rid")
    assert orjson.loads(empty.body) == {"Response": {"RequestId": "rid"}}


def test_problem_json_maps_to_error_code_and_message():
    problem = orjson.dumps({"type": "about:blank", "status": 404, "code": "ResourceNotFound.User",
                            "detail": "no such user"})
    out = answer(404, [(b"content-type", b"application/problem+json")], problem, "rid")
    assert out.status == 200
    assert orjson.loads(out.body)["Response"] == {
        "Error": {"Code": "ResourceNotFound.User", "Message": "no such user"}, "RequestId": "rid"}


@pytest.mark.parametrize("detail,expected", [
    ("missing parameter: user_name", "missing parameter: UserName"),
    ("filters.0.values: Input should be a valid list", "Filters.0.Values: Input should be a "
     "valid list"),
    ("the request body is not a valid JSON object", "the request body is not a valid JSON object"),
])
def test_validation_messages_name_parameters_in_pascal_case(detail: str, expected: str):
    code = "MissingParameter" if detail.startswith("missing") else "InvalidParameterValue"
    problem = orjson.dumps({"code": code, "detail": detail})
    out = answer(400, [(b"content-type", b"application/problem+json")], problem, "rid")
    assert orjson.loads(out.body)["Response"]["Error"] == {"Code": code, "Message": expected}


def test_answers_without_a_problem_body():
    crash = answer(500, [(b"content-type", b"text/plain")], b"Internal Server Error", "rid")
    assert orjson.loads(crash.body)["Response"]["Error"]["Code"] == "InternalError"
    missing = answer(404, [], b"", "rid")
    assert orjson.loads(missing.body)["Response"]["Error"]["Code"] == "ResourceNotFound"
    not_json = answer(200, [(b"content-type", b"application/pdf")], b"%PDF", "rid")
    assert orjson.loads(not_json.body)["Response"]["Error"]["Code"] == "InternalError"
