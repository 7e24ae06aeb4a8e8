"""Repointing scale sets (issue 15, item 2): opt-in, after validation and before deletion, the model of each scale set
that still uses the source is pointed at the validated version (never its instances); a scale set whose upgrade
policy would roll its instances is kept and named; the deletion guard runs as before. The emulator enforces the
template's roles: ``enableScaleSetRepoint`` adds the one action this needs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_tag_authorization import TAG_CONTRIBUTOR, TAGGER_CLIENT_ID, TAGGER_PRINCIPAL_ID
from tests.e2e.world import (
    DEPLOYMENT,
    GALLERY,
    GALLERY_NAME,
    RG,
    SUB,
    World,
    deployed_rbac,
    eventually,
    gallery,
    image,
    image_id,
    scale_set,
)
from tests.fleet.fleet_world import FleetWorld

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WRITE = "Microsoft.Compute/virtualMachineScaleSets/write"


def vmss_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


def record(world: World, resource_id: str) -> dict[str, Any]:
    return next(r for r in world.stack.arm.resources() if r["body"]["id"].lower() == resource_id.lower())


def reference_of(world: World, name: str) -> str:
    body = record(world, vmss_id(name))["body"]
    return str(body["properties"]["virtualMachineProfile"]["storageProfile"]["imageReference"]["id"])


def instances_rolled(world: World, name: str) -> bool:
    meta = record(world, vmss_id(name))["meta"]
    return bool(meta["instancesOnGeneration"] == meta["modelGeneration"] and meta["modelGeneration"] > 1)


def allow_repoint(world: World) -> None:
    world.stack.arm.set_role(deployed_rbac(deployment={**DEPLOYMENT, "enableScaleSetRepoint": True}))


def migrate(world: World, name: str, **body: Any) -> dict[str, Any]:
    response = world.start_http({"sourceImageId": image_id(name), "galleryId": GALLERY, **body})
    assert response.status_code == 202, response.text
    return dict(world.finish(str(response.json()["id"]))["output"])


def test_a_scale_set_is_repointed_to_the_version_and_the_source_is_deleted(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-1")
    world.seed(gallery(), image("rp-1"), scale_set("web-rp1", image=source), scale_set("other"))
    output = migrate(world, "rp-1", repointScaleSets=True)

    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert [(s["id"].lower(), s["action"], s["imageReference"]) for s in output["scaleSets"]] == [
        (vmss_id("web-rp1").lower(), "repointed", output["versionId"])
    ]
    assert reference_of(world, "web-rp1") == output["versionId"]
    assert not instances_rolled(world, "web-rp1")  # model only: its instances were neither upgraded nor reimaged
    assert not world.exists(source)
    assert "repointing-scale-sets" in output["phaseSeconds"]


def test_a_scale_set_can_be_repointed_to_the_definition(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-def")
    world.seed(gallery(), image("rp-def"), scale_set("web-def", image=source))
    output = migrate(world, "rp-def", repointScaleSets=True, repointTarget="definition")
    assert output["outcome"] == "succeeded", output
    assert reference_of(world, "web-def") == output["definitionId"]
    assert output["sourceDeleted"] is True


def test_an_automatic_upgrade_scale_set_is_kept_and_named(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-auto")
    world.seed(
        gallery(),
        image("rp-auto"),
        scale_set("web-manual", image=source),
        scale_set("web-auto", image=source, upgrade_mode="Automatic"),
    )
    output = migrate(world, "rp-auto", repointScaleSets=True)

    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    actions = {s["id"].rsplit("/", 1)[-1]: (s["action"], s["reason"]) for s in output["scaleSets"]}
    assert actions["web-manual"] == ("repointed", "")
    assert actions["web-auto"][0] == "kept"
    assert "Automatic mode" in actions["web-auto"][1]
    assert reference_of(world, "web-auto") == source
    assert "web-auto" in output["sourceKeptReason"]
    assert "web-manual" not in output["sourceKeptReason"]
    assert world.exists(source)


def test_an_automatic_upgrade_scale_set_is_repointed_when_the_request_allows_it(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-roll")
    world.seed(gallery(), image("rp-roll"), scale_set("web-roll", image=source, upgrade_mode="Rolling"))
    output = migrate(world, "rp-roll", repointScaleSets=True, repointAutoUpgrading=True)
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert reference_of(world, "web-roll") == output["versionId"]
    assert instances_rolled(world, "web-roll")  # its own policy rolled them (the platform), not the app


def test_a_refused_write_keeps_the_source_and_names_the_action(world: World) -> None:
    """Deployed without enableScaleSetRepoint (the suite's default roles): the PATCH gets 403."""
    source = image_id("rp-403")
    world.seed(gallery(), image("rp-403"), scale_set("web-403", image=source))
    output = migrate(world, "rp-403", repointScaleSets=True)

    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    [report] = output["scaleSets"]
    assert report["action"] == "failed"
    assert WRITE in report["reason"]
    assert "web-403" in output["sourceKeptReason"]
    assert reference_of(world, "web-403") == source
    assert world.exists(source)


def test_a_scale_set_that_appears_after_the_repoint_listed_them_is_caught_by_the_deletion_guard(
    world: World,
) -> None:
    allow_repoint(world)
    source = image_id("rp-late")
    world.seed(gallery(), image("rp-late"), scale_set("web-early", image=source))
    # Hold the repoint's confirming read of the scale set it repointed: it has listed the scale sets by then.
    fault = world.stack.arm.add_fault(operationId="VirtualMachineScaleSets_Get", status=503, hang=3, times=1)
    response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, "repointScaleSets": True})
    instance = str(response.json()["id"])
    hit = eventually(lambda: any(f["id"] == fault["id"] and f["hits"] for f in world.stack.arm.faults()), timeout=60)
    assert hit, world.stack.logs()
    world.seed(scale_set("web-late", image=source))
    output = world.finish(instance)["output"]

    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    assert [s["id"].rsplit("/", 1)[-1] for s in output["scaleSets"]] == ["web-early"]
    assert reference_of(world, "web-early") == output["versionId"]
    assert reference_of(world, "web-late") == source
    assert "no-scale-set-uses-it" in output["sourceKeptReason"]
    assert "web-late" in output["sourceKeptReason"]
    assert world.exists(source)


