"""The ARM JSON mappers read the shapes the official x-ms-examples document."""

from migration import arm_json
from migration.source import HyperVGeneration, OsState, OsType
from tests.specs import GALLERY_EXAMPLES, IMAGE_EXAMPLES, SCALE_SET_EXAMPLES, response_body


def test_managed_image_example() -> None:
    body = response_body(IMAGE_EXAMPLES / "Image_Get.json")
    image = arm_json.source_image(body)
    assert image.name == body["name"]
    assert image.os_type == OsType.WINDOWS
    assert image.os_state == OsState.GENERALIZED
    assert image.hyper_v_generation is None
    assert image.effective_generation == HyperVGeneration.V1
    assert image.os_disk.size_gb == body["properties"]["storageProfile"]["osDisk"]["diskSizeGB"]
    assert [d.lun for d in image.data_disks] == [d["lun"] for d in body["properties"]["storageProfile"]["dataDisks"]]
    assert len(image.fingerprint) == 32


def test_fingerprint_ignores_tags_but_not_properties() -> None:
    body = response_body(IMAGE_EXAMPLES / "Image_Get.json")
    base = arm_json.source_image(body).fingerprint
    assert arm_json.source_image({**body, "tags": {"migration-status": "running"}}).fingerprint == base
    changed = {**body, "properties": {**body["properties"], "hyperVGeneration": "V2"}}
    assert arm_json.source_image(changed).fingerprint != base


def test_definition_example() -> None:
    body = response_body(GALLERY_EXAMPLES / "GalleryImage_Get.json")
    facts = arm_json.definition_facts(body)
    props = body["properties"]
    assert (facts.os_type.value, facts.os_state.value) == (props["osType"], props["osState"])
    assert facts.publisher == props["identifier"]["publisher"]


def test_definition_with_security_feature() -> None:
    body = response_body(GALLERY_EXAMPLES / "GalleryImage_UpdateFeatures.json")
    assert arm_json.definition_facts(body).security_type == "TrustedLaunch"


def test_version_with_replication_status_example() -> None:
    body = response_body(GALLERY_EXAMPLES / "GalleryImageVersion_Get_WithReplicationStatus.json")
    snapshot = arm_json.replication_snapshot(body)
    assert snapshot.completed
    assert [r.region for r in snapshot.regions] == ["westus", "eastus"]
    facts = arm_json.version_facts(body)
    assert facts.source_id is not None
    assert facts.source_id.endswith("/Microsoft.Compute/images/{imageName}")
    assert facts.os_disk is not None
    assert facts.os_disk.size_gb == 10
    assert [(d.lun, d.size_gb) for d in facts.data_disks] == [(1, 10)]
    assert facts.target_regions == ["westus", "eastus"]  # Azure's display names, normalized


def test_versions_list_example() -> None:
    page = response_body(GALLERY_EXAMPLES / "GalleryImageVersion_ListByGalleryImage.json")
    names = [arm_json.version_facts(v).name for v in page["value"]]
    assert names


def test_scale_set_image_reference_example() -> None:
    from tests.specs import example

    body = example(SCALE_SET_EXAMPLES / "VirtualMachineScaleSet_Create_FromACustomImage.json")["responses"]["200"][
        "body"
    ]
    reference = arm_json.scale_set_image_reference(body)
    assert reference is not None
    assert "/Microsoft.Compute/images/" in reference
