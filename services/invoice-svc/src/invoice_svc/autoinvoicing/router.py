"""REST of autoinvoicing."""

from fastapi import APIRouter

router = APIRouter(tags=["autoinvoicing"])
