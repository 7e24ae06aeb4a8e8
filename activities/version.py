"""Image version: submit its creation, read its replication, promote it, remove it."""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from activities import _arm
from activities.blueprint import bp
from migration import arm_json
from migration.errors import ArmRequestFailed, TransientArmError, VersionConflict
from migration.plan import MigrationPlan, version_body
from migration.replication import ReplicationSnapshot
from migration.resource_ids import VersionId, same_id

logger = logging.getLogger(__name__)


def _versions(version: VersionId) -> Any:
    return _arm.compute(version.subscription_id).gallery_image_versions


def read_version(version: VersionId, *, replication: bool = False) -> dict[str, Any] | None:
    with _arm.arm_errors(f"reading image version {version}"):
        try:
            found = _versions(version).get(
                version.resource_group,
                version.gallery,
                version.definition,
                version.name,
                expand="ReplicationStatus" if replication else None,
            )
        except ResourceNotFoundError:
            return None
    return dict(found.as_dict())


@bp.activity_trigger(input_name="payload")
def submit_image_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Start creating the version and return at once (replication is awaited with durable timers).

    Idempotent: a version already built from this source is adopted (a retried step); one built from another
    source is never touched. ``fresh``: the definition step has just created the definition, so no version can be
    in it but one of this step's own: the PUT goes first and the version is read only if it is refused (ARM refuses
    to change a version's source; a PUT that repeats ours only updates it). A refusal right after the definition
    was created may also mean the definition is still provisioning (Azure takes 0.1-0.2 s): that is retried."""
    plan = MigrationPlan.model_validate(payload["plan"])
    version = VersionId.parse(plan.version_id)
    body = version_body(plan, provenance=payload.get("provenance") or {})
    if payload.get("fresh"):
        try:
            return _create(version, body)
        except ArmRequestFailed as refused:
            existing = read_version(version)
            if existing is None:
                raise TransientArmError(f"{refused.message} (the definition was created moments ago)") from None
    else:
        existing = read_version(version)
    if existing is not None:
        facts = arm_json.version_facts(existing)
        if not same_id(facts.source_id, plan.request.source_image_id):
            raise VersionConflict(f"{version} already exists and was built from {facts.source_id}")
        logger.info("adopting existing version %s (state %s)", version, facts.provisioning_state)
        return {"versionId": str(version), "adopted": True}
    return _create(version, body)


def _create(version: VersionId, body: dict[str, Any]) -> dict[str, Any]:
    with _arm.arm_errors(f"creating image version {version}"):
        _versions(version).begin_create_or_update(
            version.resource_group, version.gallery, version.definition, version.name, body, polling=False
        )
    logger.info("submitted image version %s", version)
    return {"versionId": str(version), "adopted": False}


@bp.activity_trigger(input_name="payload")
def get_replication_status(payload: dict[str, Any]) -> dict[str, Any]:
    version = VersionId.parse(payload["versionId"])
    found = read_version(version, replication=True)
    if found is None:
        return ReplicationSnapshot(version_id=str(version), provisioning_state="NotFound").model_dump(mode="json")
    # The version's own facts ride along: the read that sees replication complete is also what validation checks.
    facts = arm_json.version_facts(found).model_dump(mode="json")
    return {**arm_json.replication_snapshot(found).model_dump(mode="json"), "version": facts}


@bp.activity_trigger(input_name="payload")
def promote_image_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Submit the PATCH that lets ``latest`` resolve to the validated version (it was created excluded) and return
    at once: Azure keeps the version ``Updating`` for minutes (about 150 s in the recorded traffic), which the
    orchestrator waits out on durable timers by reading the version's provisioning state."""
    version = VersionId.parse(payload["versionId"])
    update = {
        "properties": {
            "publishingProfile": {"excludeFromLatest": False},
            "storageProfile": {"source": {"id": payload["sourceImageId"]}},
        }
    }
    with _arm.arm_errors(f"promoting image version {version}"):
        _versions(version).begin_update(
            version.resource_group, version.gallery, version.definition, version.name, update, polling=False
        )
    logger.info("submitted the promotion of image version %s", version)
    return {"versionId": str(version), "excludeFromLatest": False}


@bp.activity_trigger(input_name="payload")
def delete_image_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Remove a version that failed (replication or validation). Absent already = done."""
    version = VersionId.parse(payload["versionId"])
    with _arm.arm_errors(f"deleting image version {version}"):
        try:
            _versions(version).begin_delete(
                version.resource_group, version.gallery, version.definition, version.name, polling=False
            )
        except ResourceNotFoundError:
            return {"versionId": str(version), "deleted": False}
    logger.info("deleting failed image version %s", version)
    return {"versionId": str(version), "deleted": True}
