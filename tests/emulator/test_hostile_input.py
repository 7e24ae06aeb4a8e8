"""Malformed and hostile request bodies get a specific 4xx from an explicit check, never a 500 (and never the
pipeline's safety net, whose message carries a Python exception repr)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import requests
from azure.identity import ManagedIdentityCredential

from emulator.control import EmulatorControl
from tests.emulator.conftest import IMAGE_ID, RG_ID, SCOPE

GALLERY_ID = f"{RG_ID}/providers/Microsoft.Compute/galleries/demo_gallery"
TARGETS = {
    "image": (f"{RG_ID}/providers/Microsoft.Compute/images/x", "2026-04-01"),
    "gallery": (f"{RG_ID}/providers/Microsoft.Compute/galleries/g2", "2026-03-03"),
    "definition": (f"{GALLERY_ID}/images/d", "2026-03-03"),
    "version": (f"{GALLERY_ID}/images/web/versions/1.0.0", "2026-03-03"),
    "vm": (f"{RG_ID}/providers/Microsoft.Compute/virtualMachines/v", "2026-04-01"),
    "tags": (f"{IMAGE_ID}/providers/Microsoft.Resources/tags/default", "2025-04-01"),
    "group": (RG_ID.replace("demo-rg", "other-rg"), "2025-04-01"),
}
W = "westus2"
SRC = {"id": IMAGE_ID}
BODIES: list[Any] = [
    None,
    b"",
    b"not json",
    b"[]",
    b"123",
    b'"s"',
    b"\x00\xff",
    {"location": 5},
    {"location": W, "properties": []},
    {"location": W, "properties": "x"},
    {"location": W, "tags": [1]},
    {"location": W, "tags": {"a": 1}},
    {"location": W, "properties": {"storageProfile": []}},
    {"location": W, "properties": {"storageProfile": {"osDisk": "x"}}},
    {
        "location": W,
        "properties": {"storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized"}, "dataDisks": "x"}},
    },
    {
        "location": W,
        "properties": {
            "storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized"}, "dataDisks": [{"lun": "0"}]}
        },
    },
    {"location": W, "properties": {"osType": "Linux", "osState": "Generalized", "identifier": "x"}},
    {
        "location": W,
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "identifier": {"publisher": 1, "offer": [], "sku": {}},
        },
    },
    {"location": W, "properties": {"storageProfile": {"source": "x"}}},
    {"location": W, "properties": {"storageProfile": {"source": {"id": 5}}}},
    {"location": W, "properties": {"storageProfile": {"source": {"id": "/subscriptions/../../etc/passwd"}}}},
    {"location": W, "properties": {"storageProfile": {"source": {"id": IMAGE_ID + "?$filter=x"}}}},
    {"location": W, "properties": {"storageProfile": {"source": SRC}, "publishingProfile": "x"}},
    {"location": W, "properties": {"storageProfile": {"source": SRC}, "publishingProfile": {"targetRegions": W}}},
    {"location": W, "properties": {"storageProfile": {"source": SRC}, "publishingProfile": {"targetRegions": [5]}}},
    {
        "location": W,
        "properties": {"storageProfile": {"source": SRC}, "publishingProfile": {"targetRegions": [{"name": 5}]}},
    },
    {"location": W, "properties": {"storageProfile": {"source": SRC}, "publishingProfile": {"replicaCount": "3"}}},
    {"location": W, "properties": {"storageProfile": {"source": SRC}, "publishingProfile": {"replicaCount": 10**12}}},
    {"properties": {"tags": "x"}},
    {"properties": {"tags": {"a": 5}}},
    {"properties": None},
    {"operation": "Merge", "properties": {"tags": {"<script>": "x"}}},
    {"operation": "Upsert", "properties": {}},
    {"properties": {"tags": {f"k{i}": "v" for i in range(51)}}},
    {"properties": {"tags": {"k": "v" * 300}}},
    {"location": W, "properties": {"storageProfile": {"imageReference": "x"}}},
    {"location": W, "properties": {"storageProfile": {"imageReference": {"id": "x"}}}},
    {"location": "\u202e\u0000westus2", "properties": {}},
]


@pytest.fixture
def session(control: EmulatorControl, credential: ManagedIdentityCredential) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = control.ca_bundle
    s.headers["Authorization"] = f"Bearer {credential.get_token(*SCOPE).token}"
    return s


def test_bad_bodies_get_specific_4xx(arm: str, session: requests.Session, control: EmulatorControl) -> None:
    definition: dict[str, Any] = {
        "location": W,
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "identifier": {"publisher": "a", "offer": "b", "sku": "c"},
        },
    }
    session.put(f"{arm}{GALLERY_ID}/images/web", params={"api-version": "2026-03-03"}, json=definition)
    tried, unexpected = 0, []
    for (name, (path, version)), body, method in itertools.product(TARGETS.items(), BODIES, ("PUT", "PATCH")):
        kwargs: dict[str, Any] = {"data": body} if body is None or isinstance(body, bytes) else {"json": body}
        resp = session.request(method, f"{arm}{path}", params={"api-version": version}, **kwargs)
        tried += 1
        message = resp.json()["error"]["message"] if resp.status_code >= 400 and resp.content else ""
        if resp.status_code >= 500 or "Error(" in message:
            unexpected.append((name, method, body, resp.status_code, message[:200]))
    assert tried == len(TARGETS) * len(BODIES) * 2
    assert not unexpected, unexpected[:10]
    assert control.request_summary()["byStatus"].get("500") is None


def test_huge_body_is_refused(arm: str, session: requests.Session, control: EmulatorControl) -> None:
    path, version = TARGETS["image"]
    resp = session.put(f"{arm}{path}", params={"api-version": version}, data=b"{" + b" " * (5 * 1024 * 1024) + b"}")
    assert resp.status_code == 413
    assert resp.json()["error"]["code"] == "RequestEntityTooLarge"


FIFTY_ONE = {f"k{i}": "v" for i in range(51)}


@pytest.mark.parametrize(("existing", "version"), [(IMAGE_ID, "2026-04-01"), (GALLERY_ID, "2026-03-03")])
def test_resources_hold_arms_fifty_tag_limit(arm: str, session: requests.Session, existing: str, version: str) -> None:
    """ARM refuses a 51st tag however it is written: a PUT or PATCH of the resource, or the Tags API (below)."""
    params = {"api-version": version}
    current = session.get(f"{arm}{existing}", params=params).json()
    body = {"location": current["location"], "properties": current["properties"], "tags": FIFTY_ONE}
    for method, url in (("PUT", f"{arm}{existing}2"), ("PATCH", f"{arm}{existing}")):
        resp = session.request(method, url, params=params, json=body if method == "PUT" else {"tags": FIFTY_ONE})
        assert resp.status_code == 400, (method, resp.status_code, resp.text[:200])
        assert resp.json()["error"]["code"] == "TooManyTags", (method, resp.text[:200])
    assert len(session.get(f"{arm}{existing}", params=params).json().get("tags") or {}) < 51


def test_the_tags_api_counts_the_tags_a_merge_adds(arm: str, session: requests.Session) -> None:
    url = f"{arm}{IMAGE_ID}/providers/Microsoft.Resources/tags/default"
    params = {"api-version": "2025-04-01"}
    fifty = {f"k{i}": "v" for i in range(50)}
    assert session.put(url, params=params, json={"properties": {"tags": fifty}}).status_code == 200
    one_more = session.patch(url, params=params, json={"operation": "Merge", "properties": {"tags": {"extra": "x"}}})
    assert (one_more.status_code, one_more.json()["error"]["code"]) == (400, "TooManyTags")
    replaced = session.patch(url, params=params, json={"operation": "Merge", "properties": {"tags": {"k0": "y"}}})
    assert replaced.status_code == 200  # replacing a tag needs no room
