"""A gallery in another subscription of the tenant (issue 15, item 3): the images in one subscription, the gallery
(a central "golden images" subscription) in another, the app's identity holding the template's roles in each, the
emulator enforcing them per subscription. Tag trigger, HTTP API, plans and batches; preflight names a missing
permission and where; an encrypted image cannot cross subscriptions (Azure's rule)."""

from __future__ import annotations

from typing import Any

import pytest

from localrun.stack import APP_CLIENT_ID
from tests.e2e.world import GALLERY_NAME, GALLERY_RG, LOCATION, RG, SUB, World, deployed_rbac, image, image_id
from tests.fleet.fleet_world import FleetWorld

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GOLDEN = "22222222-2222-4222-8222-222222222222"
GOLDEN_GALLERY = (
    f"/subscriptions/{GOLDEN}/resourceGroups/{GALLERY_RG}/providers/Microsoft.Compute/galleries/{GALLERY_NAME}"
)
# As infra/README.md says for this layout: the app deployed with the images, the gallery role in the other subscription.
CROSS = {
    "imageSubscriptionIds": [SUB],
    "galleryResourceGroupId": f"/subscriptions/{GOLDEN}/resourceGroups/{GALLERY_RG}",
}


def seed(world: World, *resources: dict[str, Any]) -> None:
    world.stack.arm.seed(
        {
            "subscriptions": [
                {"subscriptionId": SUB, "displayName": "workloads"},
                {"subscriptionId": GOLDEN, "displayName": "golden images"},
            ],
            "resourceGroups": [
                {"subscriptionId": SUB, "name": RG, "location": LOCATION},
                {"subscriptionId": GOLDEN, "name": GALLERY_RG, "location": LOCATION},
            ],
            "resources": [{"id": GOLDEN_GALLERY, "location": LOCATION, "properties": {}}, *resources],
        }
    )


@pytest.fixture
def cross(world: World) -> World:
    world.stack.arm.set_role(deployed_rbac(deployment=CROSS))
    return world


def app_calls(world: World) -> list[dict[str, Any]]:
    return [r for r in world.stack.arm.requests() if r.get("clientId") == APP_CLIENT_ID]


def test_a_tag_migrates_an_image_into_a_gallery_of_another_subscription(cross: World) -> None:
    seed(cross, image("cross-tag"))
    instance = cross.tag_for_migration(image_id("cross-tag"), **{"migrate-to-gallery": GOLDEN_GALLERY})
    output = cross.finish(instance)["output"]

    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output
    assert output["versionId"].startswith(f"/subscriptions/{GOLDEN}/")
    assert cross.exists(f"{GOLDEN_GALLERY}/images/cross-tag/versions/1.0.0")
    assert not cross.exists(image_id("cross-tag"))
    calls = app_calls(cross)
    assert [c for c in calls if c["status"] == 403] == []
    subscriptions = {c["path"].split("/")[2] for c in calls if c["path"].startswith("/subscriptions/")}
    assert subscriptions == {SUB, GOLDEN}


def test_the_http_api_and_a_plan_and_a_batch_work_across_subscriptions(cross: World) -> None:
    seed(cross, image("cross-api"), image("cross-b1"), image("cross-b2"))
    response = cross.start_http({"sourceImageId": image_id("cross-api"), "galleryId": GOLDEN_GALLERY})
    assert response.status_code == 202, response.text
    output = cross.finish(str(response.json()["id"]))["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output

    fleet = FleetWorld(cross.stack)
    scope = {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/{RG}"]}
    batch = {"scope": scope, "filters": {"namePattern": "cross-b*"}, "galleryId": GOLDEN_GALLERY}
    plan = fleet.plan(batch)
    assert {(i["name"], i["outcome"]) for i in plan["images"]} == {("cross-b1", "succeeded"), ("cross-b2", "succeeded")}
    report = fleet.finish_batch(fleet.start_batch(batch), timeout=180)
    outcomes = {row["sourceImageId"].rsplit("/", 1)[-1]: row["outcome"] for row in report["images"]}
    assert outcomes == {"cross-b1": "succeeded", "cross-b2": "succeeded"}, report
    assert cross.exists(f"{GOLDEN_GALLERY}/images/cross-b2/versions/1.0.0")
    assert [c for c in app_calls(cross) if c["status"] == 403] == []


def test_preflight_names_the_missing_permission_in_the_gallery_s_subscription(world: World) -> None:
    """Deployed with the gallery role on the images' subscription by mistake: nothing is created, and the failure
    names the action, the gallery's scope and subscription, and the role that grants it."""
    world.stack.arm.set_role(
        deployed_rbac(
            deployment={**CROSS, "galleryResourceGroupId": f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}"}
        )
    )
    seed(world, image("cross-denied"))
    response = world.start_http({"sourceImageId": image_id("cross-denied"), "galleryId": GOLDEN_GALLERY})
    output = world.finish(str(response.json()["id"]))["output"]

    assert (output["outcome"], output["error"]["code"]) == ("failed", "PermissionDenied"), output
    message = output["error"]["message"]
    assert f"in subscription {GOLDEN}" in message
    assert "Microsoft.Compute/galleries/read" in message
    assert f"/subscriptions/{GOLDEN}/resourceGroups/{GALLERY_RG}" in message
    assert "gallery role (galleryResourceGroupId)" in message
    assert world.exists(image_id("cross-denied"))
    assert world.versions_of("cross-denied") == []


def test_preflight_names_a_missing_permission_in_each_subscription(world: World) -> None:
    world.stack.arm.set_role(
        deployed_rbac(deployment=CROSS, without=("Microsoft.Compute/images/read", "Microsoft.Compute/galleries/read"))
    )
    seed(world, image("cross-both"))
    response = world.start_http({"sourceImageId": image_id("cross-both"), "galleryId": GOLDEN_GALLERY})
    output = world.finish(str(response.json()["id"]))["output"]
    assert output["error"]["code"] == "PermissionDenied", output
    message = output["error"]["message"]
    image_part, gallery_part = message.split("; permission: ")
    assert f"in subscription {SUB}" in image_part
    assert "Microsoft.Compute/images/read" in image_part
    assert "source-image role" in image_part
    assert f"in subscription {GOLDEN}" in gallery_part
    assert "Microsoft.Compute/galleries/read" in gallery_part
    assert "gallery role" in gallery_part


def test_an_encrypted_image_cannot_go_to_a_gallery_of_another_subscription(cross: World) -> None:
    encrypted = image("cross-cmk")
    des = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/diskEncryptionSets/des"
    encrypted["properties"]["storageProfile"]["osDisk"]["diskEncryptionSet"] = {"id": des}
    seed(cross, encrypted)
    response = cross.start_http({"sourceImageId": image_id("cross-cmk"), "galleryId": GOLDEN_GALLERY})
    output = cross.finish(str(response.json()["id"]))["output"]

    assert (output["outcome"], output["error"]["code"]) == ("failed", "SourceNotEligible"), output
    assert "encrypted-source-subscription" in output["error"]["message"]
    assert cross.stack.arm.requests(operation_id="GalleryImageVersions_CreateOrUpdate") == []
    assert cross.exists(image_id("cross-cmk"))
