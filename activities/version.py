"""Image version: submit its creation, read its replication, promote it, remove it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from activities import _arm
from activities.blueprint import bp
from activities.planning import read_source
from migration import arm_json
from migration.errors import ArmRequestFailed, ReplicationFailed, TransientArmError, VersionConflict
from migration.plan import MigrationPlan, blocked_until, version_body
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
    """Submit the PATCH a validated version gets (``migration.plan.validated_update``: into ``latest``, it was
    created excluded; the deletion block before its end of life) and return at once: Azure keeps the version
    ``Updating`` for minutes (about 150 s in the recorded traffic), which the orchestrator waits out on durable
    timers by reading the version's provisioning state."""
    version = VersionId.parse(payload["versionId"])
    update = payload.get("update") or {
        "properties": {
            "publishingProfile": {"excludeFromLatest": False},
            "storageProfile": {"source": {"id": payload["sourceImageId"]}},
        }
    }
    with _arm.arm_errors(f"updating validated image version {version}"):
        _versions(version).begin_update(
            version.resource_group, version.gallery, version.definition, version.name, update, polling=False
        )
    logger.info("submitted the update of validated image version %s", version)
    publishing = update["properties"].get("publishingProfile") or {}
    return {"versionId": str(version), "excludeFromLatest": publishing.get("excludeFromLatest", True)}


@bp.activity_trigger(input_name="payload")
def delete_image_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Remove a version that failed (replication or validation). Absent already = done.

    Its safety profile is respected, never worked around: when Azure refuses the delete (409, e.g. the version's
    deletion is blocked before its end of life, set by a policy or by someone else meanwhile), that is an answer,
    not an error: ``reason`` says why the version stays."""
    version = VersionId.parse(payload["versionId"])
    found = read_version(version)
    if found is None:
        return {"versionId": str(version), "deleted": False, "reason": ""}
    try:
        with _arm.arm_errors(f"deleting image version {version}"):
            _versions(version).begin_delete(
                version.resource_group, version.gallery, version.definition, version.name, polling=False
            )
    except ResourceNotFoundError:
        return {"versionId": str(version), "deleted": False, "reason": ""}
    except ArmRequestFailed as exc:
        blocked = blocked_until(arm_json.version_facts(found), now=datetime.now(UTC))
        reason = f"Azure refused to delete it ({exc.message})" + (f": {blocked}" if blocked else "")
        logger.warning("keeping failed version %s: %s", version, reason)
        return {"versionId": str(version), "deleted": False, "reason": reason}
    logger.info("deleting failed image version %s", version)
    return {"versionId": str(version), "deleted": True, "reason": ""}


@bp.activity_trigger(input_name="payload")
def repair_replication(payload: dict[str, Any]) -> dict[str, Any]:
    """Submit again the replication of regions that failed or stalled: an update that re-sends the version's
    complete target regions as Azure shows them (completed regions stay as they are; see
    ``migration/replication.py``). Returns at once; the orchestrator goes back to reading the replication status.

    Only while the source is exactly what preflight saw: a Full-mode copy reads the source, so a region copied now
    from a changed image would not be a copy of what the other regions hold. Idempotent: a re-run re-sends the
    same set."""
    plan = MigrationPlan.model_validate(payload["plan"])
    assert plan.source is not None
    version = VersionId.parse(payload["versionId"])
    regions = ", ".join(payload.get("regions") or [])
    current = read_source(plan.request)
    if current is None or current.fingerprint != plan.source.fingerprint:
        what = "deleted" if current is None else "modified"
        raise ReplicationFailed(f"cannot retry replication in {regions}: the source image was {what} since preflight")
    found = read_version(version)
    if found is None:
        raise ReplicationFailed(f"{version} disappeared while replicating")
    publishing = (found.get("properties") or {}).get("publishingProfile") or {}
    update = {
        "properties": {
            "publishingProfile": {"targetRegions": publishing.get("targetRegions") or []},
            "storageProfile": {"source": {"id": plan.request.source_image_id}},
        }
    }
    with _arm.arm_errors(f"retrying the replication of image version {version} in {regions}"):
        _versions(version).begin_update(
            version.resource_group, version.gallery, version.definition, version.name, update, polling=False
        )
    logger.info("resubmitted the replication of %s in %s", version, regions)
    return {"versionId": str(version), "regions": payload.get("regions") or []}
