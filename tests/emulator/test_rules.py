"""Each model rule refused with ARM's status, code and message, through the real SDK."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import ComputeManagementClient, models

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, IMAGE_ID, RG, RG_ID
from tests.emulator.helpers import Arm, arm_error, definition, version, version_body


def refused(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(HttpResponseError) as e:
        call()
    code, message = arm_error(e.value)
    return int(e.value.status_code or 0), code, message


@pytest.fixture
def web(compute: ComputeManagementClient, control: EmulatorControl) -> ComputeManagementClient:
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
    return compute


def put_image(compute: ComputeManagementClient, name: str, location: str = "westus2", data_gib: int = 64) -> str:
    body = {
        "location": location,
        "properties": {
            "hyperVGeneration": "V2",
            "storageProfile": {
                "osDisk": {"osType": "Linux", "osState": "Generalized", "diskSizeGB": 30},
                "dataDisks": [{"lun": 0, "diskSizeGB": data_gib}],
            },
        },
    }
    return str(compute.images.begin_create_or_update(RG, name, models.Image(body)).result().id)


@pytest.mark.parametrize("name", ["1.0", "1.0.0.0", "a.b.c", "1.0.2147483648"])
def test_version_name_must_be_major_minor_patch_int32(web: ComputeManagementClient, name: str) -> None:
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", name, version())
    )
    assert (status, code) == (400, "InvalidParameter")
    assert message.startswith(f"The gallery image version name '{name}' is invalid.")


def test_largest_int32_version_is_accepted(web: ComputeManagementClient) -> None:
    name = "2147483647.0.0"
    poller = web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", name, version())
    assert web.gallery_image_versions.get(RG, GALLERY, "web", name).provisioning_state == "Creating"
    assert not poller.done()


@pytest.mark.parametrize("name", ["-web", "web-", "w" * 81, "we b"])
def test_definition_name_pattern_and_length(
    compute: ComputeManagementClient, control: EmulatorControl, name: str
) -> None:
    status, code, message = refused(
        lambda: compute.gallery_images.begin_create_or_update(RG, GALLERY, name, definition())
    )
    assert (status, code) == (400, "InvalidParameter")
    assert f"The gallery image name '{name}' is invalid." in message


def test_definition_requires_identifier(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    body = definition()
    body.identifier.publisher = ""
    status, code, message = refused(lambda: compute.gallery_images.begin_create_or_update(RG, GALLERY, "d", body))
    assert (status, code) == (400, "InvalidParameter")
    assert message == "Required parameter 'galleryImage.properties.identifier.publisher' is missing (null)."


def test_definition_os_type_is_immutable(web: ComputeManagementClient) -> None:
    status, code, message = refused(
        lambda: web.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition(osType="Windows"))
    )
    assert (status, code, message) == (
        400,
        "PropertyChangeNotAllowed",
        "Changing property 'galleryImage.properties.osType' is not allowed.",
    )


def test_identifier_is_unique_in_the_gallery(web: ComputeManagementClient) -> None:
    status, code, message = refused(
        lambda: web.gallery_images.begin_create_or_update(RG, GALLERY, "web2", definition())
    )
    assert (status, code) == (409, "Conflict")
    assert "is already used by gallery image 'web'" in message


@pytest.mark.parametrize(
    ("overrides", "what"),
    [
        ({"osType": "Windows"}, "OS type 'Linux'"),
        ({"osState": "Specialized"}, "OS state 'Generalized'"),
        ({"hyperVGeneration": "V1"}, "Hyper-V generation 'V2'"),
    ],
)
def test_definition_must_fit_the_source(
    compute: ComputeManagementClient, control: EmulatorControl, overrides: dict[str, str], what: str
) -> None:
    ident = {"publisher": "p", "offer": "o", "sku": "s"}
    compute.gallery_images.begin_create_or_update(
        RG, GALLERY, "odd", definition(identifier=ident, **overrides)
    ).result()
    status, code, message = refused(
        lambda: compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, "odd", "1.0.0", version())
    )
    assert (status, code) == (400, "InvalidParameter")
    assert f"The {what} of the source image '{IMAGE_ID}' does not match" in message


def test_source_image_must_exist(web: ComputeManagementClient) -> None:
    missing = f"{RG_ID}/providers/Microsoft.Compute/images/ghost"
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version(source=missing))
    )
    assert (status, code, message) == (404, "NotFound", f"The source image '{missing}' could not be found.")


def test_source_must_be_in_the_version_region(web: ComputeManagementClient) -> None:
    source = put_image(web, "east-image", location="eastus")
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version(source=source))
    )
    assert (status, code) == (400, "InvalidParameter")
    # Azure's text (Learn, "Troubleshoot shared image galleries")
    assert message == (
        f"Source {source} is not found. Please check source exists, and is in the same region as gallery image "
        "version being created."
    )


def test_target_regions_must_include_the_version_location(web: ComputeManagementClient) -> None:
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version(("eastus",)))
    )
    assert (status, code) == (400, "InvalidParameter")
    assert message == (
        "Gallery image version publishing profile regions 'East US' must contain the location of image version "
        "'westus2'."
    )


OTHER_SUB = "22222222-0000-4000-8000-000000000000"


@pytest.mark.parametrize("encrypted", [False, True])
def test_a_source_in_another_subscription_is_accepted_unless_encrypted(
    web: ComputeManagementClient, control: EmulatorControl, encrypted: bool
) -> None:
    """Learn, "Troubleshoot shared image galleries": "Encrypted source: '<id>' is in a different subscription ID
    than the current gallery image version subscription ...": another subscription of the tenant is fine otherwise."""
    group = f"/subscriptions/{OTHER_SUB}/resourceGroups/rg-other"
    os_disk: dict[str, Any] = {"osType": "Linux", "osState": "Generalized", "diskSizeGB": 30}
    if encrypted:
        os_disk["diskEncryptionSet"] = {"id": f"{group}/providers/Microsoft.Compute/diskEncryptionSets/des"}
    source = f"{group}/providers/Microsoft.Compute/images/elsewhere"
    body = {
        "hyperVGeneration": "V2",
        "storageProfile": {"osDisk": os_disk, "dataDisks": [{"lun": 0, "diskSizeGB": 64}]},
    }
    control.seed(
        {
            "subscriptions": [{"subscriptionId": OTHER_SUB}],
            "resourceGroups": [{"subscriptionId": OTHER_SUB, "name": "rg-other", "location": "westus2"}],
            "resources": [{"id": source, "location": "westus2", "properties": body}],
        }
    )
    create = lambda: web.gallery_image_versions.begin_create_or_update(  # noqa: E731
        RG, GALLERY, "web", "1.0.0", version(source=source)
    )
    if not encrypted:
        create()
        assert web.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0").storage_profile.source.id == source
        return
    status, code, message = refused(create)
    assert (status, code) == (400, "InvalidParameter")
    assert message.startswith(f"Encrypted source: '{source}' is in a different subscription ID than the current")


