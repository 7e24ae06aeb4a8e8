"""The migration workflow end to end: emulator and devhost as real processes, virtual clock."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from localrun.stack import APP_CLIENT_ID
from tests.e2e.world import (
    DEPLOYMENT,
    GALLERY,
    GALLERY_NAME,
    RG,
    SUB,
    World,
    definition,
    definition_id,
    deployed_rbac,
    eventually,
    gallery,
    image,
    image_id,
    scale_set,
    seed_document,
    version,
)

pytestmark = pytest.mark.e2e


def test_tag_triggered_migration_succeeds_and_deletes_the_source(world: World) -> None:
    source = image_id("web-01")
    world.seed(gallery(), image("web-01"))
    instance = world.tag_for_migration(source, **{"migrate-regions": "westus2=1;eastus=2"})

    status = world.finish(instance)

    assert status["runtimeStatus"] == "Completed"
    out = status["output"]
    assert out["outcome"] == "succeeded", out
    assert out["sourceDeleted"] is True
    assert out["versionId"] == definition_id("web-01") + "/versions/1.0.0"
    assert out["regions"] == {"westus2": "Completed", "eastus": "Completed"}
    assert all(check["passed"] for check in out["validation"])
    assert not world.exists(source)
    assert world.versions_of("web-01") == ["1.0.0"]
    # The status is not written onto the image the migration deleted (no request wasted on a 404).
    assert [r for r in world.stack.arm.requests(operation_id="Tags_UpdateAtScope") if r["status"] == 404] == []
    provenance = world.tags_of(out["versionId"])
    assert provenance["migration-id"] == instance
    assert provenance["migration-validated"] == "true"
    # Promoted after validation: `latest` resolves to it now.
    version_body = next(r["body"] for r in world.stack.arm.resources() if r["body"]["id"] == out["versionId"])
    assert version_body["properties"]["publishingProfile"]["excludeFromLatest"] is False
    assert version_body["properties"]["publishingProfile"]["storageAccountType"] == "Standard_LRS"


def test_http_start_and_both_status_apis(world: World) -> None:
    source = image_id("api-01")
    world.seed(gallery(), image("api-01"))
    response = world.start_http(
        {
            "sourceImageId": source,
            "galleryId": GALLERY,
            "definition": {"name": "api-image", "publisher": "Contoso", "offer": "Api", "sku": "prod"},
            "version": "2.0.0",
            "targetRegions": [{"name": "East US", "replicaCount": 1}],
            "deletionMode": "never",
        }
    )
    assert response.status_code == 202, response.text
    links = response.json()
    assert response.headers["Location"] == links["statusQueryGetUri"]
    instance = links["id"]
    assert instance == world.instance_of(source)

    status = world.finish(instance)
    durable = world.stack.host.session.get(links["statusQueryGetUri"], timeout=10).json()
    assert durable["runtimeStatus"] == "Completed"
    assert durable["output"] == status["output"]

    summary = world.summary(instance)
    assert summary["outcome"] == "succeeded"
    assert summary["phase"] == "done"
    assert summary["versionId"] == definition_id("api-image") + "/versions/2.0.0"
    assert summary["regions"] == {
        "westus2": {"state": "Completed", "progress": 100, "replicaCount": 1},
        "eastus": {"state": "Completed", "progress": 100, "replicaCount": 1},
    }
    assert summary["result"]["sourceKeptReason"] == "deletion mode is 'never'"
    assert summary["result"]["phaseSeconds"]["replicating"] >= 3600
    assert world.exists(source)
    listed = world.api("GET", "migrations", params={"status": "Completed"}).json()
    assert [item["id"] for item in listed["value"]] == [instance]


def test_existing_compatible_definition_is_reused_and_versions_are_numbered(world: World) -> None:
    other = image_id("older")
    world.seed(
        gallery(),
        image("older"),
        image("reuse-01"),
        definition("shared"),
        version("shared", "1.0.0", other),
        version("shared", "1.0.7", other),
    )
    instance = world.tag_for_migration(image_id("reuse-01"), **{"migrate-definition": "shared"})
    out = world.finish(instance)["output"]
    assert out["outcome"] == "succeeded", out
    assert out["versionId"] == definition_id("shared") + "/versions/1.0.8"
    assert world.versions_of("shared") == ["1.0.0", "1.0.7", "1.0.8"]


def lookups(world: World) -> list[str]:
    names = ("Galleries_ListByResourceGroup", "Galleries_List")
    return [r["operationId"] for r in world.app_requests() if r["operationId"] in names]


def test_gallery_name_lookups_are_remembered(world: World) -> None:
    """Many images tagged with the same gallery name look the gallery up once, not once each (every test starts
    with the cache empty: the devhost's reset empties it)."""
    world.seed(gallery(), image("named-1"), image("named-2"), image("named-3"))
    for name in ("named-1", "named-2", "named-3"):
        options = {"migrate-delete-source": "never"}
        assert world.finish(world.tag_for_migration(image_id(name), **options))["output"]["outcome"] == "succeeded"
    # The first image's lookup only: one listing of the subscription answers it (issue 16: one request, not two).
    assert lookups(world) == ["Galleries_List"]


def gallery_in(group: str, name: str = GALLERY_NAME) -> dict[str, Any]:
    gallery_id = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/galleries/{name}"
    return {**gallery(), "id": gallery_id}


def test_a_gallery_name_is_looked_up_in_the_images_resource_group_first(world: World) -> None:
    """The same name in the image's resource group and elsewhere: the image's group wins, from the one listing of
    the subscription."""
    # deployed with the gallery role on the images' resource group, where this gallery is
    world.stack.arm.set_role(
        deployed_rbac(deployment={**DEPLOYMENT, "galleryResourceGroupId": gallery_in(RG)["id"].split("/providers/")[0]})
    )
    world.seed(gallery(), gallery_in(RG), image("local-1"))
    out = world.finish(world.tag_for_migration(image_id("local-1"), **{"migrate-delete-source": "never"}))["output"]
    assert out["outcome"] == "succeeded", out
    assert out["versionId"].startswith(gallery_in(RG)["id"] + "/images/"), out["versionId"]
    assert lookups(world) == ["Galleries_List"]


def test_an_ambiguous_gallery_name_is_refused_on_the_image(world: World) -> None:
    """Not in the image's group and in two others: no guess; the answer is on the image, nothing starts."""
    document = seed_document(gallery(), gallery_in("rg-other"), image("ambiguous-1"))
    document["resourceGroups"].append({"subscriptionId": SUB, "name": "rg-other", "location": "westus2"})
    world.stack.arm.seed(document)
    source = image_id("ambiguous-1")
    world.tag(source, **{"migrate-to-gallery": GALLERY_NAME})
    tags = eventually(lambda: world.tags_of(source) if "migration-status" in world.tags_of(source) else None)
    assert tags["migration-status"] == "failed"
    assert tags["migration-reason"] == (
        f"invalid tags: migrate-to-gallery: gallery name '{GALLERY_NAME}' is ambiguous in the subscription; tag "
        "with the gallery's ID"
    )
    assert world.instances() == []
    assert world.stack.arm.resources("Microsoft.Compute/galleries/images") == []


def test_incompatible_definition_fails_fast_and_creates_nothing(world: World) -> None:
    world.seed(gallery(), image("gen2-01"), definition("gen1-only", generation="V1"))
    instance = world.tag_for_migration(image_id("gen2-01"), **{"migrate-definition": "gen1-only"})
    out = world.finish(instance)["output"]
    assert out["outcome"] == "failed"
    assert out["error"]["code"] == "DefinitionIncompatible"
    assert "Hyper-V generation is V1, the image's is V2" in out["error"]["message"]
    assert world.versions_of("gen1-only") == []
    assert world.exists(image_id("gen2-01"))
    tags = world.tags_of(image_id("gen2-01"))
    assert tags["migration-status"] == "failed"
    assert "Hyper-V generation" in tags["migration-reason"]


def test_replication_failure_in_one_region_keeps_the_source(world: World) -> None:
    source = image_id("flaky-01")
    world.seed(gallery(), image("flaky-01"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    instance = world.tag_for_migration(source, **{"migrate-regions": "eastus=1"})
    out = world.finish(instance)["output"]
    world.assert_failed_and_cleaned_up(
        out, code="ReplicationFailed", mentions=("eastus",), source=source, definition="flaky-01"
    )


def test_never_mode_keeps_the_source(world: World) -> None:
    source = image_id("keep-01")
    world.seed(gallery(), image("keep-01"))
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "never"})
    out = world.finish(instance)["output"]
    assert (out["outcome"], out["sourceDeleted"]) == ("succeeded", False)
    assert world.exists(source)
    assert world.tags_of(source)["migration-status"] == "succeeded"
    assert world.tags_of(source)["migration-version-id"] == out["versionId"]


def test_after_approval_mode_deletes_only_once_approved(world: World) -> None:
    source = image_id("approve-01")
    world.seed(gallery(), image("approve-01"))
    host = world.stack.host
    host.clock(auto_advance=False)  # hold virtual time so the approval timeout cannot fire meanwhile
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "after-approval"})
    world.step_to_phase(instance, "awaiting-approval")
    assert eventually(lambda: world.tags_of(source).get("migration-status") == "awaiting-approval")
    assert world.exists(source)

    response = world.api("POST", f"migrations/{instance}/approve")
    assert response.status_code == 202, response.text
    host.clock(auto_advance=True)
    out = world.finish(instance)["output"]
    assert (out["outcome"], out["sourceDeleted"]) == ("succeeded", True)
    assert not world.exists(source)


