"""The real SDK clients against the emulator process: identity, auth, images, galleries, definitions, versions."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient, models

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, IMAGE_ID, RG, SCOPE, SUB
from tests.emulator.helpers import arm_error, definition, version


def test_default_credential_gets_a_token_and_lists_images(arm: str, control: EmulatorControl) -> None:
    client = ComputeManagementClient(DefaultAzureCredential(), SUB, base_url=arm, credential_scopes=SCOPE)
    names = [i.name for i in client.images.list_by_resource_group(RG)]
    assert names == ["ubuntu-web-01"]
    image = client.images.get(RG, "ubuntu-web-01")
    assert image.storage_profile.data_disks[0].disk_size_gb == 64
    assert image.hyper_v_generation == "V2"


def test_arm_call_without_token_is_401_with_arm_body(arm: str, control: EmulatorControl) -> None:
    resp = requests.get(
        f"{arm}/subscriptions/{SUB}/resourceGroups/{RG}?api-version=2025-04-01",
        verify=control.info["caBundle"],
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "AuthenticationFailed"
    assert resp.json()["error"]["message"] == "Authentication failed. The 'Authorization' header is missing."
    assert resp.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_gallery_definition_version_with_sdk_poller(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    control.configure({"replication": {"fixedSeconds": 0, "queuedSeconds": 0}})
    gallery = compute.galleries.get(RG, GALLERY)
    assert gallery.provisioning_state == "Succeeded"
    created = compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
    assert created.provisioning_state == "Succeeded"
    assert created.features == [models.GalleryImageFeature(name="SecurityType", value="TrustedLaunchSupported")]
    ver = compute.gallery_image_versions.begin_create_or_update(RG, GALLERY, "web", "1.0.0", version()).result()
    assert ver.provisioning_state == "Succeeded"
    assert ver.storage_profile.source.id == IMAGE_ID
    assert [(d.lun, d.size_in_gb) for d in ver.storage_profile.data_disk_images] == [(0, 64)]
    got = compute.gallery_image_versions.get(RG, GALLERY, "web", "1.0.0", expand="ReplicationStatus")
    assert got.replication_status.aggregated_state == "Completed"
    assert [(s.region, s.state, s.progress) for s in got.replication_status.summary] == [
        ("West US 2", "Completed", 100)
    ]


def test_missing_image_is_resource_not_found(compute: ComputeManagementClient, control: EmulatorControl) -> None:
    with pytest.raises(ResourceNotFoundError) as e:
        compute.images.get(RG, "nope")
    assert arm_error(e.value)[0] == "ResourceNotFound"
    assert arm_error(e.value)[1].startswith(
        "The Resource 'Microsoft.Compute/images/nope' under resource group 'demo-rg' was not found."
    )


def test_unknown_api_version_is_refused(
    arm: str, control: EmulatorControl, credential: ManagedIdentityCredential
) -> None:
    token = credential.get_token(*SCOPE).token
    resp = requests.get(
        f"{arm}{IMAGE_ID}?api-version=2099-01-01",
        headers={"Authorization": f"Bearer {token}"},
        verify=control.info["caBundle"],
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "NoRegisteredProviderFound"
    message = resp.json()["error"]["message"]  # ARM's form: oldest first, then the locations
    assert message.startswith("No registered resource provider found for location 'westus2' and API version")
    assert "The supported api-versions are '2021-03-01, 2021-04-01, " in message
    assert "2026-04-01'. The supported locations are 'australiacentral, " in message


ASYNC_CLIENT = """
import asyncio, sys
from azure.identity.aio import DefaultAzureCredential
from azure.mgmt.compute.aio import ComputeManagementClient

async def names() -> list[str]:
    arm, sub, rg, scope = sys.argv[1:5]
    async with DefaultAzureCredential() as cred, ComputeManagementClient(
        cred, sub, base_url=arm, credential_scopes=[scope]
    ) as client:
        return [str(i.name) async for i in client.images.list_by_resource_group(rg)]

print(",".join(asyncio.run(names())))
"""


def test_async_clients_work_too(arm: str, control: EmulatorControl) -> None:
    """The aio SDK (aiohttp transport) trusts the CA through SSL_CERT_FILE and gets tokens the same way. In a
    process of its own: aiohttp reads SSL_CERT_FILE once, when it is imported, so the variable must be set when
    the process starts (as ``client_env()`` is meant to be used)."""
    done = subprocess.run(
        [sys.executable, "-c", ASYNC_CLIENT, arm, SUB, RG, SCOPE[0]],
        env={**os.environ, **control.client_env()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ubuntu-web-01"), done.stderr