def test_data_disk_size_limit(web: ComputeManagementClient) -> None:
    source = put_image(web, "big-image", data_gib=2048)
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version(source=source))
    )
    assert (status, code) == (400, "InvalidParameter")
    assert message == (
        "The data disk at LUN 0 of the source image is 2048 GB; the maximum size of a data disk is 1023 GB."
    )


def test_storage_account_type_and_strategy_are_exclusive(web: ComputeManagementClient) -> None:
    body = version(storageAccountType="Standard_LRS", storageAccountStrategy="PreferStandard_ZRS")
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", body)
    )
    assert (status, code, message) == (
        400,
        "InvalidParameter",
        "storageAccountType and storageAccountStrategy cannot be specified together.",
    )


def test_second_version_from_a_source_still_replicating_is_refused(
    web: ComputeManagementClient, control: EmulatorControl
) -> None:
    web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version())
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.1", version())
    )
    assert (status, code) == (409, "Conflict")
    assert message.startswith(f"The source image '{IMAGE_ID}' is in use by another operation")
    control.advance(600)
    web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.1", version())
    assert web.gallery_image_versions.get(RG, GALLERY, "web", "1.0.1").provisioning_state == "Creating"


def test_source_and_storage_type_are_immutable_on_update(
    web: ComputeManagementClient, control: EmulatorControl
) -> None:
    web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version())
    control.advance(600)
    body = version_body()
    body["properties"]["publishingProfile"]["storageAccountType"] = "Premium_LRS"
    status, code, message = refused(
        lambda: web.gallery_image_versions.begin_create_or_update(
            RG, GALLERY, "web", "1.0.0", models.GalleryImageVersion(body)
        )
    )
    assert (status, code, message) == (
        400,
        "PropertyChangeNotAllowed",
        "Changing property 'galleryImageVersion.properties.publishingProfile.storageAccountType' is not allowed.",
    )