def test_approval_that_never_comes_keeps_the_source(world: World) -> None:
    source = image_id("noapprove-01")
    world.seed(gallery(), image("noapprove-01"))
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "after-approval"})
    out = world.finish(instance)["output"]
    assert (out["outcome"], out["sourceDeleted"]) == ("succeeded", False)
    assert out["sourceKeptReason"] == "no approval within 604800 s"
    assert world.exists(source)


def test_a_scale_set_using_the_image_blocks_deletion(world: World) -> None:
    source = image_id("vmss-src")
    world.seed(gallery(), image("vmss-src"), scale_set("web", image=source), scale_set("other"))
    instance = world.tag_for_migration(source)
    out = world.finish(instance)["output"]
    assert (out["outcome"], out["sourceDeleted"]) == ("succeeded", False)
    assert "no-scale-set-uses-it" in out["sourceKeptReason"]
    assert "virtualMachineScaleSets/web" in out["sourceKeptReason"]
    assert world.exists(source)


def test_second_start_is_a_409_with_the_running_instance(world: World) -> None:
    source = image_id("twice-01")
    world.seed(gallery(), image("twice-01"))
    world.stack.host.clock(auto_advance=False)  # keep the first migration running
    body = {"sourceImageId": source, "galleryId": GALLERY}
    first = world.start_http(body)
    assert first.status_code == 202, first.text
    second = world.start_http({**body, "sourceImageId": source.upper().replace(SUB.upper(), SUB)})
    assert second.status_code == 409, second.text
    problem = second.json()
    assert problem["status"] == 409
    assert problem["id"] == first.json()["id"]
    assert problem["statusQueryGetUri"] == first.json()["statusQueryGetUri"]
    world.stack.host.clock(auto_advance=True)
    assert world.finish(first.json()["id"])["output"]["outcome"] == "succeeded"


