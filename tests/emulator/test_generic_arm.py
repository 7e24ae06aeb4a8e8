"""Generic ARM on the wire (what the Azure CLI's login, ``az resource``, ``az tag``, ``az group`` and ``az cloud
register`` send), through plain HTTPS and the pinned ``azure-mgmt-resource`` client; response shapes are checked
against the vendored Microsoft.Resources spec (``resources.json`` 2025-04-01) with jsonschema."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
import requests
from azure.identity import ManagedIdentityCredential
from azure.mgmt.resource.resources import ResourceManagementClient
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from emulator.control import EmulatorControl
from emulator.routes import COMPUTE_VERSIONS, GALLERY_VERSIONS, RESOURCES_VERSIONS
from tests.emulator.conftest import IMAGE_ID, RG, RG_ID, SUB
from tests.specs import AZURE_SPECS

RESOURCES_SPEC = (
    AZURE_SPECS
    / "specification/resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json"
)
# The Subscription definition of subscriptions/stable/2022-12-01/subscriptions.json (azure-rest-api-specs).
SUBSCRIPTION_PROPERTIES = {
    "id",
    "subscriptionId",
    "displayName",
    "tenantId",
    "state",
    "subscriptionPolicies",
    "authorizationSource",
    "managedByTenants",
    "tags",
}
STORAGE = f"{RG_ID}/providers/Microsoft.Storage/storageAccounts/logs01"


@functools.cache
def _registry() -> Registry:
    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(json.loads(open(uri.removeprefix("file://")).read()), DRAFT4)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


def assert_spec_shape(definition: str, body: Any) -> None:
    """Validate ``body`` against ``resources.json#/definitions/{definition}`` (x-ms extensions are ignored)."""
    schema = {"$ref": f"file://{RESOURCES_SPEC}#/definitions/{definition}"}
    errors = [e.message for e in Draft4Validator(schema, registry=_registry()).iter_errors(body)]
    assert errors == [], errors


def _token(client_id: str | None = None) -> str:
    return ManagedIdentityCredential(client_id=client_id).get_token("https://management.azure.com/.default").token


def get(arm: str, ca: str, path: str, **params: str) -> requests.Response:
    params.setdefault("api-version", "2024-11-01")
    return requests.get(
        arm + path, params=params, headers={"Authorization": f"Bearer {_token()}"}, verify=ca, timeout=30
    )


@pytest.fixture
def seeded(control: EmulatorControl) -> EmulatorControl:
    """The demo seed plus a resource of a type the emulator does not model, and a tagged second image."""
    control.seed(
        {
            "resources": [
                {"id": STORAGE, "location": "westus2", "tags": {"Team": "data"}, "kind": "StorageV2"},
                {
                    "id": f"{RG_ID}/providers/Microsoft.Compute/images/web-02",
                    "location": "eastus",
                    "tags": {"team": "web", "env": "prod"},
                    "properties": {
                        "storageProfile": {"osDisk": {"osType": "Linux", "osState": "Generalized", "diskSizeGB": 30}}
                    },
                },
            ]
        }
    )
    return control