def test_definition_with_versions_cannot_be_deleted(web: ComputeManagementClient) -> None:
    web.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version())
    status, code, message = refused(lambda: web.gallery_images.begin_delete(RG, GALLERY, "web").result())
    assert (status, code, message) == (
        409,
        "CannotDeleteResource",
        "Can not delete resource before nested resources are deleted.",
    )
    status, code, _ = refused(lambda: web.galleries.begin_delete(RG, GALLERY).result())
    assert (status, code) == (409, "CannotDeleteResource")


def test_delete_version_then_definition(web: ComputeManagementClient, control: EmulatorControl) -> None:
    unblocked = version_body()
    unblocked["properties"]["safetyProfile"] = {"blockDeletionBeforeEndOfLife": False}  # 2026-03-03 defaults it on
    web.gallery_image_versions.begin_create_or_update(
        RG, GALLERY, "web", "1.0.0", models.GalleryImageVersion(unblocked)
    )
    control.advance(600)
    web.gallery_image_versions.begin_delete(RG, GALLERY, "web", "1.0.0").result()
    web.gallery_images.begin_delete(RG, GALLERY, "web").result()
    assert list(web.gallery_images.list_by_gallery(RG, GALLERY)) == []


def test_missing_resource_group_and_parent(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    status, code, message = refused(lambda: compute.galleries.get("nope-rg", GALLERY))
    assert (status, code, message) == (404, "ResourceGroupNotFound", "Resource group 'nope-rg' could not be found.")
    status, code, message = refused(lambda: compute.gallery_images.get(RG, "nogallery", "web"))
    assert (status, code) == (404, "ParentResourceNotFound")
    assert message == "Can not perform requested operation on nested resource. Parent resource 'nogallery' not found."


def test_image_os_type_enum_is_enforced(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    body = {
        "location": "westus2",
        "properties": {"storageProfile": {"osDisk": {"osType": "Plan9", "osState": "Generalized"}}},
    }
    status, code, message = refused(
        lambda: compute.images.begin_create_or_update(RG, "bad", models.Image(body)).result()
    )
    assert (status, code) == (400, "InvalidParameter")
    assert message.startswith("The value 'Plan9' of parameter 'properties.storageProfile.osDisk.osType' is not allowed")


@pytest.mark.parametrize("api_version", ["2026-03-03", "2025-03-03"])
def test_from_api_version_2026_03_03_a_new_version_is_blocked_from_deletion_for_six_months(
    web: ComputeManagementClient, arm: str, control: EmulatorControl, api_version: str
) -> None:
    """Azure/azure-cli vm/_breaking_change.py ("sig image-version create"): from gallery api-version 2026-03-03 a
    version defaults to an end of life 6 months after publishing and blockDeletionBeforeEndOfLife = true, unless
    the request sets them; Azure then refuses its deletion until that end of life."""
    http = Arm(arm, control)
    path = f"{RG_ID}/providers/Microsoft.Compute/galleries/{GALLERY}/images/web/versions/1.0.0"
    created = http("PUT", path, version_body(), api_version=api_version)
    assert created.status_code == 201, created.text
    control.advance(600)
    props = http("GET", path, api_version="2026-03-03").json()["properties"]
    if api_version < "2026-03-03":
        assert not props["safetyProfile"].get("blockDeletionBeforeEndOfLife")
        assert "endOfLifeDate" not in props["publishingProfile"]
        web.gallery_image_versions.begin_delete(RG, GALLERY, "web", "1.0.0").result()
        return
    assert props["safetyProfile"]["blockDeletionBeforeEndOfLife"] is True
    published = datetime.fromisoformat(props["publishingProfile"]["publishedDate"])
    end = datetime.fromisoformat(props["publishingProfile"]["endOfLifeDate"])
    assert (end.year * 12 + end.month) - (published.year * 12 + published.month) == 6
    assert (end.day, end.time()) == (published.day, published.time())
    status, code, message = refused(lambda: web.gallery_image_versions.begin_delete(RG, GALLERY, "web", "1.0.0"))
    assert (status, code) == (409, "OperationNotAllowed")
    assert "blockDeletionBeforeEndOfLife" in message
