"""Errors of the CAM policy rules."""

from kit.errors import AppError, FailedOperation, InvalidParameter, ResourceNotFound

from iam_svc.policies.document import POLICY_DOCUMENT_ERROR_CODE


class PolicyNotFound(ResourceNotFound):
    code = "ResourceNotFound.Policy"


class PolicyNameInUse(FailedOperation):
    code = "FailedOperation.PolicyNameInUse"


class PresetPolicyReadOnly(AppError):
    status = 409
    code = "OperationDenied.PresetPolicy"


class InvalidPolicyDocument(InvalidParameter):
    code = POLICY_DOCUMENT_ERROR_CODE


class StoredPolicyUnreadable(AppError):
    """A stored document no longer parses (e.g. a stricter parser after an upgrade). Decisions
    for its principals fail closed with this error rather than skip a possible deny."""

    status = 500
    code = "InternalError.PolicyDocument"
