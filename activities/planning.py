"""Preflight: read the source, gallery, definition and versions, and decide what the migration will do."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from activities import _arm
from activities.blueprint import bp
from migration import arm_json
from migration.definitions import DefinitionFacts
from migration.errors import PermissionDenied, TagLimitReached
from migration.plan import MigrationPlan, VersionFacts, build_plan
from migration.request import MigrationRequest
from migration.resource_ids import ParsedId, parse_resource_id
from migration.source import Check, SourceImage
from migration.tags import MigrationStatus, TagNames, fit_status_tags, status_tags, tag_limit_note

logger = logging.getLogger(__name__)


def read_source(request: MigrationRequest) -> SourceImage | None:
    image = request.image
    with _arm.arm_errors(f"reading managed image {image}"):
        try:
            found = _arm.compute(image.subscription_id).images.get(image.resource_group, image.name)
        except ResourceNotFoundError:
            return None
    return arm_json.source_image(found.as_dict())


SOURCE_ROLE = "source-image role (imageSubscriptionIds or imageResourceGroupIds)"
GALLERY_ROLE = "gallery role (galleryResourceGroupId)"


class _Denials:
    """Reads refused with 403, kept as failed ``permission`` checks so that one preflight names every missing
    permission, in the image's subscription and in the gallery's, with the role of the template that grants it."""

    def __init__(self) -> None:
        self.checks: list[Check] = []

    @contextmanager
    def guard(self, subscription: str, role: str) -> Iterator[None]:
        try:
            yield
        except PermissionDenied as exc:
            self.checks.append(
                Check(
                    name="permission",
                    passed=False,
                    reason=f"in subscription {subscription}: {exc.message} (the deployment's {role} grants it)",
                )
            )


def gather_plan(
    request: MigrationRequest, *, source: SourceImage | None = None, gallery_location: str | None = None
) -> MigrationPlan:
    """Reads only: image, gallery, definition, versions. Everything else is the domain's decision.

    ``source`` and ``gallery_location``: what the tag trigger read moments before (the image, and the gallery when
    it resolved a gallery name), so they are not read twice. Without the gallery read, a gallery that is gone shows
    as the definition read's ``ParentResourceNotFound`` (ARM's answer for a child of a missing parent). A read
    refused with 403 becomes a failed ``permission`` check naming the action, its subscription and the role."""
    gallery = request.gallery
    client = _arm.compute(gallery.subscription_id)
    denials = _Denials()
    if source is None:
        with denials.guard(request.image.subscription_id, SOURCE_ROLE):
            source = read_source(request)
    definition: DefinitionFacts | None = None
    versions: list[VersionFacts] = []
    if gallery_location is None:
        with denials.guard(gallery.subscription_id, GALLERY_ROLE), _arm.arm_errors(f"reading gallery {gallery}"):
            try:
                gallery_location = client.galleries.get(gallery.resource_group, gallery.name).location
            except ResourceNotFoundError:
                gallery_location = None
    name = request.definition.name or ""
    if gallery_location is not None:
        with (
            denials.guard(gallery.subscription_id, GALLERY_ROLE),
            _arm.arm_errors(f"reading image definition {name} in {gallery.name}"),
        ):
            try:
                found = client.gallery_images.get(gallery.resource_group, gallery.name, name)
                definition = arm_json.definition_facts(found.as_dict())
            except ResourceNotFoundError as exc:
                definition = None
                if _arm.arm_error_code(exc) == "ParentResourceNotFound":
                    gallery_location = None  # the gallery is gone
            if definition is not None:
                versions = [
                    arm_json.version_facts(v.as_dict())
                    for v in client.gallery_image_versions.list_by_gallery_image(
                        gallery.resource_group, gallery.name, name
                    )
                ]
    return build_plan(
        request,
        source=source,
        gallery_location=gallery_location,
        definition=definition,
        versions=versions,
        settings=_arm.settings(),
        denied=denials.checks,
    )


def merge_tags(scope: str, tags: dict[str, str], *, doing: str) -> bool:
    """Merge tags onto a resource through the Tags API (needs only Microsoft.Resources/tags/write).

    ARM may accept the write asynchronously (202, the spec's Tags_UpdateAtScope is a long-running operation) with a
    status URL at subscription level, which a role on resource groups may not read: instead of the SDK poller, the
    write is confirmed by reading the resource itself, as for Compute writes (``_arm.wait_for``). Returns False when
    the resource no longer exists (e.g. a deleted source image)."""
    parsed = parse_resource_id(scope)
    statuses: list[int] = []
    with _arm.arm_errors(doing):
        try:
            _arm.resources(parsed.subscription_id).tags.begin_update_at_scope(
                scope,
                {"operation": "Merge", "properties": {"tags": tags}},
                polling=False,
                raw_response_hook=lambda response: statuses.append(response.http_response.status_code),
            )
            if statuses[-1:] == [202]:
                merged = _arm.wait_for(
                    lambda: _current_tags(parsed),
                    lambda current: current is None or all(current.get(k.lower()) == v for k, v in tags.items()),
                    what=doing,
                )
                return merged is not None
        except ResourceNotFoundError:
            return False
    return True


def _current_tags(resource: ParsedId) -> dict[str, str] | None:
    """A managed image's or an image version's tags (names lower-cased), read with the resource's own read action."""
    client = _arm.compute(resource.subscription_id)
    try:
        if resource.full_type.lower() == "microsoft.compute/images":
            tags = client.images.get(resource.resource_group, resource.names[0]).tags
        else:
            tags = client.gallery_image_versions.get(resource.resource_group, *resource.names).tags
    except ResourceNotFoundError:
        return None
    return {k.lower(): v for k, v in (tags or {}).items()}


@dataclass(frozen=True)
class StatusWrite:
    tagged: bool  # False: the image no longer exists
    dropped: list[str] = field(default_factory=list)  # status tags left out for ARM's tag limit
    note: str = ""


def merge_status_tags(image_id: str, tags: dict[str, str], *, doing: str) -> StatusWrite:
    """Merge the app's status tags onto a managed image, never failing on ARM's 50-tag limit.

    The first try costs nothing extra; on ``TooManyTags`` the image's tags are read and only the status tags
    that fit are written, most important first (``migration-status``, then the request hash that keeps the app
    from acting on the same tags twice), or none. What was left out is logged and returned, so the caller keeps
    the reason where users look (the instance and the summary API) instead of failing or retrying forever."""
    try:
        return StatusWrite(tagged=merge_tags(image_id, tags, doing=doing))
    except TagLimitReached:
        pass
    current = _current_tags(parse_resource_id(image_id))
    if current is None:
        return StatusWrite(tagged=False)
    fitted, dropped = fit_status_tags(current, tags, TagNames.from_settings(_arm.settings()))
    if fitted:
        try:
            merge_tags(image_id, fitted, doing=doing)
        except TagLimitReached:  # tags were added meanwhile: leave the image alone rather than loop
            dropped = list(tags)
    dropped = dropped or list(tags)
    note = tag_limit_note(len(current), dropped)
    logger.warning("%s: %s", image_id, note)
    return StatusWrite(tagged=True, dropped=dropped, note=note)


@bp.activity_trigger(input_name="payload")
def plan_migration(payload: dict[str, Any]) -> dict[str, Any]:
    """Dry run: what a migration of this image would do. Reads only."""
    request = MigrationRequest.model_validate(payload["request"])
    return gather_plan(request).model_dump(mode="json")


@bp.activity_trigger(input_name="payload")
def run_preflight(payload: dict[str, Any]) -> dict[str, Any]:
    """Plan the migration and mark the image ``migration-status=running`` (idempotent: a tag merge)."""
    request = MigrationRequest.model_validate(payload["request"])
    known = payload.get("known") or {}
    source = SourceImage.model_validate(known["source"]) if known.get("source") else None
    plan = gather_plan(request, source=source, gallery_location=known.get("galleryLocation") or None)
    if plan.source is not None:
        names = TagNames.from_settings(_arm.settings())
        tags = status_tags(
            names, MigrationStatus.RUNNING, migration_id=payload["migrationId"], request_hash=request.request_hash
        )
        merge_status_tags(request.source_image_id, tags, doing="marking the image as being migrated")
    logger.info("preflight %s: ok=%s", request.source_image_id, plan.ok)
    return plan.model_dump(mode="json")
