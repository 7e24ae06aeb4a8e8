"""The tag contract: which tags start a migration, the options they carry, and the tags the app writes back.

A user tags a managed image ``migrate-to-gallery=<gallery ID | gallery name | true>`` plus optional
``migrate-*`` options. The app answers with ``migration-status``, ``migration-id``, ``migration-request``
(a hash of the trigger and option tags it acted on) and, at the end, ``migration-version-id`` or
``migration-reason``. Re-reading tags after each event, the app starts a migration only when the trigger is
present and its hash differs from ``migration-request``: that makes duplicate deliveries, out-of-order
events and the app's own tag writes start nothing, while a user who changes an option (or removes
``migration-status``) gets a new migration.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from migration.errors import InvalidRequest
from migration.regions import parse_regions_tag, parse_storage_account_type
from migration.request import (
    MigrationRequest,
    MigrationRequestBody,
    RepointTarget,
    field_errors,
    resolve_request,
)
from migration.resource_ids import GALLERY_NAME_RE, GalleryId, ImageId
from migration.settings import DeletionMode, Settings

TAG_VALUE_MAX = 256
# "Each resource, resource group, and subscription can have a maximum of 50 tag name-value pairs" (Microsoft Learn,
# "Use tags to organize your Azure resources", Limitations); ARM refuses more with TooManyTags.
ARM_MAX_TAGS = 50


class MigrationStatus(StrEnum):
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting-approval"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class TagNames:
    trigger: str
    definition: str
    version: str
    regions: str
    storage_type: str
    end_of_life: str
    delete_source: str
    exclude_from_latest: str
    allow_replicated_location_deletion: str
    block_deletion: str
    repoint_scale_sets: str
    repoint_target: str
    repoint_auto_upgrading: str
    status: str
    migration_id: str
    request: str
    version_id: str
    reason: str
    cancel: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TagNames:
        o, s = settings.tag_option_prefix, settings.tag_status_prefix
        return cls(
            trigger=settings.tag_trigger,
            definition=f"{o}definition",
            version=f"{o}version",
            regions=f"{o}regions",
            storage_type=f"{o}storage-type",
            end_of_life=f"{o}end-of-life",
            delete_source=f"{o}delete-source",
            exclude_from_latest=f"{o}exclude-from-latest",
            allow_replicated_location_deletion=f"{o}allow-deletion-of-replicated-locations",
            block_deletion=f"{o}block-deletion-before-end-of-life",
            repoint_scale_sets=f"{o}repoint-scale-sets",
            repoint_target=f"{o}repoint-target",
            repoint_auto_upgrading=f"{o}repoint-auto-upgrading",
            status=f"{s}status",
            migration_id=f"{s}id",
            request=f"{s}request",
            version_id=f"{s}version-id",
            reason=f"{s}reason",
            cancel=f"{s}cancel",
        )

    @property
    def inputs(self) -> tuple[str, ...]:
        """The tags a user writes (and that define the request's identity)."""
        return (*self.original_inputs, *self.later_inputs)

    @property
    def original_inputs(self) -> tuple[str, ...]:
        """The first release's option tags: always part of the request hash."""
        return (
            self.trigger,
            self.definition,
            self.version,
            self.regions,
            self.storage_type,
            self.end_of_life,
            self.delete_source,
            self.exclude_from_latest,
        )

    @property
    def later_inputs(self) -> tuple[str, ...]:
        """Option tags added since: part of the request hash only when set, so an image migrated before they existed
        keeps the hash the app wrote on it (and is not migrated again by the next unrelated tag write)."""
        return (
            self.allow_replicated_location_deletion,
            self.block_deletion,
            self.repoint_scale_sets,
            self.repoint_target,
            self.repoint_auto_upgrading,
        )


def tag_lookup(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Tag names are case-insensitive in ARM; values are not."""
    return {k.lower(): v for k, v in (tags or {}).items()}


def request_hash(tags: Mapping[str, str] | None, names: TagNames) -> str:
    lookup = tag_lookup(tags)
    always = {n.lower() for n in names.original_inputs}
    material = "\n".join(
        f"{n.lower()}={lookup.get(n.lower(), '')}"
        for n in names.inputs
        if n.lower() in always or lookup.get(n.lower(), "")
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TagDecision:
    start: bool
    reason: str
    request_hash: str = ""
    trigger_value: str = ""


_FALSE = {"false", "no", "0", "off"}


def decide(tags: Mapping[str, str] | None, names: TagNames) -> TagDecision:
    """Should these tags (re-read from ARM after an event) start a migration?"""
    lookup = tag_lookup(tags)
    trigger = lookup.get(names.trigger.lower(), "").strip()
    if not trigger or trigger.lower() in _FALSE:
        return TagDecision(False, f"no '{names.trigger}' tag")
    digest = request_hash(tags, names)
    handled = lookup.get(names.request.lower(), "")
    status = lookup.get(names.status.lower(), "")
    if status and handled == digest:
        return TagDecision(False, f"already handled (migration-status={status})", digest, trigger)
    return TagDecision(True, "trigger tag present", digest, trigger)


@dataclass(frozen=True)
class GalleryRef:
    """The trigger tag's value: a full ID, a name to resolve, or the default gallery."""

    gallery_id: GalleryId | None = None
    name: str | None = None


def parse_trigger_value(value: str, settings: Settings) -> GalleryRef:
    text = value.strip()
    if text.isascii() and text.lower() == "true":
        if not settings.default_gallery_id:
            raise InvalidRequest("the tag says 'true' but DEFAULT_GALLERY_ID is not set")
        return GalleryRef(gallery_id=GalleryId.parse(settings.default_gallery_id))
    if text.startswith("/"):
        return GalleryRef(gallery_id=GalleryId.parse(text))
    if not GALLERY_NAME_RE.fullmatch(text):
        raise InvalidRequest(f"'{text[:80]}' is neither a gallery resource ID, a gallery name nor 'true'")
    return GalleryRef(name=text)


def _choice(value: str, allowed: Mapping[str, Any], what: str) -> Any:
    """One of the documented values, case-insensitive (ASCII only: no Unicode case folding)."""
    text = value.strip()
    if text.isascii() and text.lower() in allowed:
        return allowed[text.lower()]
    raise InvalidRequest(f"must be {what}, got '{value[:32]}'")


def _parse_bool(value: str) -> bool:
    return bool(_choice(value, {"true": True, "false": False}, "true or false"))


def _parse_repoint_target(value: str) -> RepointTarget:
    targets = {target.value: target for target in RepointTarget}
    return RepointTarget(_choice(value, targets, "version or definition"))


def _parse_deletion(value: str) -> DeletionMode:
    modes = {mode.value: mode for mode in DeletionMode}
    return DeletionMode(_choice(value, modes, "after-validation, never or after-approval"))


def _parse_end_of_life(value: str) -> datetime:
    text = value.strip()
    try:
        if not text.isascii():
            raise ValueError(text)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequest(f"must be a date like 2027-12-31 or an ISO date-time, got '{text[:32]}'") from None


# Which tag a request field comes from, so an error names what the user wrote.
_FIELD_TAGS = {
    "galleryId": "trigger",
    "definition": "definition",
    "version": "version",
    "targetRegions": "regions",
    "storageAccountType": "storage_type",
    "endOfLife": "end_of_life",
    "deletionMode": "delete_source",
    "excludeFromLatest": "exclude_from_latest",
    "allowDeletionOfReplicatedLocations": "allow_replicated_location_deletion",
    "blockDeletionBeforeEndOfLife": "block_deletion",
    "repointScaleSets": "repoint_scale_sets",
    "repointTarget": "repoint_target",
    "repointAutoUpgrading": "repoint_auto_upgrading",
}


def _tag_errors(errors: list[dict[str, str]], names: TagNames) -> list[dict[str, str]]:
    out = []
    for error in errors:
        head = re.split(r"[.\[]", error["field"], maxsplit=1)[0]
        attribute = _FIELD_TAGS.get(head)
        out.append({**error, "field": getattr(names, attribute)} if attribute else error)
    return out


def body_from_tags(
    image: ImageId, tags: Mapping[str, str], names: TagNames, *, gallery: GalleryId, settings: Settings
) -> MigrationRequestBody:
    """The request a tagged image asks for (the trigger's gallery already resolved).

    Raises :class:`InvalidRequest` only, whatever the tag values; each error's ``field`` is the tag's name."""
    lookup = tag_lookup(tags)
    errors: list[dict[str, str]] = []
    fields: dict[str, Any] = {"source_image_id": str(image), "gallery_id": str(gallery)}

    def take(tag: str, field: str, parse: Callable[[str], Any]) -> None:
        value = lookup.get(tag.lower())
        if value is None or not value.strip():
            return
        try:
            fields[field] = parse(value.strip())
        except InvalidRequest as exc:
            errors.append({"field": tag, "message": exc.message})

    take(names.definition, "definition", lambda text: {"name": text})
    take(names.version, "version", str)
    take(names.regions, "target_regions", lambda text: parse_regions_tag(text, allowed=settings.allowed_region_list))
    take(names.storage_type, "storage_account_type", parse_storage_account_type)
    take(names.end_of_life, "end_of_life", _parse_end_of_life)
    take(names.delete_source, "deletion_mode", _parse_deletion)
    take(names.exclude_from_latest, "exclude_from_latest", _parse_bool)
    take(names.allow_replicated_location_deletion, "allow_deletion_of_replicated_locations", _parse_bool)
    take(names.block_deletion, "block_deletion_before_end_of_life", _parse_bool)
    take(names.repoint_scale_sets, "repoint_scale_sets", _parse_bool)
    take(names.repoint_target, "repoint_target", _parse_repoint_target)
    take(names.repoint_auto_upgrading, "repoint_auto_upgrading", _parse_bool)
    body = None
    try:
        body = MigrationRequestBody.model_validate(fields)
    except ValidationError as exc:
        errors += _tag_errors(field_errors(exc), names)
    if errors or body is None:
        raise InvalidRequest("invalid migration tags", errors)
    return body


def request_from_tags(
    image: ImageId,
    tags: Mapping[str, str],
    names: TagNames,
    *,
    gallery: GalleryId,
    settings: Settings,
    now: datetime,
) -> MigrationRequest:
    """The complete request of a tagged image; :class:`InvalidRequest` (naming each bad tag) for any bad value."""
    body = body_from_tags(image, tags, names, gallery=gallery, settings=settings)
    try:
        return resolve_request(body, settings, now=now, origin="tag")
    except InvalidRequest as exc:
        raise InvalidRequest("invalid migration tags", _tag_errors(exc.errors, names)) from None


def invalid_tags_reason(exc: InvalidRequest) -> str:
    """``invalid tags: migrate-regions: ...; migrate-version: ...`` for the image's ``migration-reason``."""
    details = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors) or exc.message
    return f"invalid tags: {details}"


def status_tags(
    names: TagNames,
    status: MigrationStatus,
    *,
    migration_id: str,
    request_hash: str,
    version_id: str | None = None,
    reason: str | None = None,
) -> dict[str, str]:
    """Tags the app merges onto the image; values are cut to ARM's 256-character limit."""
    tags = {names.status: status.value, names.migration_id: migration_id, names.request: request_hash}
    if version_id:
        tags[names.version_id] = version_id[:TAG_VALUE_MAX]
    if reason:
        tags[names.reason] = reason if len(reason) <= TAG_VALUE_MAX else reason[: TAG_VALUE_MAX - 3] + "..."
    return tags


def status_tag_priority(names: TagNames) -> tuple[str, ...]:
    """The app's image tags, most important first: the status, then the request hash that keeps the app from
    acting twice on the same tags, then the instance, the reason and the version."""
    return (names.status, names.request, names.migration_id, names.reason, names.version_id)


def fit_status_tags(
    current: Mapping[str, str], wanted: Mapping[str, str], names: TagNames, *, limit: int = ARM_MAX_TAGS
) -> tuple[dict[str, str], list[str]]:
    """(the part of ``wanted`` that fits beside ``current`` under ARM's tag limit, the names left out).

    A merge replaces tags that exist (no room needed) and adds the rest; what is added goes by priority."""
    present = {name.lower() for name in current}
    room = max(0, limit - len(present))
    priority = status_tag_priority(names)
    fitted: dict[str, str] = {}
    dropped: list[str] = []
    for name in [n for n in priority if n in wanted] + [n for n in wanted if n not in priority]:
        if name.lower() in present or room > 0:
            room -= name.lower() not in present
            fitted[name] = wanted[name]
        else:
            dropped.append(name)
    return fitted, dropped


def tag_limit_note(tag_count: int, dropped: list[str], *, limit: int = ARM_MAX_TAGS) -> str:
    return (
        f"the image has {tag_count} of ARM's {limit} tags, so the app does not write {', '.join(dropped)} on it "
        "(free tags to see them; the migration's state is in the API either way)"
    )


def status_tag_room_note(tags: Mapping[str, str], names: TagNames, *, limit: int = ARM_MAX_TAGS) -> str | None:
    """Preflight's plain word on an image too close to ARM's tag limit for all of the app's status tags."""
    _, dropped = fit_status_tags(tags, dict.fromkeys(status_tag_priority(names), ""), names, limit=limit)
    return tag_limit_note(len(tags), dropped, limit=limit) if dropped else None
