"""Tencent Cloud API 3.0 facade: parameter translation to and from the REST bodies."""

from gateway.facade.params import (
    ParamError,
    flatten_params,
    parse_query,
    pascal_to_snake,
    snake_to_pascal,
    to_api3,
    to_query,
    to_rest,
    unflatten_query,
)

__all__ = [
    "ParamError",
    "flatten_params",
    "parse_query",
    "pascal_to_snake",
    "snake_to_pascal",
    "to_api3",
    "to_query",
    "to_rest",
    "unflatten_query",
]
