"""Replication driven by the virtual clock: per-region progress, the SDK poller finishing only when replication
does, replication faults, and a source image deleted mid-replication (Full mode)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller
from azure.mgmt.compute import ComputeManagementClient, models

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, IMAGE_ID, RG
from tests.emulator.helpers import arm_error, definition, version, version_body, wait_for


@pytest.fixture
def web_definition(compute: ComputeManagementClient, control: EmulatorControl) -> str:
    compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
    return "web"


def summary(compute: ComputeManagementClient, version: str = "1.0.0") -> list[tuple[str, str, int]]:
    got = compute.gallery_image_versions.get(RG, GALLERY, "web", version, expand="ReplicationStatus")
    return [(s.region, s.state, s.progress) for s in got.replication_status.summary]


def test_one_hour_replication_progresses_with_the_clock(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 3600, "queuedSeconds": 0}})
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    assert summary(compute) == [("West US 2", "Replicating", 0), ("East US", "Replicating", 0)]
    control.advance(1800)
    assert summary(compute) == [("West US 2", "Replicating", 50), ("East US", "Replicating", 50)]
    got = compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0")
    assert got.provisioning_state == "Creating"
    assert not poller.done()
    control.advance(1800)
    result = poller.result(timeout=30)
    assert result.provisioning_state == "Succeeded"
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Completed", 100)]
    op = next(o for o in control.operations() if o["resourceId"].endswith("/versions/1.0.0"))
    assert op["status"] == "Succeeded"
    assert op["endTime"] == control.resources("Microsoft.Compute/galleries/images/versions")[0]["meta"][
        "terminalAt"
    ].replace("+00:00", "Z")


def test_an_update_stays_updating_for_its_minimum_time(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    """As Azure (recorded traffic: 150.2 s twice), a version update that adds no region stays Updating for
    ``lro.versionUpdateSeconds``; the replication's terminal time stays when replication ended."""
    control.configure({"replication": {"fixedSeconds": 60, "queuedSeconds": 0}, "lro": {"versionUpdateSeconds": 150.2}})
    compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, web_definition, "1.0.0", version())
    control.advance(60)
    terminal = control.resources("Microsoft.Compute/galleries/images/versions")[0]["meta"]["terminalAt"]
    update: Any = {"properties": {"publishingProfile": {"excludeFromLatest": True}}}
    poller = compute.gallery_image_versions.begin_update(RG, GALLERY, web_definition, "1.0.0", update)
    control.advance(150)
    assert compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0").provisioning_state == "Updating"
    assert not poller.done()
    control.advance(0.2)
    assert poller.result(timeout=30).provisioning_state == "Succeeded"
    assert control.resources("Microsoft.Compute/galleries/images/versions")[0]["meta"]["terminalAt"] == terminal


def test_duration_model_uses_size_replicas_and_region_factor(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    # image = 30 GiB OS + 64 GiB data = 94 GiB -> (100 + 1 * 94) * factor * (1 + 0.5 * (replicas - 1))
    control.configure(
        {
            "replication": {
                "baseSeconds": 100,
                "secondsPerGib": 1,
                "replicaFactor": 0.5,
                "queuedSeconds": 10,
                "regionFactors": {"eastus": 2.0},
            }
        }
    )
    body = version_body(("westus2", "eastus"))
    body["properties"]["publishingProfile"]["targetRegions"][1]["regionalReplicaCount"] = 3
    compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", models.GalleryImageVersion(body)
    )
    control.advance(10)  # queued
    plan = control.resources("Microsoft.Compute/galleries/images/versions")[0]["meta"]["plan"]
    assert [(p["key"], p["duration"]) for p in plan] == [("westus2", 194.0), ("eastus", 776.0)]
    control.advance(194)
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Replicating", 25)]


