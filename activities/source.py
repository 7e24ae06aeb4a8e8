"""Delete the source managed image, only when every guard holds at the moment of deletion."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from activities import _arm
from activities.blueprint import bp
from activities.planning import merge_tags, read_source
from activities.version import read_version
from migration import arm_json
from migration.deletion import deletion_checks, refusal_reason
from migration.plan import MigrationPlan
from migration.resource_ids import ImageId, VersionId, same_id
from migration.tags import TagNames, tag_lookup

logger = logging.getLogger(__name__)


DELETION_MARKER = "migration-source-deletion"


def _deletion_started(version_id: str) -> bool:
    found = read_version(VersionId.parse(version_id))
    return bool(found and DELETION_MARKER in (found.get("tags") or {}))


def scale_sets_referencing(image_ids: tuple[str, ...], *, scope: ImageId) -> list[dict[str, Any]]:
    """Scale sets (ARM JSON) whose model references one of ``image_ids``, looked for where SCALE_SET_CHECK_SCOPE
    says: the subscription of ``scope``, or its resource group."""
    client = _arm.compute(scope.subscription_id).virtual_machine_scale_sets
    scope_is_group = _arm.settings().scale_set_scope == "resource-group"
    with _arm.arm_errors("listing scale sets that may use the image"):
        found = client.list(scope.resource_group) if scope_is_group else client.list_all()
        listed = [s.as_dict() for s in found]
    return [s for s in listed if any(same_id(arm_json.scale_set_image_reference(s), i) for i in image_ids)]


def scale_sets_using(image: ImageId) -> list[str]:
    """Scale sets whose model still references the image (they would fail to scale out without it)."""
    return [str(s.get("id")) for s in scale_sets_referencing((str(image),), scope=image)]


@bp.activity_trigger(input_name="payload")
def delete_source_image(payload: dict[str, Any]) -> dict[str, Any]:
    """Apply the guards to a fresh read of the image and its users, then delete. Returns the guards' report.

    The image is read last, right before deleting, so a change or a cancel (the cancel API tags the image with
    this run's id) that lands while the scale sets are listed is still seen. Right before the delete the version is
    tagged with the deletion marker and the payload's ``provenance`` (what the migration's record would write
    after it), so a re-run that finds the image gone knows it deleted it, and the record has nothing left to do."""
    plan = MigrationPlan.model_validate(payload["plan"])
    assert plan.source is not None
    request = plan.request
    image = request.image
    version_id = str(payload.get("versionId") or "")
    run_id = str(payload.get("runId") or "")
    users = scale_sets_using(image)
    current = read_source(request)
    gone = current is None or current.provisioning_state.lower() == "deleting"
    if gone and version_id and _deletion_started(version_id):
        # A previous attempt of this activity deleted the image and was lost before it could say so.
        logger.info("source %s was deleted by a previous attempt", image)
        return {"deleted": True, "reason": "", "checks": [], "provenanceWritten": True}
    names = TagNames.from_settings(_arm.settings())
    cancel_tag = tag_lookup(current.tags if current else {}).get(names.cancel.lower(), "")
    checks = deletion_checks(
        mode=request.deletion_mode,
        validation_passed=bool(payload.get("validationPassed")),
        preflight_fingerprint=plan.source.fingerprint,
        current=current,
        referencing_scale_sets=users,
        replication_mode=request.replication_mode.value,
        approved=bool(payload.get("approved")),
        cancel_requested=bool(run_id) and cancel_tag == run_id,
    )
    report = [c.model_dump(mode="json") for c in checks]
    if not all(c.passed for c in checks):
        reason = refusal_reason(checks)
        logger.warning("keeping source %s: %s", image, reason)
        return {"deleted": False, "reason": reason, "checks": report}
    provenance = {str(k): str(v) for k, v in (payload.get("provenance") or {}).items()}
    if version_id:  # remember, on the version, that we are about to delete (see above)
        marks = {**provenance, DELETION_MARKER: image.name[:256]}
        merge_tags(version_id, marks, doing="marking the source deletion on the version")
    # Absent already: deleted by a previous attempt of this activity. Accepted is enough: Azure finishes deleting an
    # image in about 5 s and shows it Deleting until then (the guards read it as gone from the moment it is).
    with _arm.arm_errors(f"deleting managed image {image}"), contextlib.suppress(ResourceNotFoundError):
        _arm.compute(image.subscription_id).images.begin_delete(image.resource_group, image.name, polling=False)
    logger.info("deleted source managed image %s", image)
    return {"deleted": True, "reason": "", "checks": report, "provenanceWritten": bool(version_id and provenance)}
