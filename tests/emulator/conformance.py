"""Run the stored x-ms-examples through the emulator and turn the recorded request/response pairs into oav
traffic files (the format of azure-specs/oav/traffic/*.json), one directory per spec."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from emulator.control import EmulatorControl
from emulator.routes import build_router
from localrun.processes import REPO_ROOT


def _specs_dir() -> Path:
    """The specs vendored in ``third_party/azure-specs`` (or $AZURE_SPECS_DIR to try another copy)."""
    return Path(os.environ.get("AZURE_SPECS_DIR") or REPO_ROOT / "third_party" / "azure-specs")


SPECS = _specs_dir()
SPEC_ROOT = SPECS / "specification"
COMPUTE = SPEC_ROOT / "compute/resource-manager/Microsoft.Compute/Compute/stable"
SPEC_FILES = {
    "gallery": COMPUTE / "2026-03-03/GalleryRP.json",
    "images": COMPUTE / "2026-03-01/ComputeRP.images-subset.json",
    "tags": SPEC_ROOT / "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json",
}
SUB = "11111111-0000-4000-8000-000000000000"
EXAMPLE_SUB = "00000000-0000-0000-0000-000000000000"
RG_ = f"/subscriptions/{SUB}/resourceGroups/myResourceGroup"
IMAGE = f"{RG_}/providers/Microsoft.Compute/images/myImage"
GALLERY = f"{RG_}/providers/Microsoft.Compute/galleries/myGalleryName"
DEFINITION = f"{GALLERY}/images/myGalleryImageName"
VERSION = f"{DEFINITION}/versions/1.0.0"
# Examples the emulator refuses on purpose, with the reason (the README lists these too).
EXPECTED_REFUSALS = {
    "GalleryImageVersion_Create_WithStorageAccountStrategy.json": "virtual machine sources are not emulated",
}


def spec_examples() -> list[tuple[str, str, Path]]:
    """(spec key, operationId, example file) for every stored example of the operations the emulator serves."""
    routes = {r.operation_id for r in build_router().routes}
    out = []
    for key, spec_file in SPEC_FILES.items():
        spec = json.loads(spec_file.read_text())
        for ops in spec["paths"].values():
            for op in ops.values():
                if not isinstance(op, dict) or op.get("operationId") not in routes:
                    continue
                for ref in op.get("x-ms-examples", {}).values():
                    example = spec_file.parent / ref["$ref"]
                    if example.exists():
                        out.append((key, op["operationId"], example))
    vmss = COMPUTE / "2026-03-01/examples/virtualMachineScaleSetExamples"
    out += [
        ("vmss", "VirtualMachineScaleSets_ListAll", vmss / "VirtualMachineScaleSet_ListAll_MinimumSet_Gen.json"),
        (
            "vmss",
            "VirtualMachineScaleSets_CreateOrUpdate",
            vmss / "VirtualMachineScaleSet_Create_FromACustomImage.json",
        ),
        ("vmss", "VirtualMachineScaleSets_Update", vmss / "VirtualMachineScaleSet_Update_MinimumSet_Gen.json"),
    ]
    return out


def _image(os_type: str = "Windows") -> dict[str, Any]:
    return {
        "id": IMAGE,
        "location": "West US",
        "properties": {
            "storageProfile": {
                "osDisk": {"osType": os_type, "osState": "Generalized", "diskSizeGB": 30},
                "dataDisks": [{"lun": 1, "diskSizeGB": 10}],
            }
        },
    }


def _vm(name: str) -> dict[str, Any]:
    rg = f"/subscriptions/{SUB}/resourceGroups/myResourceGroup"
    disk = {"id": f"{rg}/providers/Microsoft.Compute/disks/{name}_OsDisk_1"}
    os_disk = {"osType": "Linux", "caching": "ReadWrite", "managedDisk": disk}
    return {
        "id": f"{rg}/providers/Microsoft.Compute/virtualMachines/{name}",
        "location": "westus",
        "properties": {"storageProfile": {"osDisk": os_disk, "dataDisks": []}},
    }


def prerequisites(operation_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The seed an example needs: a subscription, groups, the source image, a gallery, and the target's parents
    (or the target itself for reads, updates and deletes, with the immutable properties the example sends)."""
    resources: list[dict[str, Any]] = [
        _image(),
        {"id": GALLERY, "location": "West US", "properties": {}},
        {
            "id": f"/subscriptions/{EXAMPLE_SUB}/resourcegroups/my-resource-group/providers/myPRNameSpace/VM/myVm",
            "location": "westus",
            "properties": {},
        },
        _vm("myVM"),  # Image_CreateFromAVM captures it
    ]
    group, _, action = operation_id.partition("_")
    needs_self = not action.startswith("CreateOrUpdate")
    if group == "GalleryImageVersions" or (group == "GalleryImages" and needs_self):
        props = {
            "osType": "Windows",
            "osState": "Generalized",
            "hyperVGeneration": "V1",
            "identifier": {"publisher": "myPublisherName", "offer": "myOfferName", "sku": "mySkuName"},
        }
        if group == "GalleryImages" and body:
            given = body.get("properties", {})
            props.update({k: given[k] for k in ("osType", "osState", "hyperVGeneration", "identifier") if k in given})
        resources.append({"id": DEFINITION, "location": "West US", "properties": props})
    if group == "GalleryImageVersions" and needs_self:
        resources.append(
            {
                "id": VERSION,
                "location": "West US",
                "properties": {
                    "storageProfile": {"source": {"id": IMAGE}},
                    "publishingProfile": {"targetRegions": [{"name": "West US"}, {"name": "East US"}]},
                },
            }
        )
    if group == "VirtualMachineScaleSets" and action == "Update":
        vmss = f"/subscriptions/{SUB}/resourceGroups/rgcompute/providers/Microsoft.Compute/virtualMachineScaleSets"
        resources.append({"id": f"{vmss}/aaaaaaaaaaaaaa", "location": "westus", "properties": {}})
    return {
        "subscriptions": [{"subscriptionId": SUB}, {"subscriptionId": EXAMPLE_SUB}],
        "resourceGroups": [
            {"subscriptionId": SUB, "name": "myResourceGroup", "location": "westus"},
            {"subscriptionId": SUB, "name": "rgcompute", "location": "westus"},
            {"subscriptionId": EXAMPLE_SUB, "name": "my-resource-group", "location": "westus"},
        ],
        "resources": resources,
    }