def test_replication_fault_fails_one_region_and_the_lro(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    control.add_fault(kind="replication", region="eastus", mode="fail", versionPattern=r"/versions/1\.0\.0$")
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    control.advance(600)
    with pytest.raises(HttpResponseError) as e:
        poller.result(timeout=30)
    assert arm_error(e.value)[0] == "ReplicationFailed"
    assert "region 'eastus'" in arm_error(e.value)[1]
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Failed", 50)]
    assert compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0").provisioning_state == "Failed"


def test_stalled_replication_never_completes(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, web_definition, "1.0.0", version())
    control.add_fault(kind="replication", region="westus2", mode="stall", atProgress=60)
    control.advance(86400)
    assert summary(compute) == [("West US 2", "Replicating", 60)]
    assert compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0").provisioning_state == "Creating"


def test_deleting_the_source_mid_replication_fails_full_mode(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    poller = compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, web_definition, "1.0.0", version())
    control.advance(300)
    compute.images.begin_delete(RG, "ubuntu-web-01").result()
    with pytest.raises(HttpResponseError) as e:
        poller.result(timeout=30)
    assert (
        f"The source image '{IMAGE_ID}' was deleted while the image version was being replicated"
        in arm_error(e.value)[1]
    )
    assert summary(compute) == [("West US 2", "Failed", 50)]


def test_virtual_clock_is_monotonic(control: EmulatorControl) -> None:
    now = control.now()
    assert control.advance(to="2000-01-01T00:00:00Z") == now
    assert control.advance(60) > now
    wait_for(lambda: control.health()["status"] == "ok", "health")


def test_advance_clock_on_poll_lets_the_sdk_poller_wait_out_replication(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    """The benchmark baseline: each poll of the operation moves virtual time (here 30 s, Retry-After stays 0)."""
    control.configure(
        {"replication": {"fixedSeconds": 600, "queuedSeconds": 0}, "lro": {"advanceClockOnPollSeconds": 30}}
    )
    start = control.now()
    poller = compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(), polling_interval=0
    )
    assert poller.result(timeout=60).provisioning_state == "Succeeded"
    # a poller an earlier test left running (azure-core polls on its own thread) gets 404 since the reset: not ours
    polls = [p for p in control.requests(operation_id="GalleryOperations_Get") if p["status"] == 200]
    assert (control.now() - start).total_seconds() == 600
    assert [p["responseBody"]["status"] for p in polls][-1] == "Succeeded"
    assert len(polls) >= 20  # 20 advancing polls of 30 s, and the SDK may read the final state once more


def ten_minute_version(
    compute: ComputeManagementClient, control: EmulatorControl, definition_name: str, **pp: Any
) -> LROPoller[models.GalleryImageVersion]:
    """Start a 10-minute replication of 1.0.0 and let 2 minutes (20 %) pass."""
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    poller = compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, definition_name, "1.0.0", version(**pp))
    control.advance(120)
    return poller


def test_changing_the_source_mid_replication_fails_full_mode(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    poller = ten_minute_version(compute, control, web_definition)
    image = compute.images.get(RG, "ubuntu-web-01")
    image.storage_profile.data_disks[0].disk_size_gb = 128
    compute.images.begin_create_or_update(RG, "ubuntu-web-01", image).result()
    with pytest.raises(HttpResponseError) as e:
        poller.result(timeout=30)
    assert "was modified while the image version was being replicated" in arm_error(e.value)[1]
    assert summary(compute) == [("West US 2", "Failed", 20)]


def test_tag_changes_do_not_disturb_replication(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    poller = ten_minute_version(compute, control, web_definition)
    image = compute.images.get(RG, "ubuntu-web-01")
    image.tags = {"migration-status": "running"}
    compute.images.begin_create_or_update(RG, "ubuntu-web-01", image).result()
    control.advance(480)
    assert poller.result(timeout=30).provisioning_state == "Succeeded"


def test_shallow_mode_keeps_referencing_the_source(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    poller = ten_minute_version(compute, control, web_definition, replicationMode="Shallow")
    compute.images.begin_delete(RG, "ubuntu-web-01").result()
    control.advance(480)
    result = poller.result(timeout=30)
    assert (result.provisioning_state, result.publishing_profile.replication_mode) == ("Succeeded", "Shallow")


# --- updates of a version's target regions (regional repair) -----------------------------------------------------
def regions_update(*regions: str, **safety: Any) -> Any:
    body: dict[str, Any] = {
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": r, "regionalReplicaCount": 1} for r in regions]},
        }
    }
    if safety:
        body["properties"]["safetyProfile"] = safety
    return body


def plan_entries(control: EmulatorControl) -> list[dict[str, Any]]:
    return list(control.resources("Microsoft.Compute/galleries/images/versions")[0]["meta"]["plan"])


def test_an_update_listing_a_failed_region_copies_it_again_and_keeps_completed_regions(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    """A region that failed once (``times: 1``): re-sending the complete target regions submits its copy again; the
    completed region keeps its plan entry (recorded: an update that adds a region leaves West US Completed and takes
    the new region's copy time, test_image_update_add_set.yaml #55); Failed -> Updating -> Succeeded."""
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}, "lro": {"versionUpdateSeconds": 150}})
    fault = control.add_fault(kind="replication", region="eastus", mode="fail", times=1)
    compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    control.advance(600)
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Failed", 50)]
    completed = plan_entries(control)[0]
    poller = compute.gallery_image_versions.begin_update(
        RG, GALLERY, web_definition, "1.0.0", regions_update("westus2", "eastus")
    )
    assert compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0").provisioning_state == "Updating"
    assert plan_entries(control)[0] == completed
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Replicating", 0)]
    control.advance(600)
    assert poller.result(timeout=30).provisioning_state == "Succeeded"
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Completed", 100)]
    assert next(f for f in control.faults() if f["id"] == fault["id"])["hits"] == 1