def test_duplicate_and_self_caused_events_start_nothing(world: World) -> None:
    source = image_id("dup-01")
    world.seed(gallery(), image("dup-01"))
    world.stack.arm.configure({"recordBodies": True})  # to tell the app's status writes apart
    world.stack.arm.add_delivery_fault("duplicate", copies=4)
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "never"})
    out = world.finish(instance)["output"]
    assert out["outcome"] == "succeeded"
    run = world.run_id(instance)
    world.tag(source, team="platform")  # an unrelated user change: tags unchanged for the contract
    deliveries = world.settled_deliveries()  # every event, the app's own tag writes' too, has been answered
    copies = Counter(d["eventId"] for d in deliveries if d["status"] == "delivered")
    assert len(copies) >= 4, copies  # the user's two tag writes, the app's status writes
    assert max(copies.values()) == 5, copies  # the user's tag event arrived five times
    # None of them started anything: what a second migration would leave, there is none of.
    assert world.run_id(instance) == run
    assert [i["instanceId"] for i in world.instances()] == [instance]
    assert len(world.status_writes(source, "running")) == 1
    assert len(world.status_writes(source, "succeeded")) == 1
    assert len(world.app_requests("GalleryImageVersions_CreateOrUpdate")) == 1
    assert world.versions_of("dup-01") == ["1.0.0"]
    assert (world.stack.host.status(instance) or {}).get("runtimeStatus") == "Completed"


