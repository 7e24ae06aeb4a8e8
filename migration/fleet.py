"""Fleet migration: which images a plan or batch covers, what is skipped and why, and the ARM read budget.

A *scope* is subscriptions and/or resource groups; *filters* narrow it (name glob, OS type, tags). The options
of a plan or batch are exactly a migration body's options (``MigrationRequestBody`` without ``sourceImageId``):
they are validated by that model, so the rules cannot drift apart. Every image of a scope gets its own image
definition named after it (concurrent migrations into one definition would race for version numbers), so
``definition.name`` and ``definition.sku`` (unique per gallery) are refused for a scope.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator

from migration.errors import InvalidRequest
from migration.instance_ids import migration_instance_id
from migration.names import arm_key
from migration.request import MigrationRequest, MigrationRequestBody, field_errors, resolve_request, validate_camel
from migration.request import _Model as RequestModel  # request models' base: camelCase, unknown fields refused
from migration.resource_ids import RESOURCE_GROUP_RE, SUBSCRIPTION_RE, GalleryId, ImageId, id_key
from migration.settings import Settings
from migration.source import OsType
from migration.status import ACTIVE_RUNTIME_STATUSES, ErrorInfo
from migration.tags import MigrationStatus, TagNames, tag_lookup

PLAN_PREFIX = "plan-"
BATCH_PREFIX = "batch-"
MAX_SCOPE_ENTRIES = 50
MAX_CONCURRENCY = 100
MAX_FLEET_IMAGES = 10_000  # per plan or batch: what one inventory document and one report hold
_PLACEHOLDER_IMAGE = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/placeholder"
    "/providers/Microsoft.Compute/images/placeholder"
)
_FLEET_ID = re.compile(r"^(plan|batch)-[0-9a-f]{32}$")
_RESOURCE_GROUP_ID = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)$", re.IGNORECASE)


class Scope(RequestModel):
    """Where to look for managed images: whole subscriptions and/or resource groups (IDs)."""

    subscriptions: list[str] = Field(default_factory=list, max_length=MAX_SCOPE_ENTRIES)
    resource_groups: list[str] = Field(default_factory=list, max_length=MAX_SCOPE_ENTRIES)

    @field_validator("subscriptions")
    @classmethod
    def _subscriptions(cls, values: list[str]) -> list[str]:
        for value in values:
            if not SUBSCRIPTION_RE.fullmatch(value):
                raise ValueError(f"'{value[:64]}' is not a subscription ID (a GUID)")
        return sorted({v.lower() for v in values})

    @field_validator("resource_groups")
    @classmethod
    def _groups(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            match = _RESOURCE_GROUP_ID.fullmatch(value.rstrip("/"))
            if not match or not SUBSCRIPTION_RE.fullmatch(match[1]) or not RESOURCE_GROUP_RE.fullmatch(match[2]):
                raise ValueError(
                    f"'{value[:128]}' is not a resource group ID (/subscriptions/{{id}}/resourceGroups/{{name}})"
                )
            out.append(f"/subscriptions/{match[1].lower()}/resourceGroups/{match[2]}")
        return out

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
        if not self.subscriptions and not self.resource_groups:
            raise ValueError("name at least one subscription or resource group")
        return self

    def listings(self) -> list[tuple[str, str | None]]:
        """(subscription, resource group or None) to list; groups inside a listed subscription are redundant."""
        whole = set(self.subscriptions)
        groups: dict[str, tuple[str, str]] = {}
        for group_id in self.resource_groups:
            sub, name = group_id.split("/")[2], group_id.split("/")[4]
            if sub not in whole:
                groups.setdefault(f"{sub}/{arm_key(name)}", (sub, name))
        return [(sub, None) for sub in sorted(whole)] + [groups[k] for k in sorted(groups)]


class ImageFilters(RequestModel):
    """Narrow a scope. ``namePattern`` is a shell-style glob (``*``, ``?``, ``[abc]``), case-insensitive as ARM
    names are; ``tagsPresent``/``tagsAbsent`` hold tag names, or ``name=value`` for an exact value."""

    name_pattern: str | None = Field(default=None, min_length=1, max_length=256)
    os_type: OsType | None = None
    tags_present: list[str] = Field(default_factory=list, max_length=20)
    tags_absent: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("tags_present", "tags_absent")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.split("=", 1)[0].strip() or len(value) > 768:
                raise ValueError("each entry is a tag name or name=value (name not empty, at most 768 characters)")
        return values

    def matches(self, item: ImageItem) -> bool:
        if self.name_pattern and not fnmatchcase(item.name.lower(), self.name_pattern.lower()):
            return False
        if self.os_type is not None and item.os_type != self.os_type:
            return False
        tags = tag_lookup(item.tags)
        return all(_has_tag(tags, t) for t in self.tags_present) and not any(
            _has_tag(tags, t) for t in self.tags_absent
        )


def _has_tag(tags: Mapping[str, str], wanted: str) -> bool:
    name, sep, value = wanted.partition("=")
    found = tags.get(name.strip().lower())
    return found is not None and (not sep or found == value)


class ImageItem(BaseModel):
    """A managed image as a listing shows it (what filters and skip rules need)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    location: str = ""
    os_type: OsType | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class FleetBody(RequestModel):
    """The fleet part of a plan or batch body; the rest of the body is the migration options."""

    source_image_id: str | None = None  # plans only: one image instead of a scope
    scope: Scope | None = None
    filters: ImageFilters = Field(default_factory=ImageFilters)
    max_concurrency: StrictInt | None = Field(default=None, ge=1, le=MAX_CONCURRENCY)  # batches only


