"""Account identity rules (pure domain)."""

from iam_svc.accounts.uscc import (
    USCC_ERROR_CODE,
    UsccError,
    is_valid_uscc,
    normalize_uscc,
    uscc_check_character,
    validate_uscc,
)

__all__ = [
    "USCC_ERROR_CODE",
    "UsccError",
    "is_valid_uscc",
    "normalize_uscc",
    "uscc_check_character",
    "validate_uscc",
]
