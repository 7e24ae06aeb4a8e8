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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum

from migration.errors import InvalidRequest
from migration.regions import parse_regions_tag, parse_storage_account_type
from migration.request import DefinitionSpec, MigrationRequestBody
from migration.resource_ids import GALLERY_NAME_RE, GalleryId, ImageId
from migration.settings import DeletionMode, Settings

TAG_VALUE_MAX = 256


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


def tag_lookup(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Tag names are case-insensitive in ARM; values are not."""
    return {k.lower(): v for k, v in (tags or {}).items()}


def request_hash(tags: Mapping[str, str] | None, names: TagNames) -> str:
    lookup = tag_lookup(tags)
    material = "\n".join(f"{n.lower()}={lookup.get(n.lower(), '')}" for n in names.inputs)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TagDecision:
    start: bool
    reason: str
    request_hash: str = ""
    trigger_value: str = ""


_TRUE = {"true", "yes", "1", "on"}
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
    if text.lower() in _TRUE:
        if not settings.default_gallery_id:
            raise InvalidRequest("the tag says 'true' but DEFAULT_GALLERY_ID is not set")
        return GalleryRef(gallery_id=GalleryId.parse(settings.default_gallery_id))
    if text.startswith("/"):
        return GalleryRef(gallery_id=GalleryId.parse(text))
    if not GALLERY_NAME_RE.fullmatch(text):
        raise InvalidRequest(f"'{text[:80]}' is neither a gallery resource ID, a gallery name nor 'true'")
    return GalleryRef(name=text)


def _parse_bool(value: str, tag: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise InvalidRequest(f"tag '{tag}' must be true or false, got '{value[:32]}'")


def _parse_deletion(value: str, tag: str) -> DeletionMode:
    lowered = value.strip().lower()
    aliases = {
        "true": DeletionMode.AFTER_VALIDATION,
        "after-validation": DeletionMode.AFTER_VALIDATION,
        "false": DeletionMode.NEVER,
        "never": DeletionMode.NEVER,
        "approval": DeletionMode.AFTER_APPROVAL,
        "after-approval": DeletionMode.AFTER_APPROVAL,
    }
    if lowered not in aliases:
        raise InvalidRequest(f"tag '{tag}' must be after-validation, never or after-approval, got '{value[:32]}'")
    return aliases[lowered]


def _parse_end_of_life(value: str, tag: str) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequest(f"tag '{tag}' must be a date like 2027-12-31, got '{text[:32]}'") from None


def body_from_tags(
    image: ImageId, tags: Mapping[str, str], names: TagNames, *, gallery: GalleryId, settings: Settings
) -> MigrationRequestBody:
    """The request a tagged image asks for (the trigger's gallery already resolved)."""
    lookup = tag_lookup(tags)

    def get(name: str) -> str | None:
        value = lookup.get(name.lower())
        return value.strip() if value is not None and value.strip() else None

    definition = DefinitionSpec(name=get(names.definition)) if get(names.definition) else DefinitionSpec()
    regions_text = get(names.regions)
    storage = get(names.storage_type)
    eol = get(names.end_of_life)
    delete = get(names.delete_source)
    exclude = get(names.exclude_from_latest)
    return MigrationRequestBody(
        source_image_id=str(image),
        gallery_id=str(gallery),
        definition=definition,
        version=get(names.version),
        target_regions=(
            parse_regions_tag(regions_text, allowed=settings.allowed_region_list) if regions_text else None
        ),
        storage_account_type=parse_storage_account_type(storage) if storage else None,
        end_of_life=_parse_end_of_life(eol, names.end_of_life) if eol else None,
        deletion_mode=_parse_deletion(delete, names.delete_source) if delete else None,
        exclude_from_latest=_parse_bool(exclude, names.exclude_from_latest) if exclude else None,
    )


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
