"""ARM resource events in the Event Grid schema, shaped like the samples in azure-specs/eventgrid
(Microsoft.Resources.ResourceWriteSuccess / ResourceDeleteSuccess, dataVersion "2", metadataVersion "1")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from emulator.clock import iso
from emulator.core.ids import parse
from emulator.identity import TENANT_ID, Principal

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
TENANT_CLAIM = "http://schemas.microsoft.com/identity/claims/tenantid"


def claims_of(principal: Principal | None) -> dict[str, str]:
    """Event Grid carries claims as a string map, with the long claim names Entra ID uses."""
    if principal is None:
        return {}
    claims = {k: str(v) for k, v in principal.claims.items()}
    claims[OID_CLAIM] = principal.object_id
    claims[TENANT_CLAIM] = str(principal.claims.get("tid", TENANT_ID))
    return claims


def resource_event(
    *,
    deleted: bool,
    subject: str,
    resource_uri: str,
    action: str,
    principal: Principal | None,
    correlation_id: str,
    now: datetime,
    topic_scope: str,
    role_name: str,
    http_request: dict[str, str] | None = None,
) -> dict[str, Any]:
    rid = parse(resource_uri)
    topic = f"/subscriptions/{rid.subscription}"
    if topic_scope == "resourceGroup" and rid.resource_group:
        topic += f"/resourceGroups/{rid.resource_group}"
    data: dict[str, Any] = {
        "authorization": {
            "scope": resource_uri,
            "action": action,
            "evidence": {
                "role": role_name,
                "principalId": principal.object_id if principal else "",
                "principalType": "ServicePrincipal",
            },
        },
        "claims": claims_of(principal),
        "correlationId": correlation_id,
        "resourceProvider": action.split("/")[0],
        "resourceUri": resource_uri,
        "operationName": action,
        "status": "Succeeded",
        "subscriptionId": rid.subscription,
        "tenantId": TENANT_ID,
    }
    if http_request is not None:
        data["httpRequest"] = http_request
    return {
        "subject": subject,
        "eventType": DELETE_SUCCESS if deleted else WRITE_SUCCESS,
        "eventTime": iso(now),
        "id": str(uuid.uuid4()),
        "data": data,
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": topic,
    }


def validation_event(topic: str, code: str, validation_url: str, now: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": "",
        "data": {"validationCode": code, "validationUrl": validation_url},
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": iso(now),
        "metadataVersion": "1",
        "dataVersion": "2",
    }