_FLEET_FIELDS = {"sourceImageId", "scope", "filters", "maxConcurrency"}


def parse_fleet_body(payload: Any, *, batch: bool) -> tuple[FleetBody, dict[str, Any]]:
    """Split and validate a ``POST /api/plans`` or ``/api/batches`` body: (fleet part, migration options)."""
    if not isinstance(payload, dict):
        raise InvalidRequest("the request body must be a JSON object")
    fleet_part = {k: v for k, v in payload.items() if k in _FLEET_FIELDS}
    options = {k: v for k, v in payload.items() if k not in _FLEET_FIELDS}
    errors: list[dict[str, str]] = []
    if batch and "sourceImageId" in fleet_part:
        errors.append({"field": "sourceImageId", "message": "a batch takes a scope, not one image"})
    elif not batch and "maxConcurrency" in fleet_part:
        errors.append({"field": "maxConcurrency", "message": "only batches take a concurrency cap"})
    body = FleetBody()
    try:
        body = validate_camel(FleetBody, fleet_part)
    except ValidationError as exc:
        errors += field_errors(exc)
    try:
        validate_camel(MigrationRequestBody, {**options, "sourceImageId": _PLACEHOLDER_IMAGE})
    except ValidationError as exc:
        errors += field_errors(exc)
    if not errors:
        has_scope, has_image = body.scope is not None, body.source_image_id is not None
        if has_image:
            try:
                ImageId.parse(body.source_image_id)
            except InvalidRequest as exc:
                errors.append({"field": "sourceImageId", "message": exc.message})
        if has_scope == has_image and not batch:
            errors.append({"field": "scope", "message": "give either sourceImageId or scope"})
        if batch and not has_scope:
            errors.append({"field": "scope", "message": "a batch needs a scope"})
        definition = options.get("definition")
        if has_scope and isinstance(definition, dict):
            for name in ("name", "sku"):
                if definition.get(name):
                    errors.append({"field": f"definition.{name}", "message": _PER_IMAGE})
    if errors:
        raise InvalidRequest(f"the {'batch' if batch else 'plan'} request is invalid", errors)
    return body, options


_PER_IMAGE = "each image of a scope gets its own image definition named after the image; omit this field"