def test_cancel_stops_and_keeps_the_source(world: World) -> None:
    source = image_id("cancel-01")
    world.seed(gallery(), image("cancel-01"))
    host = world.stack.host
    host.clock(auto_advance=False)
    instance = world.tag_for_migration(source)
    world.wait_for_instance(instance)
    world.step_to_phase(instance, "replicating")  # a held clock: step it past any wait for ARM budget
    response = world.api("POST", f"migrations/{instance}/cancel")
    assert response.status_code == 202, response.text
    host.clock(auto_advance=True)
    out = world.finish(instance)["output"]
    assert out["outcome"] == "canceled"
    assert out["phase"] == "replicating"
    assert world.exists(source)
    assert world.versions_of("cancel-01") == []  # the unvalidated version was removed
    assert world.tags_of(source)["migration-status"] == "canceled"
    again = world.api("POST", f"migrations/{instance}/cancel")
    assert again.status_code == 409


def test_boot_test_boots_a_vm_from_the_version_and_cleans_up(world: World) -> None:
    world.stack.arm.set_role(deployed_rbac(include_boot_test=True))
    source = image_id("boot-01")
    world.seed(gallery(), image("boot-01"))
    response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, "bootTest": True})
    output = world.finish(response.json()["id"])["output"]
    assert output["outcome"] == "succeeded", output
    assert {"name": "boot-test", "passed": True, "reason": ""} in output["validation"]
    assert world.stack.arm.request_summary()["byOperationId"]["VirtualMachines_CreateOrUpdate"] == 1
    assert world.stack.arm.resources("Microsoft.Compute/virtualMachines") == []  # the scratch group is gone
    assert not world.exists(source)


def test_a_failed_boot_test_keeps_the_source_and_removes_the_version(world: World) -> None:
    world.stack.arm.set_role(deployed_rbac(include_boot_test=True))
    source = image_id("boot-02")
    world.seed(gallery(), image("boot-02"))
    world.stack.arm.add_fault(
        operationId="VirtualMachines_CreateOrUpdate", status=400, code="InvalidParameter", message="bad size"
    )
    response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, "bootTest": True})
    output = world.finish(response.json()["id"])["output"]
    world.assert_failed_and_cleaned_up(
        output, code="ValidationFailed", mentions=("boot-test",), source=source, definition="boot-02"
    )


JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+")


def test_no_token_or_vm_password_is_logged_or_returned(world: World) -> None:
    """A boot-test migration handles both secrets the app ever holds: its ARM access token and the throwaway VM's
    password. Neither appears in the host's log (the app's log lines included), the status APIs, the instance's
    Durable history (activity inputs and outputs) or the tags the app wrote."""
    world.stack.arm.set_role(deployed_rbac(include_boot_test=True))
    world.stack.arm.configure({"recordBodies": True})  # to learn the password the app sent
    source = image_id("secret-01")
    world.seed(gallery(), image("secret-01"))
    log = world.stack.devhost_process.log_path if world.stack.devhost_process else None
    assert log is not None
    log_start = log.stat().st_size
    response = world.start_http({"sourceImageId": source, "galleryId": GALLERY, "bootTest": True})
    instance = response.json()["id"]
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded", output
    (create,) = world.app_requests("VirtualMachines_CreateOrUpdate")
    password = create["requestBody"]["properties"]["osProfile"]["adminPassword"]
    assert len(password) >= 24
    token = world.stack.user_credential(APP_CLIENT_ID).get_token("https://management.azure.com/.default").token
    assert JWT.fullmatch(token)  # what a token looks like, so the pattern below can find one

    host = world.stack.host
    seen = {
        "start answer": response.text,
        "summary": world.api("GET", f"migrations/{instance}").text,
        "list": world.api("GET", "migrations").text,
        "durable status with history": json.dumps(host.status(instance, show_history=True, show_history_output=True)),
        "version tags": json.dumps(world.tags_of(output["versionId"])),
        "host log": log.read_bytes()[log_start:].decode(errors="replace"),
    }
    assert "boot-test" in seen["durable status with history"]  # the history is there to be searched
    assert f"started migration {instance}" in seen["host log"]  # and so are the app's own log lines
    for where, text in seen.items():
        assert password not in text, where
        assert not JWT.search(text), where
