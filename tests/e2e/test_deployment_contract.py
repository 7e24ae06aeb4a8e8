"""The deployment template's promises, proven end to end: each of its roles is exactly what the app uses at that
role's scopes, its Event Grid filter lets exactly the right events through, and both Tags-API event subject forms
start a migration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.mgmt.compute.models import ImageUpdate

from localrun.stack import APP_CLIENT_ID, LocalStack
from tests.e2e.conftest import E2E_SETTINGS
from tests.e2e.world import (
    GALLERY,
    GALLERY_NAME,
    GALLERY_RG,
    RG,
    SUB,
    World,
    deployed_rbac,
    eventually,
    gallery,
    image,
    image_id,
    scale_set,
    seed_document,
)
from tests.infra.template import context, event_subscription_filter, role_actions

pytestmark = pytest.mark.e2e


# The guide's deployment: images and gallery each in their own resource group, roles on those groups only.
GUIDE = {
    "imageResourceGroupIds": [f"/subscriptions/{SUB}/resourceGroups/{RG}"],
    "galleryResourceGroupId": f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}",
}


@pytest.fixture(scope="module")
def guide_world() -> Iterator[World]:
    """A stack deployed as the guide does it: the template's roles at the template's scopes, and the app settings
    whose template defaults depend on them (SCALE_SET_CHECK_SCOPE)."""
    scale_set_scope = context(parameters=GUIDE).parameter("scaleSetCheckScope")
    settings = {**E2E_SETTINGS, "SCALE_SET_CHECK_SCOPE": scale_set_scope}
    with LocalStack(
        clock="virtual",
        seed=None,
        settings=settings,
        event_filter=event_subscription_filter(),
    ) as stack:
        stack.host.clock(auto_advance=True)
        stack.arm.set_role(deployed_rbac(deployment=GUIDE))
        world = World(stack)
        world.replication_takes(3600)
        yield world


def app_calls(world: World) -> list[dict[str, Any]]:
    return [entry for entry in world.stack.arm.requests() if entry.get("clientId") == APP_CLIENT_ID]


def scope_of(path: str) -> str:
    """``images`` or ``gallery``: the resource group a request of the app went to (``subscription`` otherwise)."""
    lowered = path.lower()
    for name, group in (("images", RG), ("gallery", GALLERY_RG)):
        if f"/resourcegroups/{group.lower()}/" in lowered:
            return name
    return "subscription"


def test_each_role_is_exactly_what_its_scope_needs(guide_world: World) -> None:
    """Deployed as the guide says, every scenario works (a missing action would fail it with 403: the emulator
    enforces each role at its own scopes, including on polls of operation-status URLs, which the app never needs:
    it reads the resources it wrote instead), and every action of each role is used at that role's scope."""
    world = guide_world
    world.settled_deliveries()
    world.stack.arm.clear_requests()  # the module's stack is shared: count this test's calls only (random order)
    # Tag with the gallery's ID (as the guide does): new definition, version, scale-set guard, source deleted.
    world.seed(gallery(), image("role-ok"), scale_set("unrelated"))
    instance = world.tag_for_migration(
        image_id("role-ok"), **{"migrate-to-gallery": GALLERY, "migrate-regions": "eastus=1"}
    )
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", True), output  # issue 19, item 4
    # A failed replication removes the version it created.
    world.seed(image("role-fail"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    instance = world.tag_for_migration(
        image_id("role-fail"), **{"migrate-to-gallery": GALLERY, "migrate-regions": "eastus=1"}
    )
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["versionRemoved"]) == ("failed", True)
    # A gallery named in the tag is looked for in the image's group; the subscription-wide list is not allowed, so
    # the image is answered at once instead of Event Grid retrying for a day.
    world.seed(image("by-name"))
    world.tag(image_id("by-name"), **{"migrate-to-gallery": GALLERY_NAME})
    reason = eventually(lambda: world.tags_of(image_id("by-name")).get("migration-reason")) or ""
    assert "tag with the gallery's resource ID" in reason

    used: dict[str, set[str]] = {"images": set(), "gallery": set(), "subscription": set()}
    denied = []
    for call in app_calls(world):
        if call["status"] == 403:
            denied.append((call["operationId"], scope_of(call["path"])))
        elif call["action"]:
            used[scope_of(call["path"])].add(call["action"])
    assert denied == [("Galleries_List", "subscription")]
    assert used == {
        "images": set(role_actions("source-images")),
        "gallery": set(role_actions("gallery")),
        "subscription": set(),
    }


def test_events_for_images_outside_the_role_scopes_are_acknowledged(guide_world: World) -> None:
    """Issue 19, item 5: a subscription-wide topic delivers every image write of the subscription; one the app may
    not read (403) is acknowledged and logged, not failed into a day of Event Grid retries and a dead letter."""
    world = guide_world
    outside = image_id("elsewhere", group="rg-other")
    document = seed_document(image("elsewhere", group="rg-other"))
    document["resourceGroups"].append({"subscriptionId": SUB, "name": "rg-other", "location": "westus2"})
    world.stack.arm.seed(document)
    world.stack.arm.clear_requests()
    world.tag(outside, **{"migrate-to-gallery": GALLERY})
    deliveries = eventually(
        lambda: (
            [d for d in world.stack.arm.deliveries() if d["subject"].lower() == outside.lower()]
            if all(d["status"] != "pending" for d in world.stack.arm.deliveries())
            else None
        )
    )
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("delivered", 1)]
    assert [(c["operationId"], c["status"]) for c in app_calls(world)] == [("Images_Get", 403)]
    assert world.stack.host.status(world.instance_of(outside)) is None


