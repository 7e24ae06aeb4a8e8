"""Repoint the scale sets that still use the source image to the validated version (opt-in, model only)."""

from __future__ import annotations

import logging
from typing import Any

from azure.mgmt.compute.models import VirtualMachineScaleSetUpdate

from activities import _arm
from activities.blueprint import bp
from activities.source import scale_sets_referencing
from activities.version import read_version
from migration import arm_json
from migration.errors import ArmRequestFailed, PermissionDenied, ValidationFailed
from migration.plan import MigrationPlan
from migration.repoint import ScaleSetFacts, decide, repoint_target, repoint_update
from migration.resource_ids import VersionId, parse_resource_id, same_id
from migration.status import ScaleSetAction, ScaleSetReport
from migration.validation import ValidationReport, validation_checks

logger = logging.getLogger(__name__)


def _still_valid(plan: MigrationPlan, version: VersionId) -> None:
    """The version is validated now, as the repoint writes: the orchestrator's word is not enough (a retried
    activity, a version changed meanwhile). Raises ValidationFailed: never point a scale set at a version that
    is not a validated copy of the source, replicated everywhere."""
    found = read_version(version, replication=True)
    report = ValidationReport(
        checks=validation_checks(
            plan,
            arm_json.version_facts(found) if found else None,
            arm_json.replication_snapshot(found) if found else None,
        )
    )
    if not report.passed:
        raise ValidationFailed(f"not repointing scale sets to {version}: {report.failure_reason()}")


def _repoint(scale_set: ScaleSetFacts, target: str, report: ScaleSetReport) -> ScaleSetReport:
    """PATCH the model, confirmed by reading the scale set (not the operation-status URL: see ``_arm.wait_for``)."""
    parsed = parse_resource_id(scale_set.id)
    client = _arm.compute(parsed.subscription_id).virtual_machine_scale_sets
    name = parsed.names[0]
    try:
        with _arm.arm_errors(f"repointing scale set {scale_set.id}"):
            update = VirtualMachineScaleSetUpdate(repoint_update(target))
            client.begin_update(parsed.resource_group, name, update, polling=False)
            _arm.wait_for(
                lambda: client.get(parsed.resource_group, name).as_dict(),
                lambda body: str((body.get("properties") or {}).get("provisioningState")) != "Updating",
                what=f"repointing scale set {scale_set.id}",
            )
    except (PermissionDenied, ArmRequestFailed) as exc:
        return report.model_copy(update={"action": ScaleSetAction.FAILED, "reason": exc.message})
    logger.info("repointed scale set %s to %s", scale_set.id, target)
    return report


@bp.activity_trigger(input_name="payload")
def repoint_scale_sets(payload: dict[str, Any]) -> dict[str, Any]:
    """Repoint each scale set that references the source (where SCALE_SET_CHECK_SCOPE looks) to the validated
    version or its definition, unless its upgrade policy would roll its instances (then it is kept and named).

    Idempotent: a scale set already repointed no longer references the source; one that references this version
    already is reported as repointed. A refused write (403) is reported, not raised: the deletion guard then keeps
    the source and names the scale set."""
    plan = MigrationPlan.model_validate(payload["plan"])
    if not payload.get("validationPassed"):
        raise ValidationFailed("not repointing scale sets: the version did not pass validation")
    version = VersionId.parse(str(payload["versionId"]))
    _still_valid(plan, version)
    target = repoint_target(plan)
    image = plan.request.image
    reports: list[ScaleSetReport] = []
    for found in scale_sets_referencing((str(image), str(version)), scope=image):
        scale_set = ScaleSetFacts.from_arm(found)
        if same_id(scale_set.image_reference, str(version)):
            reports.append(ScaleSetReport(id=scale_set.id, action=ScaleSetAction.REPOINTED, image_reference=target))
            continue
        report = decide(plan, scale_set)
        reports.append(_repoint(scale_set, target, report) if report.action == ScaleSetAction.REPOINTED else report)
    return {"target": target, "scaleSets": [r.model_dump(mode="json", by_alias=True) for r in reports]}
