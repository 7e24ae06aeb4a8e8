"""The version's safety profile (issue 15, item 4): allowDeletionOfReplicatedLocations at creation, and
blockDeletionBeforeEndOfLife (on by default with an end of life) once the version is validated, so that a failed
version can still be removed; when Azure refuses to delete a failed version, the outcome says why."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.world import GALLERY, SUB, World, definition_id, gallery, image, image_id

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

END_OF_LIFE = "2031-01-01T00:00:00Z"


def version_record(world: World, name: str) -> dict[str, Any]:
    wanted = f"{definition_id(name)}/versions/1.0.0".lower()
    return next(
        r
        for r in world.stack.arm.resources("Microsoft.Compute/galleries/images/versions")
        if r["body"]["id"].lower() == wanted
    )


def test_an_end_of_life_blocks_deletion_of_the_validated_version_by_default(world: World) -> None:
    world.seed(gallery(), image("eol-1"))
    response = world.start_http({"sourceImageId": image_id("eol-1"), "galleryId": GALLERY, "endOfLife": END_OF_LIFE})
    instance = str(response.json()["id"])
    world.hold_in_replication(instance)
    # Created with the block explicitly off (a failed version must stay removable; gallery api-version 2026-03-03
    # would default it on), and Azure's default for regions.
    created = version_record(world, "eol-1")["body"]["properties"]["safetyProfile"]
    assert (created["allowDeletionOfReplicatedLocations"], created["blockDeletionBeforeEndOfLife"]) == (False, False)
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded", output

    safety = version_record(world, "eol-1")["body"]["properties"]["safetyProfile"]
    assert safety["blockDeletionBeforeEndOfLife"] is True
    assert safety["allowDeletionOfReplicatedLocations"] is False
    # And Azure (the emulator) now refuses to delete it before its end of life.
    versions = world.stack.compute(SUB).gallery_image_versions
    with pytest.raises(Exception, match="OperationNotAllowed"):
        versions.begin_delete("rg-gallery", "corp_gallery", "eol-1", "1.0.0")


def test_the_tags_choose_the_safety_profile(world: World) -> None:
    world.seed(gallery(), image("eol-2"))
    instance = world.tag_for_migration(
        image_id("eol-2"),
        **{
            "migrate-end-of-life": "2031-01-01",
            "migrate-block-deletion-before-end-of-life": "false",
            "migrate-allow-deletion-of-replicated-locations": "true",
        },
    )
    output = world.finish(instance)["output"]
    assert output["outcome"] == "succeeded", output
    safety = version_record(world, "eol-2")["body"]["properties"]["safetyProfile"]
    assert safety.get("blockDeletionBeforeEndOfLife") in (None, False)
    assert safety["allowDeletionOfReplicatedLocations"] is True


def test_a_block_without_an_end_of_life_is_refused_up_front(world: World) -> None:
    world.seed(gallery(), image("eol-3"))
    response = world.start_http(
        {"sourceImageId": image_id("eol-3"), "galleryId": GALLERY, "blockDeletionBeforeEndOfLife": True}
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["blockDeletionBeforeEndOfLife"]


def test_a_failed_version_azure_refuses_to_delete_is_kept_and_the_outcome_says_why(world: World) -> None:
    """A policy blocks the version's deletion while it replicates, then a region keeps failing: the version stays
    (the app never clears the block), the source stays, and the outcome explains the refusal."""
    world.seed(gallery(), image("eol-4"))
    world.stack.arm.add_fault(kind="replication", region="eastus", mode="fail")
    response = world.start_http(
        {
            "sourceImageId": image_id("eol-4"),
            "galleryId": GALLERY,
            "endOfLife": END_OF_LIFE,
            "targetRegions": [{"name": "eastus"}],
        }
    )
    instance = str(response.json()["id"])
    world.hold_in_replication(instance)
    policy: Any = {"properties": {"safetyProfile": {"blockDeletionBeforeEndOfLife": True}}}
    world.stack.compute(SUB).gallery_image_versions.begin_update("rg-gallery", "corp_gallery", "eol-4", "1.0.0", policy)
    world.stack.host.clock(auto_advance=True)
    output = world.finish(instance)["output"]

    assert (output["outcome"], output["error"]["code"]) == ("failed", "ReplicationFailed"), output
    assert output["versionRemoved"] is False
    assert "Azure refused to delete it" in output["versionKeptReason"]
    assert "blocks deletion before its end of life" in output["versionKeptReason"]
    assert world.versions_of("eol-4") == ["1.0.0"]
    assert world.exists(image_id("eol-4"))