def test_without_delete_permission_the_source_is_kept_and_the_reason_names_it(world: World) -> None:
    world.stack.arm.set_role(deployed_rbac(without=("Microsoft.Compute/images/delete",)))
    source = image_id("no-delete")
    world.seed(gallery(), image("no-delete"))
    output = world.finish(world.tag_for_migration(source))["output"]
    assert (output["outcome"], output["sourceDeleted"]) == ("succeeded", False)
    assert "permission denied" in output["sourceKeptReason"]
    assert "Microsoft.Compute/images/delete" in output["sourceKeptReason"]
    assert world.exists(source)


def delivered_subjects(world: World) -> list[str]:
    return [d["subject"].lower() for d in world.stack.arm.deliveries(status="delivered")]


def test_the_template_filter_delivers_image_writes_only(world: World) -> None:
    world.seed(gallery(), image("filtered"), scale_set("web"))
    vmss = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/virtualMachineScaleSets/web"
    world.tag(GALLERY, team="platform")  # a gallery tag write
    world.tag(vmss, team="platform")  # a scale-set tag write
    world.tag(image_id("filtered"), team="platform")  # an image tag write: the only one the app should get
    subjects = eventually(lambda: delivered_subjects(world))
    assert subjects
    assert all("/providers/microsoft.compute/images/" in s for s in subjects), subjects
    assert not [s for s in subjects if "galleries" in s or "virtualmachinescalesets" in s]


@pytest.mark.parametrize("subject_form", ["resource", "tags-resource"])
def test_both_tags_event_subject_forms_start_a_migration(world: World, subject_form: str) -> None:
    """Azure does not document the subject of a Tags-API event; the app accepts both plausible forms."""
    world.stack.arm.configure({"eventgrid": {"tagsEventSubject": subject_form}})
    world.seed(gallery(), image("subject-form"))
    instance = world.tag_for_migration(image_id("subject-form"), **{"migrate-delete-source": "never"})
    assert world.finish(instance)["output"]["outcome"] == "succeeded"
    expected_suffix = (
        "/providers/microsoft.resources/tags/default" if subject_form == "tags-resource" else "subject-form"
    )
    assert any(s.endswith(expected_suffix) for s in delivered_subjects(world))


def test_an_image_write_event_also_starts_a_migration(world: World) -> None:
    """Tags set by PATCHing the image itself raise Microsoft.Compute/images/write, not tags/write."""
    source = image_id("patched")
    world.seed(gallery(), image("patched"))
    world.stack.compute(SUB).images.begin_update(
        "rg-images",
        "patched",
        ImageUpdate({"tags": {"migrate-to-gallery": GALLERY_NAME, "migrate-delete-source": "never"}}),
    ).result()
    output = world.finish(world.instance_of(source))["output"]
    assert output["outcome"] == "succeeded"
    operations = {d["operationName"] for d in world.stack.arm.deliveries(status="delivered")}
    assert "Microsoft.Compute/images/write" in operations
