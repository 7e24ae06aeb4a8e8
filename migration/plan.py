"""Planning: from facts read in ARM to what a migration will do. Pure; shared by migrations and dry runs."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from migration.definitions import DefinitionFacts, compatibility_problems, definition_body
from migration.errors import InvalidRequest
from migration.regions import TargetRegion, normalize_target_regions
from migration.request import MigrationRequest
from migration.resource_ids import DefinitionId, same_id
from migration.settings import Settings
from migration.source import Check, Disk, SourceImage, preflight_checks
from migration.tags import TagNames, status_tag_room_note
from migration.versions import next_version, parse_version


class DefinitionAction(StrEnum):
    CREATE = "create"
    REUSE = "reuse"
    INCOMPATIBLE = "incompatible"


class VersionAction(StrEnum):
    CREATE = "create"
    ADOPT = "adopt"  # a version built from this source already exists (a retried or repeated migration)
    CONFLICT = "conflict"


class VersionFacts(BaseModel):
    """An image version as read from ARM."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    source_id: str | None = None
    provisioning_state: str = "Succeeded"
    exclude_from_latest: bool = False
    replication_mode: str = "Full"
    storage_account_type: str | None = None
    target_regions: list[str] = Field(default_factory=list)
    os_disk: Disk | None = None
    data_disks: list[Disk] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    end_of_life: str | None = None
    allow_deletion_of_replicated_locations: bool = False
    block_deletion_before_end_of_life: bool = False

    @property
    def being_deleted(self) -> bool:
        """Its delete was accepted: it reads as Deleting until Azure has removed it (about two minutes)."""
        return self.provisioning_state.lower() == "deleting"


class MigrationPlan(BaseModel):
    """What a migration of one image will do, and every check that decided it."""

    request: MigrationRequest
    source: SourceImage | None
    gallery_location: str | None
    checks: list[Check]
    definition_id: str
    definition_action: DefinitionAction
    definition_problems: list[str] = Field(default_factory=list)
    version_id: str
    version_action: VersionAction
    version_problem: str = ""
    target_regions: list[TargetRegion] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # what does not stop the migration but the user should know

    @property
    def ok(self) -> bool:
        return (
            all(c.passed for c in self.checks)
            and self.definition_action != DefinitionAction.INCOMPATIBLE
            and self.version_action != VersionAction.CONFLICT
        )

    def failure(self) -> tuple[str, str] | None:
        """(error code, readable reason) of the first thing that stops this plan, or None."""
        denied = [c for c in self.checks if c.name == "permission" and not c.passed]
        if denied:  # every missing permission at once, in each subscription
            return "PermissionDenied", "; ".join(f"{c.name}: {c.reason}" for c in denied)
        codes = {"gallery-exists": "GalleryNotFound"}
        for check in self.checks:
            if not check.passed:
                return codes.get(check.name, "SourceNotEligible"), f"{check.name}: {check.reason}"
        if self.definition_action == DefinitionAction.INCOMPATIBLE:
            return "DefinitionIncompatible", f"{self.definition_id}: " + "; ".join(self.definition_problems)
        if self.version_action == VersionAction.CONFLICT:
            return "VersionConflict", self.version_problem
        return None


def choose_version(
    request: MigrationRequest, definition: DefinitionId, existing: list[VersionFacts], settings: Settings
) -> tuple[str, VersionAction, str]:
    """(version name, action, problem). Adopt a version already built from this source; never reuse another's.

    A version being deleted (Azure takes about two minutes, e.g. after a canceled migration) is no copy to adopt,
    and its name stays taken until it is gone."""
    source = request.source_image_id
    if request.version is not None:
        wanted = parse_version(request.version)
        for version in existing:
            try:
                same_name = parse_version(version.name, lenient=True) == wanted
            except InvalidRequest:
                same_name = False
            if same_name and version.being_deleted:
                return (
                    version.name,
                    VersionAction.CONFLICT,
                    f"version {version.name} of {definition} is being deleted; retry once the delete has completed",
                )
            if same_name:
                if same_id(version.source_id, source):
                    return version.name, VersionAction.ADOPT, ""
                return (
                    version.name,
                    VersionAction.CONFLICT,
                    f"version {version.name} of {definition} already exists and was built from "
                    f"{version.source_id or 'another source'}",
                )
        return str(wanted), VersionAction.CREATE, ""
    ours = [v for v in existing if same_id(v.source_id, source) and not v.being_deleted]
    if ours:
        newest = max(ours, key=lambda v: parse_version(v.name, lenient=True))
        return newest.name, VersionAction.ADOPT, ""
    return str(next_version((v.name for v in existing), initial=settings.initial_version)), VersionAction.CREATE, ""