def test_without_the_option_no_scale_set_is_touched(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-off")
    world.seed(gallery(), image("rp-off"), scale_set("web-off", image=source))
    output = migrate(world, "rp-off")
    assert (output["outcome"], output["sourceDeleted"], output["scaleSets"]) == ("succeeded", False, []), output
    assert reference_of(world, "web-off") == source
    assert not [r for r in world.stack.arm.requests(operation_id="VirtualMachineScaleSets_Update")]


def test_a_plan_predicts_which_scale_sets_would_be_repointed(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-plan")
    world.seed(
        gallery(),
        image("rp-plan"),
        scale_set("web-plan", image=source),
        scale_set("web-plan-auto", image=source, upgrade_mode="Automatic"),
        scale_set("web-plan-east", image=source, location="eastus"),
    )
    fleet = FleetWorld(world.stack)
    document = fleet.plan({"sourceImageId": source, "galleryId": GALLERY, "repointScaleSets": True})
    [row] = document["images"]
    predicted = {s["id"].rsplit("/", 1)[-1]: s["action"] for s in row["scaleSets"]}
    assert predicted == {"web-plan": "repointed", "web-plan-auto": "kept", "web-plan-east": "kept"}
    reasons = {s["id"].rsplit("/", 1)[-1]: s["reason"] for s in row["scaleSets"]}
    assert "not replicated to its region eastus" in reasons["web-plan-east"]
    assert row["deletion"]["wouldDelete"] is False
    kept_by = row["deletion"]["reason"].split("still referenced by scale set(s): ")[1].split(", ")
    assert sorted(k.rsplit("/", 1)[-1] for k in kept_by) == ["web-plan-auto", "web-plan-east"]
    assert row["safetyProfile"] == {"allowDeletionOfReplicatedLocations": False, "blockDeletionBeforeEndOfLife": False}
    assert world.stack.arm.requests(operation_id="VirtualMachineScaleSets_Update") == []  # a plan only reads
    # The same scale sets, the eastern one's region added to the targets: it would be repointed too.
    document = fleet.plan(
        {"sourceImageId": source, "galleryId": GALLERY, "repointScaleSets": True, "targetRegions": [{"name": "eastus"}]}
    )
    predicted = {s["id"].rsplit("/", 1)[-1]: s["action"] for s in document["images"][0]["scaleSets"]}
    assert predicted["web-plan-east"] == "repointed"


def test_a_tag_asks_for_the_repoint(world: World) -> None:
    allow_repoint(world)
    source = image_id("rp-tag")
    world.seed(gallery(), image("rp-tag"), scale_set("web-tag", image=source))
    output = world.finish(world.tag_for_migration(source, **{"migrate-repoint-scale-sets": "true"}))["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert reference_of(world, "web-tag") == output["versionId"]


def test_a_repoint_asked_for_by_an_unlisted_tag_writer_waits_for_an_approval(world: World) -> None:
    """Writing a tag is no right to change someone's scale set: even with deletion mode never, the repoint waits."""
    world.stack.arm.set_role(
        [
            *deployed_rbac(deployment={**DEPLOYMENT, "enableScaleSetRepoint": True}),
            {**TAG_CONTRIBUTOR, "principals": [TAGGER_PRINCIPAL_ID]},
        ]
    )
    source = image_id("rp-untrusted")
    world.seed(gallery(), image("rp-untrusted"), scale_set("web-untrusted", image=source))
    world.stack.host.clock(auto_advance=False)
    tags = {"migrate-to-gallery": GALLERY_NAME, "migrate-delete-source": "never", "migrate-repoint-scale-sets": "true"}
    world.tag(source, as_client=TAGGER_CLIENT_ID, **tags)
    instance = world.instance_of(source)
    world.step_to_phase(instance, "awaiting-approval")
    assert reference_of(world, "web-untrusted") == source
    assert world.stack.arm.requests(operation_id="VirtualMachineScaleSets_Update") == []

    assert world.api("POST", f"migrations/{instance}/approve").status_code == 202
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False), output
    assert reference_of(world, "web-untrusted") == output["versionId"]
