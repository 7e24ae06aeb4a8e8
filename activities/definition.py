"""Ensure the image definition exists and fits the source."""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute.models import GalleryImage

from activities import _arm
from activities.blueprint import bp
from migration import arm_json
from migration.definitions import compatibility_problems
from migration.errors import ArmRequestFailed, DefinitionIncompatible
from migration.plan import MigrationPlan, plan_definition_body
from migration.resource_ids import DefinitionId

logger = logging.getLogger(__name__)


def _state(body: dict[str, Any]) -> str:
    return str((body.get("properties") or {}).get("provisioningState") or "Succeeded")


@bp.activity_trigger(input_name="payload")
def ensure_image_definition(payload: dict[str, Any]) -> dict[str, Any]:
    """Create the definition when missing; when present (maybe created meanwhile), check it is compatible.

    Idempotent: a re-run finds the definition it created and checks it like any other."""
    plan = MigrationPlan.model_validate(payload["plan"])
    assert plan.source is not None, "preflight passed, so the source was read"
    definition = DefinitionId.parse(plan.definition_id)
    client = _arm.compute(definition.subscription_id).gallery_images
    with _arm.arm_errors(f"reading image definition {definition}"):
        try:
            existing = client.get(definition.resource_group, definition.gallery, definition.name)
        except ResourceNotFoundError:
            existing = None
    if existing is not None:
        problems = compatibility_problems(
            arm_json.definition_facts(existing.as_dict()), plan.source, plan.request.definition
        )
        if problems:
            raise DefinitionIncompatible(f"{definition}: " + "; ".join(problems))
        return {"definitionId": str(definition), "created": False}
    with _arm.arm_errors(f"creating image definition {definition}"):
        client.begin_create_or_update(
            definition.resource_group,
            definition.gallery,
            definition.name,
            GalleryImage(plan_definition_body(plan)),
            polling=False,
        )
        created = _arm.wait_for(
            lambda: client.get(definition.resource_group, definition.gallery, definition.name).as_dict(),
            lambda body: _state(body) not in ("Creating", "Updating"),
            what=f"creating image definition {definition}",
        )
    if _state(created) != "Succeeded":
        raise ArmRequestFailed(f"image definition {definition} ended in provisioning state {_state(created)}")
    logger.info("created image definition %s", definition)
    return {"definitionId": str(definition), "created": True}
