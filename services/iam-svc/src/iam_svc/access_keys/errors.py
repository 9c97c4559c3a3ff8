"""Errors of the API key rules."""

from kit.errors import AppError, ResourceNotFound


class AccessKeyNotFound(ResourceNotFound):
    code = "ResourceNotFound.AccessKey"


class AccessKeyOverLimit(AppError):
    status = 409
    code = "OperationDenied.AccessKeyOverLimit"


class AccessKeyUnreadable(AppError):
    """The stored SecretKey does not decrypt: wrong IAM_KEY_ENCRYPTION_KEY, or tampering."""

    status = 500
    code = "InternalError.AccessKey"
