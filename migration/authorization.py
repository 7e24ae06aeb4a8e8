"""Who may have a tag-started migration delete its source without an approval.

The hole this closes: ``Microsoft.Resources/tags/write`` lets a principal tag a resource it has no other right on
(Learn, "Use tags to organize your Azure resources and management hierarchy": the Tag Contributor role manages tags
without access to the resources themselves). The app's identity may delete managed images, so a tag must not be a
way to delete an image one could not delete oneself.

The rule, decided when the migration starts (so the orchestrator only sees a request that asks for an approval):

* The principal who wrote the tag comes from the Event Grid event, not from the tags: ARM puts the caller in
  ``data.claims`` (its object ID under the ``objectidentifier`` claim) and the role assignment that allowed the
  write in ``data.authorization.evidence`` (``principalId``, ``principalType``, ``role``, ...) (Learn, "Azure
  resource group as an Event Grid source", event examples; schema in
  ``third_party/azure-specs/specification/eventgrid/data-plane/Microsoft.Resources``).
* It is trusted only if its object ID (or, for a write allowed through a group's role assignment, that group's
  object ID) is in ``ALLOWED_TAG_PRINCIPALS``. Azure offers no API that answers "may principal X delete image Y" for
  another principal (``Microsoft.Authorization/permissions`` lists the *caller's* own permissions only; summing role
  assignments misses deny assignments, conditions and group nesting, and errs towards deleting), so an explicit
  list is the one answer that cannot be wrong in the unsafe direction.
* An event whose principal is missing, malformed or inconsistent (evidence naming another principal than the
  token, another tenant, another resource or operation) is untrusted, and so is the app's own tag write: it tells
  who wrote the status tags, not who asked for the migration.
* Untrusted: an ``after-validation`` migration still runs and validates, then waits for approval (the reason is in
  the status, the summary API and the ``migration-reason`` tag); ``never`` and ``after-approval`` are unchanged.
* Several writers: the tags are re-read from ARM, so they may hold writes by others than the event's principal.
  Any later tag write by an untrusted principal on an image whose migration may still delete without approval
  therefore puts that migration on hold (:func:`deletion_gate`): deletion then waits for approval too.

HTTP starts are authorized by the function key (and App Service authentication when enabled): whoever may call the
API may also approve, so they are not gated here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from migration.events import IMAGE_WRITE, TAGS_WRITE, strip_tags_suffix
from migration.request import MigrationRequest
from migration.resource_ids import GUID_RE, ImageId
from migration.settings import DeletionMode

OID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
TENANT_CLAIMS = ("http://schemas.microsoft.com/identity/claims/tenantid", "tid")
APP_ID_CLAIMS = ("appid", "azp")
# principalType values of Azure role assignments that can be the evidence of a write.
PRINCIPAL_TYPES = {"user": "User", "serviceprincipal": "ServicePrincipal", "group": "Group"}
ALLOWED_SETTING = "ALLOWED_TAG_PRINCIPALS"


@dataclass(frozen=True)
class TagWriter:
    """Who wrote the tags, as the event tells it."""

    object_id: str  # the caller: the token's object ID (lower case)
    principal_type: str  # User, ServicePrincipal or Group (the role assignment's principal)
    granted_to: str  # the role assignment's principal: the caller, or the group it belongs to (lower case)
    app_id: str = ""  # the token's application ID (service principals and managed identities)

    def describe(self) -> str:
        if self.principal_type == "Group":
            return f"principal {self.object_id} (through group {self.granted_to})"
        return f"{self.principal_type} {self.object_id}"


@dataclass(frozen=True)
class WriterReading:
    writer: TagWriter | None
    problem: str = ""  # why there is no writer


@dataclass(frozen=True)
class DeletionAuthority:
    trusted: bool
    reason: str  # trusted: who; untrusted: why deletion needs an approval
    own_write: bool = False  # the event is the app's own tag write


def _claim(claims: Mapping[str, object], names: tuple[str, ...]) -> str:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _guid(value: object) -> str:
    return value.lower() if isinstance(value, str) and GUID_RE.fullmatch(value) else ""


def _none(problem: str) -> WriterReading:
    return WriterReading(None, problem)


def writer_from_event(data: object, image: ImageId) -> WriterReading:
    """The principal who made the write an event reports, or None with the reason it cannot be trusted.

    Never raises: anything missing or not shaped as ARM sends it is a reason, not an error."""
    if not isinstance(data, Mapping):
        return _none("the event has no data")
    authorization, claims = data.get("authorization"), data.get("claims")
    if not isinstance(authorization, Mapping) or not isinstance(authorization.get("evidence"), Mapping):
        return _none("the event has no authorization evidence")
    if not isinstance(claims, Mapping) or not claims:
        return _none("the event has no claims")
    evidence: Mapping[str, object] = authorization["evidence"]
    action, operation = authorization.get("action"), data.get("operationName")
    if not isinstance(action, str) or not isinstance(operation, str) or action.lower() != operation.lower():
        return _none("the authorized action is not the event's operation")
    if action.lower() not in (IMAGE_WRITE, TAGS_WRITE):
        return _none(f"the authorized action {action[:80]} is neither an image nor a tags write")
    scope = authorization.get("scope")
    if not isinstance(scope, str) or strip_tags_suffix(scope).lower() != image.key:
        return _none("the authorization scope is not the image")
    object_id = _guid(_claim(claims, OID_CLAIMS))
    if not object_id:
        return _none("the claims carry no object ID")
    granted_to = _guid(evidence.get("principalId"))
    principal_type = PRINCIPAL_TYPES.get(str(evidence.get("principalType", "")).lower())
    if not granted_to or principal_type is None:
        return _none("the evidence names no principal (principalId and principalType)")
    if principal_type != "Group" and granted_to != object_id:
        return _none(f"the evidence names {granted_to} but the token belongs to {object_id}")
    token_tenant, event_tenant = _claim(claims, TENANT_CLAIMS).lower(), str(data.get("tenantId") or "").lower()
    if token_tenant and event_tenant and token_tenant != event_tenant:
        return _none("the token's tenant is not the event's tenant")
    return WriterReading(TagWriter(object_id, principal_type, granted_to, _claim(claims, APP_ID_CLAIMS).lower()))


def deletion_authority(reading: WriterReading, *, allowed: frozenset[str], own: frozenset[str]) -> DeletionAuthority:
    """May this tag writer have the migration delete its source without an approval?

    ``allowed``: ``ALLOWED_TAG_PRINCIPALS`` (lower case); ``own``: the app identity's object and client IDs."""
    writer = reading.writer
    if writer is None:
        return DeletionAuthority(False, f"no verifiable tag writer ({reading.problem})")
    if writer.object_id in own or (writer.app_id and writer.app_id in own):
        return DeletionAuthority(False, "the event is the app's own tag write, not a user's", own_write=True)
    if writer.object_id in allowed or (writer.principal_type == "Group" and writer.granted_to in allowed):
        return DeletionAuthority(True, f"tagged by {writer.describe()}, listed in {ALLOWED_SETTING}")
    return DeletionAuthority(False, f"tagged by {writer.describe()}, not in {ALLOWED_SETTING}")