def test_a_permanent_regional_failure_fails_every_copy(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    control.add_fault(kind="replication", region="eastus", mode="fail")
    compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    control.advance(600)
    poller = compute.gallery_image_versions.begin_update(
        RG, GALLERY, web_definition, "1.0.0", regions_update("westus2", "eastus")
    )
    control.advance(600)
    with pytest.raises(HttpResponseError) as e:
        poller.result(timeout=30)
    assert arm_error(e.value)[0] == "ReplicationFailed"
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Failed", 50)]


def test_a_stalled_region_is_submitted_again_by_an_update_that_lists_it(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    control.add_fault(kind="replication", region="eastus", mode="stall", atProgress=60, times=1)
    compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    control.advance(3600)
    assert summary(compute) == [("West US 2", "Completed", 100), ("East US", "Replicating", 60)]
    poller = compute.gallery_image_versions.begin_update(
        RG, GALLERY, web_definition, "1.0.0", regions_update("westus2", "eastus")
    )
    control.advance(600)
    assert poller.result(timeout=30).provisioning_state == "Succeeded"


def test_removing_a_region_needs_the_safety_profile_to_allow_it(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    """Azure refuses to drop a target region unless safetyProfile.allowDeletionOfReplicatedLocations is true
    (BadRequest, quoted in hashicorp/terraform-provider-azurerm#21999); an update without target regions keeps them."""
    control.configure({"replication": {"fixedSeconds": 60, "queuedSeconds": 0}})
    compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    control.advance(60)
    with pytest.raises(HttpResponseError) as e:
        compute.gallery_image_versions.begin_update(RG, GALLERY, web_definition, "1.0.0", regions_update("westus2"))
    code, message = arm_error(e.value)
    assert (e.value.status_code, code) == (400, "BadRequest")
    assert "Deletion of previously replicated locations is not allowed" in message
    keep: Any = {"properties": {"safetyProfile": {"blockDeletionBeforeEndOfLife": False}}}
    poller = compute.gallery_image_versions.begin_update(RG, GALLERY, web_definition, "1.0.0", keep)
    control.advance(200)
    assert [r.name for r in poller.result(timeout=30).publishing_profile.target_regions] == ["West US 2", "East US"]
    allowed = regions_update("westus2", allowDeletionOfReplicatedLocations=True)
    poller = compute.gallery_image_versions.begin_update(RG, GALLERY, web_definition, "1.0.0", allowed)
    control.advance(200)
    assert [r.name for r in poller.result(timeout=30).publishing_profile.target_regions] == ["West US 2"]
    assert summary(compute) == [("West US 2", "Completed", 100)]


@pytest.mark.parametrize(
    ("curve", "reported"),
    [
        # (share of the copy time elapsed, progress Azure would report) for each curve
        ("linear", [(0.25, 25), (0.5, 50), (0.9, 90)]),
        ("slow-start", [(0.25, 1), (0.5, 12), (0.9, 72)]),
        ("stall-burst", [(0.15, 15), (0.5, 30), (0.79, 30), (0.95, 82)]),
        ("jump", [(0.25, 0), (0.5, 0), (0.99, 0)]),
    ],
)
def test_progress_follows_the_chosen_curve_and_completes_on_time(
    compute: ComputeManagementClient,
    control: EmulatorControl,
    web_definition: str,
    curve: str,
    reported: list[tuple[float, int]],
) -> None:
    control.configure({"replication": {"fixedSeconds": 1000, "queuedSeconds": 0, "curve": curve}})
    compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, web_definition, "1.0.0", version())
    elapsed = 0.0
    for share, progress in reported:
        control.advance(share * 1000 - elapsed)
        elapsed = share * 1000
        assert summary(compute) == [("West US 2", "Replicating", progress)], (curve, share)
    control.advance(1000 - elapsed)
    assert summary(compute) == [("West US 2", "Completed", 100)]


def test_a_region_can_have_its_own_curve(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    control.configure({"replication": {"fixedSeconds": 1000, "queuedSeconds": 0, "regionCurves": {"eastus": "jump"}}})
    compute.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, web_definition, "1.0.0", version(("westus2", "eastus"))
    )
    control.advance(600)
    assert summary(compute) == [("West US 2", "Replicating", 60), ("East US", "Replicating", 0)]


def test_a_stall_on_a_curve_freezes_where_the_curve_reaches_it(
    compute: ComputeManagementClient, control: EmulatorControl, web_definition: str
) -> None:
    """The injected stall strikes at its progress (60 %), which a slow start reaches late (84 % of the time)."""
    control.configure({"replication": {"fixedSeconds": 1000, "queuedSeconds": 0, "curve": "slow-start"}})
    control.add_fault(kind="replication", region="westus2", mode="stall")
    compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, web_definition, "1.0.0", version())
    control.advance(830)
    assert summary(compute) == [("West US 2", "Replicating", 57)]
    control.advance(5000)
    assert summary(compute) == [("West US 2", "Replicating", 60)]
