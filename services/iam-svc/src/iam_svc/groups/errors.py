"""Errors of the user-group rules."""

from kit.errors import FailedOperation, ResourceNotFound


class GroupNotFound(ResourceNotFound):
    code = "ResourceNotFound.Group"


class GroupNameInUse(FailedOperation):
    code = "InvalidParameter.GroupNameInUse"
