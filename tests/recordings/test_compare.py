"""The comparison rules of the recorded-traffic suite (pure functions)."""

from __future__ import annotations

import copy
from typing import Any

from tests.recordings.compare import Exchange, differences, enum_values, key_paths

VERSION: dict[str, Any] = {
    "name": "1.0.0",
    "id": "/subscriptions/s/x",
    "properties": {
        "publishingProfile": {"targetRegions": [{"name": "West US 2"}, {"name": "East US"}], "publishedDate": "d1"},
        "storageProfile": {"osDiskImage": {"sizeInGB": 30, "source": {}}},
        "provisioningState": "Creating",
    },
}


def _with(path: list[str], value: object) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(VERSION)
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def test_same_shape_different_values_match() -> None:
    other = _with(["properties", "publishingProfile", "publishedDate"], "another date")
    other["id"] = "/subscriptions/t/y"
    other["etag"] = "W/1"
    assert differences(Exchange(200, {}, VERSION), Exchange(200, {}, other)) == []


def test_key_paths_and_outermost_missing() -> None:
    assert "properties.publishingProfile.targetRegions[].name" in key_paths(VERSION)
    stripped = _with(["properties", "storageProfile"], {})
    assert differences(Exchange(200, {}, VERSION), Exchange(200, {}, stripped)) == [
        "key missing: properties.storageProfile.osDiskImage"
    ]


def test_enum_values_and_region_names() -> None:
    assert enum_values(VERSION)["properties.publishingProfile.targetRegions[].name"] == ["East US", "West US 2"]
    echoed = _with(["properties", "publishingProfile", "targetRegions"], [{"name": "westus2"}, {"name": "East US"}])
    assert differences(Exchange(200, {}, VERSION), Exchange(200, {}, echoed)) == [
        "value properties.publishingProfile.targetRegions[].name: Azure ['East US', 'West US 2'], "
        "emulator ['East US', 'westus2']"
    ]
    done = _with(["properties", "provisioningState"], "Succeeded")
    assert differences(Exchange(201, {}, VERSION), Exchange(201, {}, done)) == [
        "value properties.provisioningState: Azure ['Creating'], emulator ['Succeeded']"
    ]


def test_status_headers_and_errors() -> None:
    azure = Exchange(201, {"azure-asyncoperation": "u"}, VERSION)
    emulator = Exchange(200, {"azure-asyncoperation": "v", "location": "w", "retry-after": "1"}, VERSION)
    assert differences(azure, emulator) == [
        "status: Azure 201, emulator 200",
        "header location: only the emulator sends it",
        "header retry-after: only the emulator sends it",
    ]
    refused = Exchange(400, {}, {"error": {"code": "NoRegisteredProviderFound", "message": "..."}})
    assert differences(Exchange(200, {}, VERSION), refused) == [
        "status: Azure 200, emulator 400",
        "error code: Azure None, emulator NoRegisteredProviderFound",
    ]
