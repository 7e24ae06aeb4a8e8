"""Repointing scale sets that still use the source image to the validated gallery version (opt-in).

Only the scale set's model changes (``virtualMachineProfile.storageProfile.imageReference``): instances are never
reimaged or upgraded by the app. Whether an instance then moves to the new image is the scale set's upgrade
policy's business (Learn, "Modify a Virtual Machine Scale Set": with ``Manual`` the instances keep their model until
upgraded; ``Automatic`` and ``Rolling`` roll them onto the new model; an enabled automatic OS image upgrade rolls
them to each new image version). So a scale set that would roll its instances is left alone and named, unless the
request allows it (``repointAutoUpgrading``). Pure: the activity reads and writes, this decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from migration.plan import MigrationPlan
from migration.regions import region_key
from migration.request import RepointTarget
from migration.resource_ids import VersionId
from migration.status import ScaleSetAction, ScaleSetReport

ROLLING_MODES = ("automatic", "rolling")


class ScaleSetFacts(BaseModel):
    """A scale set as read from ARM, as far as repointing needs it."""

    model_config = ConfigDict(frozen=True)

    id: str
    location: str
    upgrade_mode: str = "Manual"
    automatic_os_upgrade: bool = False
    image_reference: str | None = None

    @classmethod
    def from_arm(cls, scale_set: Mapping[str, Any]) -> ScaleSetFacts:
        props = scale_set.get("properties") or {}
        policy = props.get("upgradePolicy") or {}
        reference = ((props.get("virtualMachineProfile") or {}).get("storageProfile") or {}).get("imageReference")
        return cls(
            id=str(scale_set.get("id", "")),
            location=str(scale_set.get("location", "")),
            upgrade_mode=str(policy.get("mode") or "Manual"),
            automatic_os_upgrade=bool((policy.get("automaticOSUpgradePolicy") or {}).get("enableAutomaticOSUpgrade")),
            image_reference=str(reference["id"]) if isinstance(reference, Mapping) and reference.get("id") else None,
        )

    @property
    def rolls_instances(self) -> bool:
        return self.upgrade_mode.lower() in ROLLING_MODES or self.automatic_os_upgrade


def repoint_target(plan: MigrationPlan) -> str:
    """What repointed scale sets reference: the version, or its definition (``latest``)."""
    if plan.request.repoint_target == RepointTarget.DEFINITION:
        return str(VersionId.parse(plan.version_id).definition_id)
    return plan.version_id


def decide(plan: MigrationPlan, scale_set: ScaleSetFacts) -> ScaleSetReport:
    """What the repoint step does to one scale set that references the source: ``repointed`` (to do), or ``kept``
    with the reason."""
    target = repoint_target(plan)
    report = ScaleSetReport(
        id=scale_set.id,
        action=ScaleSetAction.REPOINTED,
        upgrade_mode=scale_set.upgrade_mode,
        image_reference=target,
    )
    if scale_set.rolls_instances and not plan.request.repoint_auto_upgrading:
        policy = "automatic OS image upgrades" if scale_set.automatic_os_upgrade else f"{scale_set.upgrade_mode} mode"
        reason = (
            f"its upgrade policy ({policy}) would roll its instances onto the new image; repoint it yourself, or "
            "allow it with repointAutoUpgrading"
        )
        return report.model_copy(
            update={"action": ScaleSetAction.KEPT, "image_reference": scale_set.image_reference, "reason": reason}
        )
    replicated = {region_key(r.name) for r in plan.target_regions}
    if region_key(scale_set.location) not in replicated:
        reason = f"the version is not replicated to its region {scale_set.location}; add it to the target regions"
        return report.model_copy(
            update={"action": ScaleSetAction.KEPT, "image_reference": scale_set.image_reference, "reason": reason}
        )
    return report


def repoint_update(target: str) -> dict[str, Any]:
    """The PATCH that changes a scale set's model only (nothing about its instances)."""
    return {"properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"id": target}}}}}


def forecast(plan: MigrationPlan, scale_sets: list[ScaleSetFacts]) -> list[ScaleSetReport]:
    """What the repoint step would do, for a plan (nothing when the request does not ask for it)."""
    if not plan.request.repoint_scale_sets or not plan.version_id:
        return []
    return [decide(plan, s) for s in scale_sets]


def still_referencing(reports: list[ScaleSetReport]) -> list[str]:
    """The scale sets that will still use the source after the repoint step."""
    return [r.id for r in reports if r.action != ScaleSetAction.REPOINTED]
