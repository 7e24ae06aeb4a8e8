"""Validate a built version against its source before it is used (the optional boot test is its own steps)."""

from __future__ import annotations

import logging
from typing import Any

from activities import _arm
from activities.blueprint import bp
from activities.version import read_version
from migration import arm_json
from migration.definitions import compatibility_problems
from migration.plan import MigrationPlan
from migration.resource_ids import VersionId
from migration.source import Check, check
from migration.validation import ValidationReport, validation_checks

logger = logging.getLogger(__name__)


def _definition_check(plan: MigrationPlan, version: VersionId) -> Check:
    definition = version.definition_id
    with _arm.arm_errors(f"reading image definition {definition}"):
        found = _arm.compute(definition.subscription_id).gallery_images.get(
            definition.resource_group, definition.gallery, definition.name
        )
    assert plan.source is not None
    problems = compatibility_problems(arm_json.definition_facts(found.as_dict()), plan.source, plan.request.definition)
    return check(name="definition-matches", passed=not problems, reason="; ".join(problems))


@bp.activity_trigger(input_name="payload")
def validate_image_version(payload: dict[str, Any]) -> dict[str, Any]:
    """Run every check; return the report (a failed check is an outcome, not an exception)."""
    plan = MigrationPlan.model_validate(payload["plan"])
    version = VersionId.parse(payload["versionId"])
    found = read_version(version, replication=True)
    checks = validation_checks(
        plan,
        arm_json.version_facts(found) if found else None,
        arm_json.replication_snapshot(found) if found else None,
    )
    if found is not None:
        checks.append(_definition_check(plan, version))
    report = ValidationReport(checks=checks)
    logger.info("validation of %s: %s", version, "passed" if report.passed else report.failure_reason())
    return {"checks": [c.model_dump(mode="json") for c in checks], "passed": report.passed}