def _substitute(params: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(params)
    for placeholder, value in (
        ("{subscription-id}", SUB),
        ("{subscriptionId}", SUB),
        ("{resourceGroup}", "myResourceGroup"),
        ("{imageName}", "myImage"),
    ):
        text = text.replace(placeholder, value)
    return dict(json.loads(text))


@dataclass
class Outcome:
    example: str
    spec: str
    operation_id: str
    status: int
    body: Any
    traffic: dict[str, Any] | None


def run_example(spec: str, operation_id: str, example: Path, arm: str, token: str, ctl: EmulatorControl) -> Outcome:
    route = next(r for r in build_router().routes if r.operation_id == operation_id)
    params = _substitute(json.loads(example.read_text())["parameters"])
    path = route.template
    for name, value in params.items():
        if f"{{{name}}}" in path:
            path = path.replace(f"{{{name}}}", str(value).strip("/") if name == "scope" else str(value))
    body = next((v for k, v in params.items() if isinstance(v, dict) and k != "api-version"), None)
    ctl.reset(reseed=False)
    ctl.seed(prerequisites(operation_id, body))
    since = ctl.request_summary()["lastSeq"]
    resp = requests.request(
        route.method,
        f"{arm}{path}",
        params={k: v for k, v in params.items() if k == "api-version" or k.startswith("$")},
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        verify=ctl.ca_bundle,
        timeout=30,
    )
    [entry] = ctl.requests(since=since)
    traffic = {
        "liveRequest": {
            "headers": {"Content-Type": "application/json"},
            "method": entry["method"],
            "url": entry["url"],
            "body": entry["requestBody"],
        },
        "liveResponse": {
            "statusCode": str(entry["status"]),
            "headers": {**entry["responseHeaders"], "Content-Type": "application/json"},
            "body": entry["responseBody"],
        },
    }
    return Outcome(example.name, spec, operation_id, resp.status_code, resp.json() if resp.content else None, traffic)
