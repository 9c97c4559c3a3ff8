"""Every event iam-svc publishes, with its data schema (for the event catalogue / AsyncAPI).

All are CloudEvents 1.0 on `billing.events`, source `/services/iam-svc`, written through the
outbox in the transaction of the change they describe.
"""

from pydantic import BaseModel

from iam_svc.access_keys.events import SCHEMAS as KEY_SCHEMAS
from iam_svc.accounts.events import SCHEMAS as ACCOUNT_SCHEMAS
from iam_svc.policies.events import SCHEMAS as POLICY_SCHEMAS

EVENT_SCHEMAS: dict[str, type[BaseModel]] = {**ACCOUNT_SCHEMAS, **KEY_SCHEMAS, **POLICY_SCHEMAS}


def json_schemas() -> dict[str, dict[str, object]]:
    """Event type -> JSON Schema of its `data`."""
    return {event_type: model.model_json_schema() for event_type, model in EVENT_SCHEMAS.items()}