def test_subscriptions_list_is_what_az_login_reads(arm: str, control: EmulatorControl) -> None:
    resp = get(arm, control.ca_bundle, "/subscriptions", **{"api-version": "2022-12-01"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == {"type": "Total", "value": 1}
    [sub] = body["value"]
    assert sub["subscriptionId"] == SUB
    assert sub["state"] == "Enabled"
    assert sub["tenantId"]
    assert set(sub) <= SUBSCRIPTION_PROPERTIES
    assert sub["subscriptionPolicies"]["spendingLimit"] == "Off"
    assert resp.headers["x-ms-ratelimit-remaining-tenant-reads"] == "249"  # a tenant-level read
    one = get(arm, control.ca_bundle, f"/subscriptions/{SUB}", **{"api-version": "2022-12-01"}).json()
    assert one == sub
    bad = get(arm, control.ca_bundle, "/subscriptions", **{"api-version": "2015-01-01"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidApiVersionParameter"
    tenants = get(arm, control.ca_bundle, "/tenants", **{"api-version": "2022-12-01"}).json()["value"]
    assert [t["tenantId"] for t in tenants] == [sub["tenantId"]]


def test_resource_lists_and_their_filters(resources: ResourceManagementClient, seeded: EmulatorControl) -> None:
    every = {r.name: r for r in resources.resources.list()}
    assert set(every) == {"ubuntu-web-01", "web-02", "demo_gallery", "web-vmss", "logs01"}
    assert every["logs01"].type == "Microsoft.Storage/storageAccounts"
    assert every["logs01"].kind == "StorageV2"
    assert every["web-02"].tags == {"team": "web", "env": "prod"}

    def names(odata: str, **kw: Any) -> set[str]:
        return {str(r.name) for r in resources.resources.list(filter=odata, **kw)}

    assert names("resourceType eq 'microsoft.compute/IMAGES'") == {"ubuntu-web-01", "web-02"}
    assert names("resourceType ne 'Microsoft.Compute/images'") == {"demo_gallery", "web-vmss", "logs01"}
    assert names("location eq 'East US'") == {"web-02"}
    assert names("substringof('WEB', name)") == {"ubuntu-web-01", "web-02", "web-vmss"}
    assert names("name eq 'web-02' or name eq 'logs01'") == {"web-02", "logs01"}
    assert names(f"resourceGroup eq '{RG}' and resourceType eq 'Microsoft.Compute/galleries'") == {"demo_gallery"}
    assert names("tagName eq 'TEAM'") == {"ubuntu-web-01", "web-02", "logs01"}  # tag names ignore case
    assert names("tagName eq 'team' and tagValue eq 'web'") == {"web-02"}
    assert names("tagName eq 'team' and tagValue eq 'WEB'") == set()  # values do not
    assert names("startswith(tagName, 'en')") == {"web-02"}
    # As the spec says: with a tag filter the resources' own tags are not returned.
    assert [r.tags for r in resources.resources.list(filter="tagName eq 'env'")] == [None]
    in_group = {r.name for r in resources.resources.list_by_resource_group(RG, filter="substringof('01', name)")}
    assert in_group == {"ubuntu-web-01", "logs01"}
    expanded = next(iter(resources.resources.list(filter="name eq 'web-02'", expand="provisioningState")))
    assert expanded.provisioning_state == "Succeeded"


def test_resource_list_pages_and_refuses_a_filter_it_does_not_know(
    arm: str, seeded: EmulatorControl, resources: ResourceManagementClient
) -> None:
    first = get(arm, seeded.ca_bundle, f"/subscriptions/{SUB}/resources", **{"$top": "2"}).json()
    assert len(first["value"]) == 2
    assert "%24top=2" in first["nextLink"]
    assert_spec_shape("ResourceListResult", first)
    assert len(list(resources.resources.list(top=2))) == 5  # the SDK follows nextLink
    bad = get(arm, seeded.ca_bundle, f"/subscriptions/{SUB}/resources", **{"$filter": "properties/x eq 'y'"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidFilterInQueryString"


def test_provider_metadata_lists_exactly_the_accepted_api_versions(
    arm: str, resources: ResourceManagementClient, control: EmulatorControl
) -> None:
    compute = resources.providers.get("microsoft.compute")
    assert compute.namespace == "Microsoft.Compute"
    assert compute.registration_state == "Registered"
    types = {t.resource_type: list(t.api_versions or []) for t in compute.resource_types or []}
    assert types["images"] == list(COMPUTE_VERSIONS)
    assert types["galleries"] == types["galleries/images/versions"] == list(GALLERY_VERSIONS)
    # The Azure CLI picks the newest listed version (of the parent type for nested ones) and reads with it.
    for rtype, path in (
        ("images", IMAGE_ID),
        ("galleries", f"{RG_ID}/providers/Microsoft.Compute/galleries/demo_gallery"),
    ):
        assert get(arm, control.ca_bundle, path, **{"api-version": types[rtype][0]}).status_code == 200
    # `az resource show --resource-type NS/type` leaves the parent path empty: ARM ignores the empty segment.
    doubled = f"{RG_ID}/providers/Microsoft.Compute//galleries/demo_gallery"
    assert get(arm, control.ca_bundle, doubled, **{"api-version": GALLERY_VERSIONS[0]}).json()["name"] == "demo_gallery"
    raw = get(arm, control.ca_bundle, f"/subscriptions/{SUB}/providers/Microsoft.Resources").json()
    assert_spec_shape("Provider", raw)
    assert {t["resourceType"]: t["apiVersions"] for t in raw["resourceTypes"]}["tags"] == list(RESOURCES_VERSIONS)
    everything = get(arm, control.ca_bundle, f"/subscriptions/{SUB}/providers").json()
    assert_spec_shape("ProviderListResult", everything)
    assert {p["namespace"] for p in everything["value"]} == {"Microsoft.Compute", "Microsoft.Resources"}
    missing = get(arm, control.ca_bundle, f"/subscriptions/{SUB}/providers/Microsoft.Nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "InvalidResourceNamespace"


def test_tag_names_count_values_across_the_subscription(
    arm: str, seeded: EmulatorControl, resources: ResourceManagementClient
) -> None:
    resources.resource_groups.create_or_update("tagged-rg", {"location": "westus2", "tags": {"team": "web"}})
    counts = {t.tag_name: t.count.value if t.count else None for t in resources.tags.list()}
    assert counts["team"] == 4
    assert counts["env"] == 1
    tags = {t.tag_name: t for t in resources.tags.list()}
    assert tags["env"].id == f"/subscriptions/{SUB}/tagNames/env"
    raw = get(arm, seeded.ca_bundle, f"/subscriptions/{SUB}/tagNames").json()
    assert_spec_shape("TagsListResult", raw)
    team = next(t for t in raw["value"] if t["tagName"] == "team")  # "Team" too: names compare without case
    assert {v["tagValue"]: v["count"]["value"] for v in team["values"]} == {
        "platform": 1,
        "web": 2,
        "data": 1,
    }  # names without case
    groups = {g.name for g in resources.resource_groups.list(filter="tagName eq 'team' and tagValue eq 'web'")}
    assert groups == {"tagged-rg"}


def test_resources_of_unmodelled_types_are_read_tagged_and_deleted_by_id(
    arm: str, seeded: EmulatorControl, resources: ResourceManagementClient
) -> None:
    api = RESOURCES_VERSIONS[0]
    got = resources.resources.get_by_id(STORAGE, api_version=api)
    assert got.kind == "StorageV2"
    assert got.tags == {"Team": "data"}
    resources.resources.begin_update_by_id(STORAGE, api_version=api, parameters={"tags": {"Team": "logs"}}).result()
    assert resources.resources.get_by_id(STORAGE, api_version=api).tags == {"Team": "logs"}
    assert resources.resources.check_existence_by_id(STORAGE, api_version=api) is True
    bad = get(arm, seeded.ca_bundle, STORAGE, **{"api-version": "2015-01-01"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "InvalidApiVersionParameter"
    resources.resources.begin_delete_by_id(STORAGE, api_version=api).result()
    assert resources.resources.check_existence_by_id(STORAGE, api_version=api) is False
    # A type that is neither modelled nor seeded stays what it was: not emulated.
    unknown = get(arm, seeded.ca_bundle, f"{RG_ID}/providers/Microsoft.Network/virtualNetworks/v1")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "InvalidResourceType"
    assert resources.resource_groups.check_existence(RG) is True
    assert resources.resource_groups.check_existence("no-such-rg") is False


def test_cloud_metadata_is_what_az_cloud_register_reads(arm: str, control: EmulatorControl) -> None:
    resp = requests.get(
        f"{arm}/metadata/endpoints", params={"api-version": "2022-09-01"}, verify=control.ca_bundle, timeout=30
    )
    doc = resp.json()
    assert resp.status_code == 200
    assert doc["resourceManager"] == arm + "/"
    assert "https://management.core.windows.net/" in doc["authentication"]["audiences"]
    old = requests.get(
        f"{arm}/metadata/endpoints", params={"api-version": "2019-05-01"}, verify=control.ca_bundle, timeout=30
    )
    assert old.json() == [doc]  # older versions list clouds
