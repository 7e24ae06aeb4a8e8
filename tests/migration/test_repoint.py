"""Which scale sets the repoint step changes, and what a plan predicts (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from migration.forecast import forecast_image
from migration.plan import build_plan
from migration.repoint import ScaleSetFacts, decide, forecast, repoint_target, repoint_update, still_referencing
from migration.status import ScaleSetAction
from tests.migration.factories import SUB, request, settings, source

VMSS = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/virtualMachineScaleSets"


def plan(**body: Any) -> Any:
    return build_plan(
        request(repoint_scale_sets=True, **body),
        source=source(),
        gallery_location="westus2",
        definition=None,
        versions=[],
        settings=settings(),
    )


def facts(name: str, **overrides: Any) -> ScaleSetFacts:
    return ScaleSetFacts.model_validate({"id": f"{VMSS}/{name}", "location": "westus2", **overrides})


def test_reading_a_scale_set_from_arm_json() -> None:
    read = ScaleSetFacts.from_arm(
        {
            "id": f"{VMSS}/web",
            "location": "eastus",
            "properties": {
                "upgradePolicy": {"mode": "Manual", "automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": True}},
                "virtualMachineProfile": {"storageProfile": {"imageReference": {"id": "/x/images/y"}}},
            },
        }
    )
    assert (read.upgrade_mode, read.automatic_os_upgrade, read.image_reference) == ("Manual", True, "/x/images/y")
    assert read.rolls_instances  # an automatic OS image upgrade rolls instances to each new image
    assert ScaleSetFacts.from_arm({"id": "i", "location": "l", "properties": {}}).upgrade_mode == "Manual"


@pytest.mark.parametrize(
    ("mode", "auto_os", "allowed", "action"),
    [
        ("Manual", False, False, ScaleSetAction.REPOINTED),
        ("manual", False, False, ScaleSetAction.REPOINTED),
        ("Automatic", False, False, ScaleSetAction.KEPT),
        ("Rolling", False, False, ScaleSetAction.KEPT),
        ("Manual", True, False, ScaleSetAction.KEPT),
        ("Automatic", False, True, ScaleSetAction.REPOINTED),
        ("Rolling", True, True, ScaleSetAction.REPOINTED),
    ],
)
def test_scale_sets_that_would_roll_their_instances_are_kept_unless_allowed(
    mode: str, auto_os: bool, allowed: bool, action: ScaleSetAction
) -> None:
    report = decide(plan(repoint_auto_upgrading=allowed), facts("web", upgrade_mode=mode, automatic_os_upgrade=auto_os))
    assert report.action == action
    assert bool(report.reason) is (action == ScaleSetAction.KEPT)


def test_a_scale_set_in_a_region_the_version_does_not_reach_is_kept() -> None:
    kept = decide(plan(), facts("east", location="East US"))
    assert (kept.action, "not replicated to its region East US" in kept.reason) == (ScaleSetAction.KEPT, True)
    assert decide(plan(target_regions=[{"name": "eastus"}]), facts("east", location="East US")).action == "repointed"


def test_the_target_is_the_version_or_its_definition() -> None:
    by_version, by_definition = plan(), plan(repoint_target="definition")
    assert repoint_target(by_version) == by_version.version_id
    assert repoint_target(by_definition) == by_definition.definition_id
    assert repoint_update("/t") == {
        "properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": {"id": "/t"}}}}
    }


def test_a_plan_predicts_the_repoint_and_the_deletion_after_it() -> None:
    sets = [f"{VMSS}/manual", f"{VMSS}/auto"]
    known = {s.lower(): facts(s.rsplit("/", 1)[-1]) for s in sets}
    known[sets[1].lower()] = facts("auto", upgrade_mode="Automatic")
    row = forecast_image(plan(), scale_sets=sets, scale_set_facts=known)
    assert [(r.id, r.action) for r in row.scale_sets] == [(sets[0], "repointed"), (sets[1], "kept")]
    assert row.deletion is not None
    assert row.deletion.would_delete is False
    assert sets[1] in row.deletion.reason
    assert sets[0] not in row.deletion.reason
    assert still_referencing(row.scale_sets) == [sets[1]]
    only_manual = forecast_image(plan(), scale_sets=sets[:1], scale_set_facts=known)
    assert only_manual.source_deleted is True
    without = build_plan(
        request(), source=source(), gallery_location="westus2", definition=None, versions=[], settings=settings()
    )
    assert forecast(without, [facts("manual")]) == []
    assert forecast_image(without, scale_sets=sets[:1]).source_deleted is False
