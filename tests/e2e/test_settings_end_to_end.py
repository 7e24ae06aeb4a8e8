"""App settings that change behaviour, end to end on a stack of their own (the app reads its settings at start):
renamed tags (``TAG_*``), ``SCALE_SET_CHECK_SCOPE=resource-group`` and ``DELETE_FAILED_VERSION=false``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localrun.stack import LocalStack
from tests.e2e.conftest import E2E_SETTINGS
from tests.e2e.world import (
    GALLERY,
    GALLERY_NAME,
    LOCATION,
    SUB,
    World,
    eventually,
    gallery,
    image,
    image_id,
    scale_set,
    seed_document,
)
from tests.infra.template import event_subscription_filter

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

RENAMED = {"TAG_TRIGGER": "copy-to-gallery", "TAG_OPTION_PREFIX": "copy-", "TAG_STATUS_PREFIX": "copied-"}
SETTINGS = {**E2E_SETTINGS, **RENAMED, "SCALE_SET_CHECK_SCOPE": "resource-group", "DELETE_FAILED_VERSION": "false"}
OTHER_RG = "rg-apps"


@pytest.fixture(scope="module")
def settings_stack() -> Iterator[LocalStack]:
    with LocalStack(clock="virtual", seed=None, settings=SETTINGS, event_filter=event_subscription_filter()) as stack:
        yield stack


@pytest.fixture
def world(settings_stack: LocalStack) -> World:
    return World.fresh(settings_stack, replication_seconds=600)


def seed_with_other_group(world: World, *resources: dict[str, Any]) -> None:
    document = seed_document(*resources)
    document["resourceGroups"].append({"subscriptionId": SUB, "name": OTHER_RG, "location": LOCATION})
    world.stack.arm.seed(document)


def scale_set_in(group: str, name: str, source: str) -> dict[str, Any]:
    found = scale_set(name, image=source)
    return {**found, "id": found["id"].replace("/resourceGroups/rg-images/", f"/resourceGroups/{group}/")}


def test_renamed_tags_start_and_answer_under_their_new_names(world: World) -> None:
    source = image_id("renamed-1")
    world.seed(gallery(), image("renamed-1"))
    world.tag(source, **{"copy-to-gallery": GALLERY_NAME, "copy-delete-source": "never", "copy-version": "3.1.4"})
    instance = world.instance_of(source)
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded", output
    assert output["versionId"].endswith("/versions/3.1.4")  # the renamed option tag was read
    assert output["sourceDeleted"] is False  # copy-delete-source=never
    tags = world.tags_of(source)
    assert (tags["copied-status"], tags["copied-id"]) == ("succeeded", instance)
    assert not [name for name in tags if name.startswith("migrat")], tags


def test_the_default_tag_names_start_nothing_once_renamed(world: World) -> None:
    source = image_id("renamed-2")
    world.seed(gallery(), image("renamed-2"))
    world.tag(source, **{"migrate-to-gallery": GALLERY_NAME})
    deliveries = world.settled_deliveries()
    assert [d["status"] for d in deliveries] == ["delivered"]  # the event arrived and was answered
    assert world.instances() == []
    assert world.app_requests() == [r for r in world.app_requests() if r["operationId"] == "Images_Get"]


def test_the_scale_set_check_looks_in_the_images_resource_group_only(world: World) -> None:
    """A scale set elsewhere in the subscription is not looked at (the source is deleted); one in the image's own
    resource group still keeps it."""
    elsewhere, beside = image_id("scoped-1"), image_id("scoped-2")
    seed_with_other_group(
        world,
        gallery(),
        image("scoped-1"),
        image("scoped-2"),
        scale_set_in(OTHER_RG, "far", elsewhere),
        scale_set("near", image=beside),
    )
    body = {"galleryId": GALLERY}
    far = world.finish(world.start_http({**body, "sourceImageId": elsewhere}).json()["id"])["output"]
    near = world.finish(world.start_http({**body, "sourceImageId": beside}).json()["id"])["output"]
    assert (far["outcome"], far["sourceDeleted"]) == ("succeeded", True), far
    assert (near["outcome"], near["sourceDeleted"]) == ("succeeded", False), near
    assert "virtualMachineScaleSets/near" in near["sourceKeptReason"]
    operations = {r["operationId"] for r in world.app_requests()}
    assert "VirtualMachineScaleSets_List" in operations
    assert "VirtualMachineScaleSets_ListAll" not in operations


def test_a_failed_version_is_kept_when_delete_failed_version_is_false(world: World) -> None:
    source = image_id("keep-failed")
    world.seed(gallery(), image("keep-failed"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, "targetRegions": [{"name": "eastus"}]})
    output = world.finish(response.json()["id"])["output"]
    assert (output["outcome"], output["error"]["code"]) == ("failed", "ReplicationFailed"), output
    assert output["versionRemoved"] is False
    assert world.versions_of("keep-failed") == ["1.0.0"]  # left for inspection
    assert world.app_requests("GalleryImageVersions_Delete") == []
    assert world.exists(source)
    assert eventually(lambda: world.tags_of(source).get("copied-status") == "failed")