def authorize_tag_request(request: MigrationRequest, authority: DeletionAuthority) -> MigrationRequest:
    """A tag start by an untrusted writer: ``after-validation`` becomes ``after-approval``, with the reason. A
    request to repoint scale sets (writes on resources the writer may have no right on, exactly like deleting the
    image) waits for the same approval, whatever the deletion mode."""
    if authority.trusted:
        return request
    if request.deletion_mode == DeletionMode.AFTER_VALIDATION:
        return request.model_copy(
            update={"deletion_mode": DeletionMode.AFTER_APPROVAL, "approval_reason": approval_text(authority)}
        )
    if request.repoint_scale_sets and not request.approval_reason:
        return request.model_copy(update={"approval_reason": approval_text(authority)})
    return request


def approval_text(authority: DeletionAuthority) -> str:
    return f"approval required: {authority.reason}"


def hold_reason(payload: object) -> str:
    """The reason a hold event carries. The Python SDK's ``raise_event`` JSON-encodes its data once more than the
    orchestrator decodes, so a string arrives as its JSON text (Azure/azure-functions-durable-python issue #295,
    "wait_for_external_event Task result adds double quotes"); both forms are accepted."""
    if not isinstance(payload, str):
        return str(payload)
    try:
        decoded = json.loads(payload)
    except ValueError:
        return payload
    return decoded if isinstance(decoded, str) else payload


def holdable(request: MigrationRequest) -> bool:
    """Whether a hold can change this migration: a tag start that would delete (or repoint scale sets) without
    approval. (An HTTP or batch start was asked for by a key holder; untrusted tag writes do not change that.)"""
    unapproved_repoint = request.repoint_scale_sets and not request.approval_reason
    return request.origin == "tag" and (request.deletion_mode == DeletionMode.AFTER_VALIDATION or unapproved_repoint)


def deletion_gate(request: MigrationRequest, held: str | None) -> tuple[bool, str]:
    """(must deletion, and the repointing of scale sets, wait for an approval, why): ``held`` is the reason of a
    hold received while running."""
    if request.deletion_mode == DeletionMode.NEVER:
        # Nothing to delete; a repoint asked for by an untrusted tag writer still waits (authorize_tag_request).
        why = (request.approval_reason or held or "") if request.repoint_scale_sets else ""
        return bool(why), why
    if request.deletion_mode == DeletionMode.AFTER_APPROVAL:
        return True, request.approval_reason
    if held:
        return True, held
    return False, ""
