"""Plain-data builders for domain tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from migration.request import MigrationRequest, MigrationRequestBody, resolve_request
from migration.settings import Settings
from migration.source import Disk, HyperVGeneration, OsState, OsType, SourceImage

SUB = "00000000-0000-0000-0000-000000000001"
IMAGE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/ubuntu-base"
GALLERY_ID = f"/subscriptions/{SUB}/resourceGroups/rg-gallery/providers/Microsoft.Compute/galleries/corpGallery"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def settings(**overrides: Any) -> Settings:
    return Settings.model_validate(overrides)


def source(**overrides: Any) -> SourceImage:
    data: dict[str, Any] = {
        "id": IMAGE_ID,
        "name": "ubuntu-base",
        "location": "westus2",
        "provisioning_state": "Succeeded",
        "os_type": OsType.LINUX,
        "os_state": OsState.GENERALIZED,
        "hyper_v_generation": HyperVGeneration.V2,
        "os_disk": Disk(size_gb=30),
        "data_disks": [Disk(lun=0, size_gb=64)],
        "fingerprint": "f1",
    }
    data.update(overrides)
    return SourceImage(**data)


def request(**body: Any) -> MigrationRequest:
    payload: dict[str, Any] = {"source_image_id": IMAGE_ID, "gallery_id": GALLERY_ID}
    payload.update(body)
    return resolve_request(MigrationRequestBody.model_validate(payload), settings(), now=NOW)
