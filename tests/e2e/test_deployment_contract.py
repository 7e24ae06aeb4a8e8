"""The deployment template's promises, proven end to end: its role is exactly what the app uses, its Event Grid
filter lets exactly the right events through, and both Tags-API event subject forms start a migration."""

from __future__ import annotations

import pytest
from azure.mgmt.compute.models import ImageUpdate

from localrun.stack import APP_CLIENT_ID
from tests.e2e.world import (
    GALLERY,
    GALLERY_NAME,
    SUB,
    World,
    deployed_roles,
    eventually,
    gallery,
    image,
    image_id,
    scale_set,
)
from tests.infra.template import role_actions

pytestmark = pytest.mark.e2e


def app_actions(world: World) -> set[str]:
    return {
        entry["action"]
        for entry in world.stack.arm.requests()
        if entry.get("clientId") == APP_CLIENT_ID and entry.get("action")
    }


def test_the_custom_role_is_exactly_what_the_app_uses(world: World) -> None:
    """Every action the role grants is used by some scenario, and the scenarios need nothing more (a missing
    action would have failed them with 403: the emulator enforces the role throughout the e2e suites, including on
    polls of operation-status URLs, which the app never needs: it reads the resources it wrote instead)."""
    used: set[str] = set()
    # Gallery by name (lists galleries), new definition, version, scale-set guard, source deleted, tags.
    world.seed(gallery(), image("role-ok"), scale_set("unrelated"))
    instance = world.tag_for_migration(image_id("role-ok"), **{"migrate-regions": "eastus=1"})
    assert world.finish(instance)["output"]["outcome"] == "succeeded"
    used |= app_actions(world)
    # A failed replication removes the version it created.
    world.stack.arm.clear_requests()
    world.seed(image("role-fail"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    instance = world.tag_for_migration(image_id("role-fail"), **{"migrate-regions": "eastus=1"})
    output = world.finish(instance)["output"]
    assert (output["outcome"], output["versionRemoved"]) == ("failed", True)
    used |= app_actions(world)

    granted = set(role_actions(include_boot_test=False))
    assert used - granted == set(), "the app used actions the role does not grant"
    assert granted - used == set(), "the role grants actions no scenario uses"


def test_without_delete_permission_the_source_is_kept_and_the_reason_names_it(world: World) -> None:
    world.stack.arm.set_role(deployed_roles(without=("Microsoft.Compute/images/delete",)))
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
