"""ARM resource events in the Event Grid schema, shaped like the samples in azure-specs/eventgrid
(Microsoft.Resources.ResourceWriteSuccess / ResourceDeleteSuccess, dataVersion "2", metadataVersion "1")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from emulator.clock import iso
from emulator.core.ids import parse
from emulator.identity import TENANT_ID, Principal
from emulator.rbac import Grant

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
TENANT_CLAIM = "http://schemas.microsoft.com/identity/claims/tenantid"
# ARM reports the caller's token claims under the long names of the .NET claims mapping, as the published samples
# show (Learn, "Azure resource group as an Event Grid source", ResourceActionSuccess example: objectidentifier,
# nameidentifier, tenantid, identityprovider next to appid, appidacr, aud, iss, iat, nbf, exp, uti, ver).
_LONG_CLAIMS = {
    "oid": OID_CLAIM,
    "tid": TENANT_CLAIM,
    "sub": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
    "scp": "http://schemas.microsoft.com/identity/claims/scope",
    "upn": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
}
_DROPPED_CLAIMS = {"idtyp"}
OWNER_ROLE_DEFINITION = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"  # the built-in Owner role


def claims_of(principal: Principal | None) -> dict[str, str]:
    """Event Grid carries the caller's claims as a string map, with the long claim names ARM uses."""
    if principal is None:
        return {}
    claims = {_LONG_CLAIMS.get(k, k): str(v) for k, v in principal.claims.items() if k not in _DROPPED_CLAIMS}
    claims[OID_CLAIM] = principal.object_id
    claims.setdefault(TENANT_CLAIM, TENANT_ID)
    if "iss" in claims:
        claims["http://schemas.microsoft.com/identity/claims/identityprovider"] = claims["iss"]
    return claims


def evidence_of(principal: Principal | None, grant: Grant | None, subscription: str) -> dict[str, str]:
    """``authorization.evidence``: the role assignment that allowed the write, as ARM reports it (same Learn
    example: role, roleAssignmentScope, roleAssignmentId, roleDefinitionId, principalId, principalType). Every
    emulator caller is a service principal (tokens come from the managed-identity endpoint). With no role loaded
    the emulator behaves as if the caller were Owner of the subscription."""
    if grant is None:
        scope = f"/subscriptions/{subscription}"
        assignment = uuid.uuid5(uuid.NAMESPACE_URL, f"owner|{scope}|{principal.object_id if principal else ''}")
        grant = Grant(
            role="Owner",
            assignment_scope=scope,
            assignment_id=f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}",
            definition_id=f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{OWNER_ROLE_DEFINITION}",
        )
    return {
        "role": grant.role,
        "roleAssignmentScope": grant.assignment_scope,
        "roleAssignmentId": grant.assignment_id.rsplit("/", 1)[-1],
        "roleDefinitionId": grant.definition_id.rsplit("/", 1)[-1],
        "principalId": principal.object_id if principal else "",
        "principalType": "ServicePrincipal",
    }


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
    grant: Grant | None,
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
            "evidence": evidence_of(principal, grant, rid.subscription),
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
