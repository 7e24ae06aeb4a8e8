"""Long-running operation headers over raw HTTP, as Azure sends them (third_party/azure-recordings): a PUT answers
with ``Azure-AsyncOperation`` only, a DELETE with ``Azure-AsyncOperation`` and ``Location``, and nothing carries
``Retry-After`` unless ``lro.retryAfterSeconds`` asks for it."""

from __future__ import annotations

import pytest
from azure.mgmt.compute import ComputeManagementClient

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, RG, RG_ID
from tests.emulator.helpers import Arm, definition, version_body

VERSION_URL = f"{RG_ID}/providers/Microsoft.Compute/galleries/{GALLERY}/images/web/versions/1.0.0"


@pytest.fixture
def http(arm: str, control: EmulatorControl, compute: ComputeManagementClient) -> Arm:
    compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    return Arm(arm, control)


def test_put_answers_with_azure_asyncoperation_only(http: Arm, control: EmulatorControl) -> None:
    """As Azure answers a version PUT (recorded traffic): 201 Creating, ``Azure-AsyncOperation``, no ``Location``,
    no ``Retry-After``; the status polls carry no ``Retry-After`` either."""
    put = http("PUT", VERSION_URL, version_body())
    assert (put.status_code, put.json()["properties"]["provisioningState"]) == (201, "Creating")
    assert ["Azure-AsyncOperation" in put.headers, "Location" in put.headers, "Retry-After" in put.headers] == [
        True,
        False,
        False,
    ]
    status = http("GET", put.headers["Azure-AsyncOperation"])
    assert (status.status_code, status.json()["status"], "Retry-After" in status.headers) == (200, "InProgress", False)
    control.advance(600)
    assert http("GET", put.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"


def test_delete_answers_with_both_urls(http: Arm, control: EmulatorControl) -> None:
    """A version DELETE answers 202 with ``Azure-AsyncOperation`` and ``Location`` (recorded traffic); the
    ``Location`` monitor answers 202 while the delete runs (``lro.versionDeleteSeconds``), then 200."""
    http("PUT", VERSION_URL, version_body())
    control.advance(600)
    control.configure({"lro": {"versionDeleteSeconds": 113.1}})
    delete = http("DELETE", VERSION_URL)
    assert (delete.status_code, "Retry-After" in delete.headers) == (202, False)
    monitor_url = delete.headers["Location"]
    assert monitor_url.startswith(delete.headers["Azure-AsyncOperation"])
    assert http("GET", monitor_url).status_code == 202
    control.advance(113.1)
    assert http("GET", monitor_url).status_code == 200
    assert http("GET", delete.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"


def test_retry_after_when_configured(http: Arm, control: EmulatorControl) -> None:
    """``lro.retryAfterSeconds`` > 0 (not Azure's behaviour; a knob): ``Retry-After`` on the first answer and on
    every status answer while in progress, none once it is over."""
    control.configure({"lro": {"retryAfterSeconds": 7}})
    put = http("PUT", VERSION_URL, version_body())
    assert (put.status_code, put.headers["Retry-After"]) == (201, "7")
    status_url = put.headers["Azure-AsyncOperation"]
    monitor_url = status_url + "&monitor=true"
    for _ in range(2):
        status = http("GET", status_url)
        assert (status.status_code, status.json()["status"], status.headers["Retry-After"]) == (200, "InProgress", "7")
    monitor = http("GET", monitor_url)
    assert (monitor.status_code, monitor.headers["Retry-After"], monitor.headers["Location"]) == (202, "7", monitor_url)
    control.advance(600)
    status = http("GET", status_url)
    assert (status.json()["status"], "Retry-After" in status.headers) == ("Succeeded", False)
    monitor = http("GET", monitor_url)
    assert (monitor.status_code, monitor.json()["name"], "Retry-After" in monitor.headers) == (200, "1.0.0", False)
