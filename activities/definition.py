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
from migration.plan import DefinitionAction, MigrationPlan, plan_definition_body
from migration.resource_ids import DefinitionId

logger = logging.getLogger(__name__)


def _state(body: dict[str, Any]) -> str:
    return str((body.get("properties") or {}).get("provisioningState") or "Succeeded")


@bp.activity_trigger(input_name="payload")
def ensure_image_definition(payload: dict[str, Any]) -> dict[str, Any]:
    """Create the definition preflight found missing; reuse the one it found compatible (no request: preflight read
    it moments ago, and what makes it compatible cannot change). Returns the created definition's facts.

    Idempotent: PUT is create-or-update, so a re-run sends the same body again. When the PUT is refused (someone
    created the definition meanwhile with other immutable properties), the definition is read and checked like one
    preflight found. Its provisioning is not awaited: Azure finishes a definition in 0.1-0.2 s (recorded traffic),
    and the version step, which needs it, retries a refusal (``submit_image_version``)."""
    plan = MigrationPlan.model_validate(payload["plan"])
    assert plan.source is not None, "preflight passed, so the source was read"
    definition = DefinitionId.parse(plan.definition_id)
    if plan.definition_action == DefinitionAction.REUSE:
        return {"definitionId": str(definition), "created": False}
    client = _arm.compute(definition.subscription_id).gallery_images
    try:
        with _arm.arm_errors(f"creating image definition {definition}"):
            poller = client.begin_create_or_update(
                definition.resource_group,
                definition.gallery,
                definition.name,
                GalleryImage(plan_definition_body(plan)),
                polling=False,
            )
            created = poller.result().as_dict()  # the PUT's own answer (no polling)
    except ArmRequestFailed as refused:
        return _existing(plan, definition, client, refused)
    if _state(created) == "Failed":
        raise ArmRequestFailed(f"image definition {definition} ended in provisioning state Failed")
    logger.info("created image definition %s", definition)
    facts = arm_json.definition_facts(created).model_dump(mode="json")
    return {"definitionId": str(definition), "created": True, "facts": facts}


def _existing(plan: MigrationPlan, definition: DefinitionId, client: Any, refused: ArmRequestFailed) -> dict[str, Any]:
    """The PUT was refused: if a compatible definition exists now, use it; else say why it does not fit."""
    assert plan.source is not None
    with _arm.arm_errors(f"reading image definition {definition}"):
        try:
            existing = client.get(definition.resource_group, definition.gallery, definition.name)
        except ResourceNotFoundError:
            existing = None
    if existing is None:
        raise refused
    problems = compatibility_problems(
        arm_json.definition_facts(existing.as_dict()), plan.source, plan.request.definition
    )
    if problems:
        raise DefinitionIncompatible(f"{definition}: " + "; ".join(problems))
    return {"definitionId": str(definition), "created": False}