def check_options(options: dict[str, Any], settings: Settings, *, now: datetime) -> None:
    """Apply the same rules a migration applies (gallery, version, end of life, regions); raise InvalidRequest."""
    request_for(_PLACEHOLDER_IMAGE, options, settings, now=now, origin="check")


def request_for(
    image_id: str, options: dict[str, Any], settings: Settings, *, now: datetime, origin: str
) -> MigrationRequest:
    """The migration request of one image of a plan or batch (deterministic: ``now`` is the caller's clock)."""
    body = MigrationRequestBody.model_validate({**options, "sourceImageId": image_id})
    return resolve_request(body, settings, now=now, origin=origin)


def gallery_for(options: dict[str, Any], settings: Settings) -> GalleryId:
    """The target gallery of a plan or batch (validated before it started)."""
    return GalleryId.parse(options.get("galleryId") or settings.default_gallery_id)


def new_fleet_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def is_fleet_id(text: str, prefix: str) -> bool:
    return bool(_FLEET_ID.fullmatch(text)) and text.startswith(prefix)


def skip_reason(
    item: ImageItem, names: TagNames, *, built_versions: list[str], runtime_status: str | None
) -> str | None:
    """Why a batch leaves this image alone (already migrated, or being migrated), or None to migrate it."""
    if runtime_status in ACTIVE_RUNTIME_STATUSES:
        return f"being migrated: its migration instance is {runtime_status}"
    status = tag_lookup(item.tags).get(names.status.lower(), "").strip().lower()
    if status in (MigrationStatus.RUNNING, MigrationStatus.AWAITING_APPROVAL):
        return f"being migrated: tag {names.status}={status} (remove the tag if no migration is in progress)"
    if status == MigrationStatus.SUCCEEDED:
        return f"already migrated: tag {names.status}={status}"
    if built_versions:
        return f"already migrated: version {built_versions[0]} was built from it"
    return None


class Candidate(BaseModel):
    """An image of a plan or batch, classified: to migrate (``request``), skipped, or refused (``error``)."""

    model_config = ConfigDict(frozen=True)

    item: ImageItem
    instance_id: str = ""
    request: dict[str, Any] | None = None
    skip_reason: str | None = None
    error: ErrorInfo | None = None


def instance_id_of(item: ImageItem) -> str:
    """The per-image migration instance ID ("" when the listed ID is not a managed image ID we accept)."""
    try:
        return migration_instance_id(ImageId.parse(item.id))
    except InvalidRequest:
        return ""


def classify(
    items: list[ImageItem],
    options: dict[str, Any],
    settings: Settings,
    *,
    now: datetime,
    origin: str,
    sources: Mapping[str, list[str]],
    active: Mapping[str, str],
    skip_migrated: bool = True,
) -> list[Candidate]:
    """Decide for each image: skip it (being migrated; with ``skip_migrated`` also already migrated), refuse it
    (its request is invalid) or migrate it with this request. ``sources``: source image ID key (:func:`id_key`) ->
    versions built from it; ``active``: instance ID -> runtime status of the active migrations."""
    names = TagNames.from_settings(settings)
    out = []
    for item in items:
        instance_id = instance_id_of(item)
        key = id_key(item.id)
        reason = skip_reason(
            item if skip_migrated else item.model_copy(update={"tags": {}}),
            names,
            built_versions=list(sources.get(key, [])) if skip_migrated else [],
            runtime_status=active.get(instance_id),
        )
        if reason:
            out.append(Candidate(item=item, instance_id=instance_id, skip_reason=reason))
            continue
        try:
            request = request_for(item.id, options, settings, now=now, origin=origin)
        except InvalidRequest as exc:
            message = exc.message + "".join(f"; {e['field']}: {e['message']}" for e in exc.errors)
            out.append(Candidate(item=item, instance_id=instance_id, error=ErrorInfo(code=exc.code, message=message)))
            continue
        out.append(Candidate(item=item, instance_id=instance_id, request=request.model_dump(mode="json")))
    return out