def build_plan(
    request: MigrationRequest,
    *,
    source: SourceImage | None,
    gallery_location: str | None,
    definition: DefinitionFacts | None,
    versions: list[VersionFacts],
    settings: Settings,
    denied: list[Check] | None = None,
) -> MigrationPlan:
    """``denied``: reads the app's identity was refused (403), as failed ``permission`` checks: nothing else can be
    decided then, so the plan stops there, naming each missing action and where it is missing."""
    definition_id = request.gallery.definition(request.definition.name or "")
    if denied:
        return MigrationPlan(
            request=request,
            source=source,
            gallery_location=gallery_location,
            checks=list(denied),
            definition_id=str(definition_id),
            definition_action=DefinitionAction.CREATE,
            version_id="",
            version_action=VersionAction.CREATE,
        )
    if source is None:
        return MigrationPlan(
            request=request,
            source=None,
            gallery_location=gallery_location,
            checks=[Check(name="source-exists", passed=False, reason=f"{request.source_image_id} was not found")],
            definition_id=str(definition_id),
            definition_action=DefinitionAction.CREATE,
            version_id="",
            version_action=VersionAction.CREATE,
        )
    checks = preflight_checks(
        source,
        gallery_location=gallery_location,
        max_data_disk_gb=settings.max_data_disk_size_gb,
        gallery_subscription=request.gallery.subscription_id,
    )
    regions: list[TargetRegion] = []
    try:
        regions = normalize_target_regions(
            request.target_regions,
            source_region=source.location,
            default_replica_count=settings.default_replica_count,
            allowed=settings.allowed_region_list,
        )
        checks.append(Check(name="target-regions", passed=True))
    except InvalidRequest as exc:
        checks.append(Check(name="target-regions", passed=False, reason=exc.message))
    if definition is None:
        action, problems = DefinitionAction.CREATE, []
    else:
        problems = compatibility_problems(definition, source, request.definition)
        action = DefinitionAction.INCOMPATIBLE if problems else DefinitionAction.REUSE
    name, version_action, version_problem = choose_version(request, definition_id, versions, settings)
    return MigrationPlan(
        request=request,
        source=source,
        gallery_location=gallery_location,
        checks=checks,
        definition_id=str(definition_id),
        definition_action=action,
        definition_problems=problems,
        version_id=str(definition_id.version(name)),
        version_action=version_action,
        version_problem=version_problem,
        target_regions=regions,
        notes=[note for note in [status_tag_room_note(source.tags, TagNames.from_settings(settings))] if note],
    )


def plan_definition_body(plan: MigrationPlan) -> dict[str, Any]:
    assert plan.source is not None
    assert plan.gallery_location is not None
    return definition_body(plan.source, plan.request.definition, location=plan.gallery_location)


def version_body(plan: MigrationPlan, *, provenance: dict[str, str]) -> dict[str, Any]:
    """ARM JSON to create the version. Always excluded from ``latest`` at first: it is promoted only after
    validation, so nobody deploying ``latest`` gets an unvalidated version."""
    assert plan.gallery_location is not None
    request = plan.request
    publishing: dict[str, Any] = {
        "targetRegions": [
            {
                "name": region.name,
                "regionalReplicaCount": region.replica_count,
                "storageAccountType": (region.storage_account_type or request.storage_account_type).value,
            }
            for region in plan.target_regions
        ],
        "replicaCount": 1,
        "storageAccountType": request.storage_account_type.value,
        "excludeFromLatest": True,
        "replicationMode": request.replication_mode.value,
    }
    if request.end_of_life is not None:
        publishing["endOfLifeDate"] = request.end_of_life.isoformat().replace("+00:00", "Z")
    return {
        "location": plan.gallery_location,
        "tags": provenance,
        "properties": {
            "publishingProfile": publishing,
            "storageProfile": {"source": {"id": request.source_image_id}},
            # blockDeletionBeforeEndOfLife comes with the promotion, once validated: a version that fails can
            # then always be removed. Sent as false, as Azure defaults it to true from gallery api-version
            # 2026-03-03 (the SDK's; Azure/azure-cli vm/_breaking_change.py, "sig image-version create").
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": request.allow_deletion_of_replicated_locations,
                "blockDeletionBeforeEndOfLife": False,
            },
        },
    }


def blocked_until(version: VersionFacts, *, now: datetime) -> str:
    """Why Azure would refuse to delete this version now (its safety profile blocks deletion before its end of
    life, which has not passed), or "". Spec 2026-03-03, GalleryImageVersionSafetyProfile.blockDeletionBeforeEndOfLife:
    "Indicates whether or not the deletion is blocked for this Gallery Image Version if its End Of Life has not
    expired"."""
    if not version.block_deletion_before_end_of_life or not version.end_of_life:
        return ""
    try:
        end = datetime.fromisoformat(version.end_of_life.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    if end <= now:
        return ""
    return (
        f"its safety profile blocks deletion before its end of life ({version.end_of_life}); it stays, excluded "
        "from latest unless it was promoted"
    )


def validated_update(request: MigrationRequest) -> dict[str, Any]:
    """The PATCH applied once the version is validated: into ``latest`` (unless excluded) and the deletion block
    before its end of life (when asked). Empty when there is nothing to change."""
    properties: dict[str, Any] = {}
    if not request.exclude_from_latest:
        properties["publishingProfile"] = {"excludeFromLatest": False}
    if request.block_deletion_before_end_of_life:
        properties["safetyProfile"] = {"blockDeletionBeforeEndOfLife": True}
    if not properties:
        return {}
    # The SDK's update model requires the source; it is the version's own (immutable), so the PATCH keeps it.
    properties["storageProfile"] = {"source": {"id": request.source_image_id}}
    return {"properties": properties}
