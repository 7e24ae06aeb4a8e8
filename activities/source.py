"""Delete the source managed image, only when every guard holds at the moment of deletion."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from activities import _arm
from activities.blueprint import bp
from activities.planning import read_source
from migration import arm_json
from migration.deletion import deletion_checks, refusal_reason
from migration.plan import MigrationPlan
from migration.resource_ids import ImageId, same_id

logger = logging.getLogger(__name__)


def scale_sets_using(image: ImageId) -> list[str]:
    """Scale sets whose model still references the image (they would fail to scale out without it)."""
    client = _arm.compute(image.subscription_id).virtual_machine_scale_sets
    scope_is_group = _arm.settings().scale_set_scope == "resource-group"
    with _arm.arm_errors("listing scale sets that may use the image"):
        found = client.list(image.resource_group) if scope_is_group else client.list_all()
        return [str(s.id) for s in found if same_id(arm_json.scale_set_image_reference(s.as_dict()), str(image))]


@bp.activity_trigger(input_name="payload")
def delete_source_image(payload: dict[str, Any]) -> dict[str, Any]:
    """Re-read the image and its users, apply the guards, delete. Returns the guards' report either way."""
    plan = MigrationPlan.model_validate(payload["plan"])
    assert plan.source is not None
    request = plan.request
    image = request.image
    current = read_source(request)
    checks = deletion_checks(
        mode=request.deletion_mode,
        validation_passed=bool(payload.get("validationPassed")),
        preflight_fingerprint=plan.source.fingerprint,
        current=current,
        referencing_scale_sets=scale_sets_using(image) if current is not None else [],
        replication_mode=request.replication_mode.value,
        approved=bool(payload.get("approved")),
    )
    report = [c.model_dump(mode="json") for c in checks]
    if not all(c.passed for c in checks):
        reason = refusal_reason(checks)
        logger.warning("keeping source %s: %s", image, reason)
        return {"deleted": False, "reason": reason, "checks": report}
    # Absent already: deleted by a previous attempt of this activity.
    with _arm.arm_errors(f"deleting managed image {image}"), contextlib.suppress(ResourceNotFoundError):
        _arm.compute(image.subscription_id).images.begin_delete(image.resource_group, image.name).result()
    logger.info("deleted source managed image %s", image)
    return {"deleted": True, "reason": "", "checks": report}
