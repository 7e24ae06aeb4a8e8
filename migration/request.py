"""The migration request: one validated type, whatever the entry point (HTTP body, tags, batch).

``MigrationRequestBody`` is what a caller may send (camelCase JSON, every option optional, unknown fields
refused). Bodies are parsed strictly (:func:`parse_request_body`): exactly the documented camelCase names, and
exactly the documented JSON types (no ``"2"`` for 2, no ``"yes"``/``1`` for true, no Unix time for a date-time).
:func:`resolve_request` applies the app-settings defaults and returns a complete :class:`MigrationRequest`, the
only type the orchestrator ever sees.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from migration.errors import InvalidRequest
from migration.regions import StorageAccountType, TargetRegion, normalize_region, parse_regions_tag
from migration.resource_ids import DEFINITION_NAME_RE, GalleryId, ImageId
from migration.settings import DeletionMode, Settings
from migration.versions import parse_version

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._\-]{0,126}[A-Za-z0-9])?$", re.ASCII)
SECURITY_TYPES = (
    "Standard",
    "TrustedLaunch",
    "TrustedLaunchSupported",
    "ConfidentialVM",
    "ConfidentialVMSupported",
    "TrustedLaunchAndConfidentialVmSupported",
)


def _plain_text(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _identifier(value: str) -> str:
    if not _IDENTIFIER_RE.fullmatch(value):
        raise ValueError("use 1-128 letters, digits, '.', '-' or '_', starting and ending with a letter or digit")
    return value


_RFC3339_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII)


def _rfc3339(value: object) -> object:
    """A JSON date-time is an RFC 3339 string with its offset (``2028-01-01T00:00:00Z``); a number is not."""
    if isinstance(value, datetime):  # built in code (tags), not read from JSON
        return value
    if not isinstance(value, str) or not _RFC3339_RE.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time string with an offset, e.g. 2028-01-01T00:00:00Z")
    return value


PlainText = Annotated[str, Field(max_length=2048), AfterValidator(_plain_text)]
Identifier = Annotated[str, AfterValidator(_identifier)]
DateTimeText = Annotated[datetime, BeforeValidator(_rfc3339)]


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True
    )


class Architecture(StrEnum):
    X64 = "x64"
    ARM64 = "Arm64"


class ReplicationMode(StrEnum):
    FULL = "Full"
    SHALLOW = "Shallow"


class RepointTarget(StrEnum):
    """What a repointed scale set's model references: the new version, or its definition (``latest``)."""

    VERSION = "version"
    DEFINITION = "definition"


class PurchasePlan(_Model):
    name: Identifier
    publisher: Identifier
    product: Identifier


