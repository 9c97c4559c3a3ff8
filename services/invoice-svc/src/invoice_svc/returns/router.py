"""REST of returns."""

from fastapi import APIRouter

router = APIRouter(tags=["returns"])
