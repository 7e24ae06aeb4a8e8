"""api-versions as ARM handles them: every version the SDKs, the Azure CLI and Az PowerShell send is accepted and
answered in that version's shape; any other is refused with ARM's code and message form."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.apiversions import COMPUTE_VERSIONS, GALLERY_VERSIONS, RESOURCES_VERSIONS
from emulator.control import EmulatorControl
from tests.emulator.conftest import GALLERY, IMAGE_ID, RG_ID, SUB
from tests.emulator.helpers import Arm, definition_body, version_body

GALLERY_ID = f"{RG_ID}/providers/Microsoft.Compute/galleries/{GALLERY}"
DEFINITION_ID = f"{GALLERY_ID}/images/web"
VERSION_ID = f"{DEFINITION_ID}/versions/1.0.0"


@pytest.fixture
def http(arm: str, control: EmulatorControl) -> Arm:
    control.configure({"replication": {"fixedSeconds": 60, "queuedSeconds": 0}})
    return Arm(arm, control)


def test_every_listed_version_is_accepted(http: Arm) -> None:
    reads = [
        *((GALLERY_ID, v) for v in GALLERY_VERSIONS),
        *((f"{RG_ID}/providers/Microsoft.Compute/galleries", v) for v in GALLERY_VERSIONS),
        *((IMAGE_ID, v) for v in COMPUTE_VERSIONS),
        *((RG_ID, v) for v in RESOURCES_VERSIONS),
        *((f"{RG_ID}/providers/Microsoft.Resources/tags/default", v) for v in RESOURCES_VERSIONS),
    ]
    assert {(url, v): http("GET", url, api_version=v).status_code for url, v in reads} == {r: 200 for r in reads}
    # what the clients send: the Azure CLI (gallery 2021-10-01, versions 2023-07-03, images 2024-07-01, groups
    # 2022-09-01), Az PowerShell (resources 2021-04-01), the pinned SDKs (2026-03-03, 2026-04-01, 2025-04-01)
    for sent, accepted in (
        ("2021-10-01", GALLERY_VERSIONS),
        ("2023-07-03", GALLERY_VERSIONS),
        ("2026-03-03", GALLERY_VERSIONS),
        ("2024-07-01", COMPUTE_VERSIONS),
        ("2026-04-01", COMPUTE_VERSIONS),
        ("2021-04-01", RESOURCES_VERSIONS),
        ("2022-09-01", RESOURCES_VERSIONS),
        ("2025-04-01", RESOURCES_VERSIONS),
    ):
        assert sent in accepted


def test_the_azure_cli_definition_flow_on_2021_10_01(http: Arm, control: EmulatorControl) -> None:
    """``az sig image-definition create/list/show/delete`` send gallery 2021-10-01: accepted, and answered in that
    version's shape (no Trusted-launch defaults: those came with 2025-03-03)."""
    body = definition_body() | {"tags": {}}
    del body["properties"]["hyperVGeneration"]
    created = http("PUT", DEFINITION_ID, body, api_version="2021-10-01")
    assert (created.status_code, created.json()["properties"]["provisioningState"]) == (201, "Creating")
    assert created.json()["properties"]["hyperVGeneration"] == "V1"
    assert "features" not in created.json()["properties"]
    listed = http("GET", f"{GALLERY_ID}/images", api_version="2021-10-01")
    assert [d["name"] for d in listed.json()["value"]] == ["web"]
    assert http("GET", DEFINITION_ID, api_version="2021-10-01").json()["properties"]["provisioningState"] == "Succeeded"
    deleted = http("DELETE", DEFINITION_ID, api_version="2021-10-01")
    assert deleted.status_code == 202
    assert http("GET", DEFINITION_ID, api_version="2021-10-01").status_code == 404


def test_versions_answer_in_the_shape_of_the_api_version(http: Arm, control: EmulatorControl) -> None:
    """``storageAccountStrategy`` exists since 2025-03-03, ``validationsProfile`` since 2024-03-03: an older
    api-version's answer leaves them out. A Trusted-launch capable definition's versions report the Trusted launch
    validation once an hour has passed (Microsoft Learn: "a minimum of 1 hour")."""
    assert http("PUT", DEFINITION_ID, definition_body(), api_version="2025-03-03").status_code == 201
    assert http("PUT", VERSION_ID, version_body(), api_version="2026-03-03").status_code == 201

    def props(api_version: str) -> Any:
        return http("GET", VERSION_ID, api_version=api_version).json()["properties"]

    old, middle, new = props("2023-07-03"), props("2024-03-03"), props("2026-03-03")
    assert "validationsProfile" not in old
    assert "storageAccountStrategy" not in old["publishingProfile"]
    assert middle["validationsProfile"] == {"executedValidations": []}
    assert "storageAccountStrategy" not in middle["publishingProfile"]
    assert new["publishingProfile"]["storageAccountStrategy"] == "PreferStandard_ZRS"
    control.advance(3600)
    [validation] = props("2026-03-03")["validationsProfile"]["executedValidations"]
    assert (validation["type"], validation["status"]) == ("TrustedLaunch", "Succeeded")


def test_unknown_versions_are_refused_as_arm_refuses_them(http: Arm) -> None:
    gallery = http("GET", GALLERY_ID, api_version="2017-10-15-preview")
    assert (gallery.status_code, gallery.headers["x-ms-error-code"]) == (400, "NoRegisteredProviderFound")
    assert gallery.json()["error"]["message"].startswith(
        "No registered resource provider found for location 'westus2' and API version '2017-10-15-preview' for "
        "type 'galleries'. The supported api-versions are '2021-10-01, 2022-01-03, "
    )
    version = http("PUT", f"{GALLERY_ID}/images/x/versions/1.0.0", version_body(), api_version="2099-01-01")
    assert "for type 'galleries/images/versions'." in version.json()["error"]["message"]
    group = http("GET", RG_ID, api_version="2015-01-01")
    assert (group.status_code, group.json()["error"]["code"]) == (400, "InvalidApiVersionParameter")
    assert group.json()["error"]["message"] == (
        f"The api-version '2015-01-01' is invalid. The supported versions are '{', '.join(RESOURCES_VERSIONS)}'. "
        "Please see https://aka.ms/api-upgrade for more details."
    )
    missing = http("GET", f"/subscriptions/{SUB}/resourcegroups/nope", api_version="")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "MissingApiVersionParameter")