class DefinitionSpec(_Model):
    """What the caller says about the image definition; gaps are filled from the source and settings."""

    name: str | None = None
    publisher: Identifier | None = None
    offer: Identifier | None = None
    sku: Identifier | None = None
    description: PlainText | None = None
    eula: PlainText | None = None
    release_note_uri: PlainText | None = None
    privacy_statement_uri: PlainText | None = None
    purchase_plan: PurchasePlan | None = None
    features: dict[str, PlainText] = Field(default_factory=dict, max_length=20)
    architecture: Architecture | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not DEFINITION_NAME_RE.fullmatch(value):
            raise ValueError(
                "image definition names use 1-80 letters, digits, '.', '-' or '_' and start/end with a letter or digit"
            )
        return value

    @field_validator("features")
    @classmethod
    def _features(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            _identifier(key)
        security = value.get("SecurityType")
        if security is not None and security not in SECURITY_TYPES:
            raise ValueError(f"SecurityType must be one of {', '.join(SECURITY_TYPES)}")
        return value


class MigrationRequestBody(_Model):
    """The JSON body of ``POST /api/migrations`` (and each image's options in a batch)."""

    source_image_id: str
    gallery_id: str | None = None
    definition: DefinitionSpec = Field(default_factory=DefinitionSpec)
    version: str | None = None  # None or "auto": next free version
    target_regions: list[TargetRegion] | None = Field(default=None, max_length=50)
    storage_account_type: StorageAccountType | None = None
    end_of_life: DateTimeText | None = None
    exclude_from_latest: StrictBool | None = None
    deletion_mode: DeletionMode | None = None
    boot_test: StrictBool | None = None
    replication_mode: ReplicationMode = ReplicationMode.FULL
    allow_deletion_of_replicated_locations: StrictBool | None = None
    block_deletion_before_end_of_life: StrictBool | None = None
    repoint_scale_sets: StrictBool | None = None
    repoint_target: RepointTarget | None = None
    repoint_auto_upgrading: StrictBool | None = None


class MigrationRequest(_Model):
    """A complete request: every field resolved, IDs normalized. Input of the ``migrate_image`` orchestrator."""

    source_image_id: str
    gallery_id: str
    definition: DefinitionSpec
    version: str | None  # None = next free version, decided in preflight
    target_regions: list[TargetRegion]  # the source region is added in preflight, once its location is known
    storage_account_type: StorageAccountType
    end_of_life: datetime | None
    exclude_from_latest: bool
    deletion_mode: DeletionMode
    boot_test: bool
    replication_mode: ReplicationMode = ReplicationMode.FULL
    # The version's safetyProfile: Azure's default (false) for the first; the second is applied once the version
    # is validated (so a failed version can always be removed), by default whenever there is an end of life.
    allow_deletion_of_replicated_locations: bool = False
    block_deletion_before_end_of_life: bool = False
    # Scale sets still built from the source: repoint their model (never their instances) to the validated
    # version, or to its definition; those whose upgrade policy would roll instances only if allowed.
    repoint_scale_sets: bool = False
    repoint_target: RepointTarget = RepointTarget.VERSION
    repoint_auto_upgrading: bool = False
    origin: str = "http"
    request_hash: str = ""
    # Why deletion waits for an approval the request did not ask for (a tag written by an untrusted principal):
    # see migration/authorization.py. Empty otherwise.
    approval_reason: str = ""

    @property
    def image(self) -> ImageId:
        return ImageId.parse(self.source_image_id)

    @property
    def gallery(self) -> GalleryId:
        return GalleryId.parse(self.gallery_id)


def default_definition_name(image_name: str) -> str:
    """A definition name from a managed image name (which may end with '_', definitions may not)."""
    name = image_name.rstrip("_.-")[:80]
    return name if DEFINITION_NAME_RE.fullmatch(name) else "image-" + re.sub(r"[^A-Za-z0-9]", "", image_name)[:70]


def resolve_request(
    body: MigrationRequestBody, settings: Settings, *, now: datetime, origin: str = "http"
) -> MigrationRequest:
    """Apply defaults from settings; validate IDs, version and regions. Raise :class:`InvalidRequest`."""
    errors: list[dict[str, str]] = []

    def check(field: str, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except InvalidRequest as exc:
            errors.append({"field": field, "message": exc.message})
            return None

    image = check("sourceImageId", ImageId.parse, body.source_image_id)
    gallery_text = body.gallery_id or settings.default_gallery_id
    gallery = None
    if not gallery_text:
        errors.append({"field": "galleryId", "message": "no gallery given and DEFAULT_GALLERY_ID is not set"})
    else:
        gallery = check("galleryId", GalleryId.parse, gallery_text)
    version = body.version if body.version not in (None, "", "auto") else None
    if version is not None:
        check("version", parse_version, version)
    regions = body.target_regions
    if regions is not None:
        checked: list[TargetRegion] = []
        for i, region in enumerate(regions):
            name = check(
                f"targetRegions[{i}].name",
                lambda text: normalize_region(text, allowed=settings.allowed_region_list),
                region.name,
            )
            if name is None:
                continue
            if any(r.name == name for r in checked):
                errors.append({"field": f"targetRegions[{i}].name", "message": f"region '{name}' is listed twice"})
                continue
            checked.append(region.model_copy(update={"name": name}))
        regions = checked
    if regions is None:
        regions = (
            check(
                "targetRegions",
                lambda text: parse_regions_tag(text, allowed=settings.allowed_region_list),
                settings.default_target_regions,
            )
            if settings.default_target_regions
            else []
        )
    end_of_life = body.end_of_life
    if end_of_life is not None and end_of_life.tzinfo is None:
        end_of_life = end_of_life.replace(tzinfo=UTC)
    if end_of_life is None and settings.default_end_of_life_days > 0:
        end_of_life = now + timedelta(days=settings.default_end_of_life_days)
    if end_of_life is not None and end_of_life <= now:
        errors.append({"field": "endOfLife", "message": "end of life must be in the future"})
    block_deletion = body.block_deletion_before_end_of_life
    if block_deletion and end_of_life is None:
        errors.append(
            {"field": "blockDeletionBeforeEndOfLife", "message": "needs an end of life (endOfLife) to block until"}
        )
    if not body.repoint_scale_sets and (body.repoint_target is not None or body.repoint_auto_upgrading):
        field = "repointTarget" if body.repoint_target is not None else "repointAutoUpgrading"
        errors.append({"field": field, "message": "applies only with repointScaleSets: true"})
    if body.repoint_target == RepointTarget.DEFINITION and body.exclude_from_latest:
        errors.append(
            {
                "field": "repointTarget",
                "message": "a scale set pointed at the definition uses its latest version, which excludeFromLatest "
                "keeps this version from being; repoint to the version instead",
            }
        )
    if errors or image is None or gallery is None:
        raise InvalidRequest("the migration request is invalid", errors)

    spec = body.definition
    name = spec.name or default_definition_name(image.name)
    definition = spec.model_copy(
        update={
            "name": name,
            "publisher": spec.publisher or settings.default_publisher,
            "offer": spec.offer or settings.default_offer,
            "sku": spec.sku or name,
        }
    )
    return MigrationRequest(
        source_image_id=str(image),
        gallery_id=str(gallery),
        definition=definition,
        version=version,
        target_regions=list(regions or []),
        storage_account_type=body.storage_account_type or settings.default_storage_account_type,
        end_of_life=end_of_life,
        exclude_from_latest=(body.exclude_from_latest if body.exclude_from_latest is not None else False),
        deletion_mode=body.deletion_mode or settings.default_deletion_mode,
        boot_test=body.boot_test if body.boot_test is not None else settings.boot_test_default,
        replication_mode=body.replication_mode,
        allow_deletion_of_replicated_locations=bool(body.allow_deletion_of_replicated_locations),
        block_deletion_before_end_of_life=(
            end_of_life is not None
            and (block_deletion if block_deletion is not None else settings.block_deletion_before_end_of_life)
        ),
        repoint_scale_sets=bool(body.repoint_scale_sets),
        repoint_target=body.repoint_target or RepointTarget.VERSION,
        repoint_auto_upgrading=bool(body.repoint_auto_upgrading),
        origin=origin,
    )


def parse_request_body(payload: Any) -> MigrationRequestBody:
    """Validate a JSON value as a request body; field errors name the camelCase path."""
    if not isinstance(payload, dict):
        raise InvalidRequest("the request body must be a JSON object")
    try:
        return validate_camel(MigrationRequestBody, payload)
    except ValidationError as exc:
        raise InvalidRequest("the migration request is invalid", field_errors(exc)) from None


_M = TypeVar("_M", bound=BaseModel)


def validate_camel(model: type[_M], payload: dict[str, Any]) -> _M:
    """Validate caller JSON by the documented camelCase names only (``source_image_id`` is an unknown field, as
    it is in the OpenAPI document); code builds models by field name, which stays allowed."""
    return model.model_validate(payload, by_alias=True, by_name=False)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``[{"field": "targetRegions[0].replicaCount", "message": ...}]``."""
    out = []
    for err in exc.errors(include_url=False):
        path = ""
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += ("." if path else "") + str(part)
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        out.append({"field": path or "(body)", "message": message})
    return out
