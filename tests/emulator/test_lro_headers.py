"""Long-running operation headers over raw HTTP: ``Retry-After`` (``lro.retryAfterSeconds``) on the first response
and on every status response while the operation is in progress, as ARM passes on the RP's value; none once it is
over, and none at all when the setting is 0."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import ComputeManagementClient

from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, RG, RG_ID, SCOPE
from tests.emulator.helpers import definition, version_body

VERSION_URL = f"{RG_ID}/providers/Microsoft.Compute/galleries/{GALLERY}/images/web/versions/1.0.0"


class Arm:
    def __init__(self, arm: str, control: EmulatorControl):
        token = ManagedIdentityCredential().get_token(*SCOPE).token
        self.arm, self.verify = arm, str(control.info["caBundle"])
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, url: str, body: Any = None) -> requests.Response:
        url = url if url.startswith("https://") else f"{self.arm}{url}?api-version=2025-03-03"
        return requests.request(method, url, json=body, headers=self.headers, verify=self.verify, timeout=10)


@pytest.fixture
def http(arm: str, control: EmulatorControl, compute: ComputeManagementClient) -> Arm:
    compute.gallery_images.begin_create_or_update(RG, GALLERY, "web", definition()).result()
    control.configure({"replication": {"fixedSeconds": 600, "queuedSeconds": 0}})
    return Arm(arm, control)


def test_retry_after_on_every_response_while_in_progress(http: Arm, control: EmulatorControl) -> None:
    control.configure({"lro": {"retryAfterSeconds": 7}})
    put = http("PUT", VERSION_URL, version_body())
    assert (put.status_code, put.headers["Retry-After"]) == (201, "7")
    status_url, monitor_url = put.headers["Azure-AsyncOperation"], put.headers["Location"]
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


def test_retry_after_zero_sends_none(http: Arm, control: EmulatorControl) -> None:
    """The session's setting (0): clients poll at their own interval, as with Azure's gallery service."""
    assert control.config()["lro"]["retryAfterSeconds"] == 0
    put = http("PUT", VERSION_URL, version_body())
    status = http("GET", put.headers["Azure-AsyncOperation"])
    monitor = http("GET", put.headers["Location"])
    assert (put.status_code, status.json()["status"], monitor.status_code) == (201, "InProgress", 202)
    assert ["Retry-After" in r.headers for r in (put, status, monitor)] == [False, False, False]
