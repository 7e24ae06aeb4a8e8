"""Generic ARM: what ARM itself answers about the emulated resources, so tools that know nothing of Compute (the
Azure CLI's ``az login``, ``az account``, ``az resource``, ``az tag``, ``az group``) work unmodified.

* ``GET /subscriptions`` (``az login`` lists subscriptions), ``GET /tenants``, the subscription body of the
  subscriptions spec (``subscriptionPolicies``, ``authorizationSource``, ``managedByTenants``);
* ``GET /subscriptions/{s}/resources`` and ``.../resourceGroups/{rg}/resources`` with ARM's ``$filter``
  (``resourceType``, ``name``, ``location``, ``resourceGroup`` with ``eq``/``ne``;
  ``substringof(v, name|resourceGroup)``; ``tagName``/``tagValue``; ``startswith(tagName, v)``; ``and``/``or``),
  ``$top``, ``$expand=provisioningState``; as the spec says, a tag filter leaves the resources' tags out of the answer;
* provider metadata (``/subscriptions/{s}/providers[/{ns}]``, ``/providers/{ns}``) built from the route table, so
  the api-versions a client picks from it (``az resource`` takes the newest) are exactly the ones accepted;
* ``GET /subscriptions/{s}/tagNames`` (``az tag list``): tag names and values with their counts;
* ``/{resourceId}`` for resources of types the emulator does not model (seeded "as given"): read, tag, delete;
* the cloud metadata document ``GET /metadata/endpoints`` that ``az cloud register --endpoint-resource-manager``
  fetches.

Shapes and operationIds: ``resources/stable/2025-04-01/resources.json`` (vendored) and the subscriptions spec
(``subscriptions/stable/2022-12-01/subscriptions.json``, vendored).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from emulator.apiversions import refusal
from emulator.core import errors
from emulator.core.backend import Result
from emulator.core.ids import parse, region
from emulator.core.routing import Route
from emulator.identity import TENANT_ID
from emulator.responses import Backends, Call, Reply, ok, page

# What the pinned SDKs, the Azure CLI (2.91: 2022-12-01) and Az PowerShell send for subscriptions and tenants.
SUBSCRIPTIONS_VERSIONS = ("2022-12-01", "2021-01-01", "2020-01-01", "2019-11-01", "2019-06-01", "2016-06-01")
RES = "Microsoft.Resources"


class _CheckedByHandler(tuple[str, ...]):
    """The api-versions of the generic ``/{resourceId}`` routes: every version passes the pipeline's check, and the
    handler checks it once it knows the resource's type (an unknown path stays 404 InvalidResourceType)."""

    def __contains__(self, version: object) -> bool:
        return True


ANY_VERSION = _CheckedByHandler(("(checked per resource type)",))


# --- subscriptions and tenants -------------------------------------------------------------------------------
def subscription_body(sub: dict[str, Any]) -> dict[str, Any]:
    """A stored subscription in the shape of the subscriptions spec (Subscription, 2022-12-01)."""
    body = {
        "id": sub["id"],
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub["subscriptionId"],
        "tenantId": sub.get("tenantId", TENANT_ID),
        "displayName": sub["displayName"],
        "state": sub.get("state", "Enabled"),
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }
    if sub.get("tags"):
        body["tags"] = dict(sub["tags"])
    return body


def list_subscriptions(b: Backends, c: Call) -> Reply:
    subs = sorted(b.ctx.store.subscriptions.values(), key=lambda s: s["subscriptionId"])
    reply = page(b, c, [subscription_body(s) for s in subs])
    assert reply.body is not None
    reply.body["count"] = {"type": "Total", "value": len(subs)}
    return reply


def get_subscription(b: Backends, c: Call) -> Reply:
    return ok(subscription_body(b.ctx.require_subscription(c.params["subscriptionId"])))


def list_tenants(b: Backends, c: Call) -> Reply:
    tenant = {
        "id": f"/tenants/{TENANT_ID}",
        "tenantId": TENANT_ID,
        "tenantCategory": "Home",
        "displayName": "ARM emulator tenant",
        "defaultDomain": "emulator.localhost",
        "domains": ["emulator.localhost"],
        "tenantType": "AAD",
    }
    return page(b, c, [tenant])


# --- resource lists and $filter ------------------------------------------------------------------------------
class InvalidFilterInQueryString(errors.BadRequest):
    code = "InvalidFilterInQueryString"


_STRING = r"'((?:[^']|'')*)'"
_COMPARE = re.compile(rf"^(\w+(?:/\w+)?)\s+(eq|ne)\s+{_STRING}$", re.IGNORECASE)
_SUBSTRING = re.compile(rf"^substringof\(\s*{_STRING}\s*,\s*(\w+)\s*\)$", re.IGNORECASE)
_STARTSWITH = re.compile(rf"^startswith\(\s*tagname\s*,\s*{_STRING}\s*\)$", re.IGNORECASE)
_SPLIT = re.compile(r"\s+(and|or)\s+(?=(?:[^']*'[^']*')*[^']*$)", re.IGNORECASE)  # outside quotes
_PROPERTIES = ("name", "resourcetype", "location", "resourcegroup")


def _unquote(text: str) -> str:
    return text.replace("''", "'")


def _bad_filter(clause: str) -> InvalidFilterInQueryString:
    return InvalidFilterInQueryString(
        f"The $filter '{clause}' is invalid. Supported: 'resourceType', 'name', 'location' and 'resourceGroup' with "
        "'eq' or 'ne', substringof('value', name|resourceGroup), tagName eq / tagValue eq, startswith(tagName, "
        "'prefix'), joined by 'and' / 'or' (emulator wording)."
    )


def _field(resource: dict[str, Any], prop: str) -> str:
    if prop == "resourcegroup":
        return parse(resource["id"]).resource_group or ""
    if prop == "resourcetype":
        return str(resource.get("type", ""))
    if prop == "location":
        return region(str(resource.get("location", "")))
    return str(resource.get("name", ""))


def _clause(clause: str) -> Callable[[dict[str, Any]], bool] | tuple[str, str]:
    """A predicate, or ('tagname' | 'tagvalue', value) to be paired with its partner in the same 'and' group."""
    m = _COMPARE.match(clause)
    if m:
        prop, op, value = m.group(1).lower(), m.group(2).lower(), _unquote(m.group(3))
        if prop in ("tagname", "tagvalue"):
            if op != "eq":
                raise _bad_filter(clause)
            return (prop, value)
        if prop not in _PROPERTIES:
            raise _bad_filter(clause)
        want = region(value) if prop == "location" else value.lower()
        if op == "eq":
            return lambda r: _field(r, prop).lower() == want
        return lambda r: _field(r, prop).lower() != want
    m = _SUBSTRING.match(clause)
    if m and m.group(2).lower() in ("name", "resourcegroup"):
        needle, prop = _unquote(m.group(1)).lower(), m.group(2).lower()
        return lambda r: needle in _field(r, prop).lower()
    m = _STARTSWITH.match(clause)
    if m:
        prefix = _unquote(m.group(1)).lower()
        return lambda r: any(k.lower().startswith(prefix) for k in (r.get("tags") or {}))
    raise _bad_filter(clause)


def _tag_predicate(name: str | None, value: str | None) -> Callable[[dict[str, Any]], bool]:
    """Tag names compare without case, values with case (as ARM stores them)."""

    def matches(r: dict[str, Any]) -> bool:
        tags = r.get("tags") or {}
        if name is None:
            return value in tags.values()
        return any(k.lower() == name.lower() and (value is None or v == value) for k, v in tags.items())

    return matches


def parse_filter(text: str | None) -> tuple[Callable[[dict[str, Any]], bool], bool]:
    """($filter predicate, whether it filters on tags). An OR of AND groups, as OData's precedence has it."""
    if not text or not text.strip():
        return (lambda r: True), False
    parts = _SPLIT.split(text.strip())
    groups: list[list[str]] = [[parts[0]]]
    for op, clause in zip(parts[1::2], parts[2::2], strict=True):
        if op.lower() == "or":
            groups.append([clause])
        else:
            groups[-1].append(clause)
    alternatives: list[list[Callable[[dict[str, Any]], bool]]] = []
    by_tag = False
    for group in groups:
        predicates: list[Callable[[dict[str, Any]], bool]] = []
        tag: dict[str, str] = {}
        for clause in group:
            parsed = _clause(clause.strip())
            if isinstance(parsed, tuple):
                tag[parsed[0]] = parsed[1]
            else:
                predicates.append(parsed)
        if tag:
            by_tag = True
            predicates.append(_tag_predicate(tag.get("tagname"), tag.get("tagvalue")))
        alternatives.append(predicates)
    return (lambda r: any(all(p(r) for p in group) for group in alternatives)), by_tag


_GENERIC_KEYS = ("id", "name", "type", "kind", "location", "extendedLocation", "managedBy", "sku", "plan", "identity")


def generic_resource(body: dict[str, Any], *, with_tags: bool, expand: Iterable[str]) -> dict[str, Any]:
    """A resource as Resources_List shows it (GenericResourceExpanded): no properties."""
    out = {k: body[k] for k in _GENERIC_KEYS if k in body}
    if with_tags and body.get("tags"):
        out["tags"] = dict(body["tags"])
    if "provisioningstate" in expand:
        state = (body.get("properties") or {}).get("provisioningState")
        if state:
            out["provisioningState"] = state
    return out


def _listed(b: Backends, scope: str) -> list[dict[str, Any]]:
    """Every resource under ``scope`` (resource groups are not resources), oldest first."""
    prefix = scope.lower().rstrip("/") + "/"
    out = []
    for key, record in b.ctx.store.resources.items():
        if not key.startswith(prefix) or record["meta"].get("deleting") or "/providers/" not in key:
            continue
        out.append(record["body"])
    return out


def list_resources(b: Backends, c: Call) -> Reply:
    sub = c.params["subscriptionId"]
    b.ctx.require_subscription(sub)
    scope = f"/subscriptions/{sub}"
    if "resourceGroupName" in c.params:
        scope = b.ctx.require_group(parse(f"{scope}/resourceGroups/{c.params['resourceGroupName']}"))["body"]["id"]
    predicate, by_tag = parse_filter(c.query.get("$filter"))
    expand = {e.strip().lower() for e in c.query.get("$expand", "").split(",") if e.strip()}
    values = [generic_resource(r, with_tags=not by_tag, expand=expand) for r in _listed(b, scope) if predicate(r)]
    return _paged(b, c, values)


def _paged(b: Backends, c: Call, values: list[dict[str, Any]]) -> Reply:
    """``page`` with ``$top`` as the page size when given (ARM: "the number of recommendations per page")."""
    top = c.query.get("$top")
    if top is None:
        return page(b, c, values)
    if not top.isdigit() or int(top) < 1:
        raise errors.InvalidParameter(f"The $top value '{top}' is invalid.", target="$top")
    return page(b, c, values, int(top))


def filtered_groups(b: Backends, c: Call, groups: list[dict[str, Any]]) -> Reply:
    """ResourceGroups_List with its ``$filter`` (tagName / tagValue) and ``$top``."""
    predicate, _ = parse_filter(c.query.get("$filter"))
    return _paged(b, c, [g for g in groups if predicate(g)])


# --- tags ----------------------------------------------------------------------------------------------------
def list_tag_names(b: Backends, c: Call) -> Reply:
    """Tags_List: every tag name used on the subscription's resources and groups, its values and their counts."""
    sub = c.params["subscriptionId"]
    base = f"/subscriptions/{b.ctx.require_subscription(sub)['subscriptionId']}"
    names: dict[str, dict[str, Any]] = {}
    for key, record in b.ctx.store.resources.items():
        if not key.startswith(f"/subscriptions/{sub.lower()}/") or record["meta"].get("deleting"):
            continue
        for name, value in (record["body"].get("tags") or {}).items():
            entry = names.setdefault(name.lower(), {"tagName": name, "values": {}})
            entry["values"][value] = entry["values"].get(value, 0) + 1
    values = []
    for entry in sorted(names.values(), key=lambda e: e["tagName"].lower()):
        name_id = f"{base}/tagNames/{entry['tagName']}"
        counted = entry["values"]
        values.append(
            {
                "id": name_id,
                "tagName": entry["tagName"],
                "count": {"type": "Total", "value": sum(counted.values())},
                "values": [
                    {"id": f"{name_id}/tagValues/{v}", "tagValue": v, "count": {"type": "Total", "value": n}}
                    for v, n in sorted(counted.items())
                ],
            }
        )
    return page(b, c, values)


# --- provider metadata ---------------------------------------------------------------------------------------
class Catalogue:
    """Resource types and api-versions per provider namespace, from the route table (so what a client reads here
    is what the emulator accepts); plus the types of resources seeded "as given", with the resources versions."""

    def __init__(self, routes: list[Route], resources_versions: tuple[str, ...]):
        self.resources_versions = resources_versions
        self.types: dict[str, dict[str, tuple[str, ...]]] = {}
        for r in routes:
            if r.provider != "Microsoft.Compute" or not r.resource_type:
                continue
            self._add(r.provider, r.resource_type, r.api_versions)
        for rtype in ("resourceGroups", "subscriptions/resourceGroups", "tags", "resources", "subscriptions/resources",
                      "subscriptions/resourceGroups/resources", "subscriptions/tagNames", "providers",
                      "subscriptions/providers", "operations"):  # fmt: skip
            self._add(RES, rtype, resources_versions)
        for rtype in ("subscriptions", "tenants"):
            self._add(RES, rtype, SUBSCRIPTIONS_VERSIONS)

    def _add(self, namespace: str, rtype: str, versions: tuple[str, ...]) -> None:
        known = self.types.setdefault(namespace, {})
        merged = set(known.get(rtype, ())) | set(versions)
        known[rtype] = tuple(sorted(merged, reverse=True))

    def modelled(self, resource_type: str) -> bool:
        namespace, _, rest = resource_type.partition("/")
        return any(
            ns.lower() == namespace.lower() and any(t.lower() == rest.lower() for t in types)
            for ns, types in self.types.items()
        )

    def namespaces(self, b: Backends) -> dict[str, dict[str, tuple[str, ...]]]:
        """The modelled providers plus those of stored resources of other types."""
        out = {ns: dict(types) for ns, types in self.types.items()}
        for record in b.ctx.store.resources.values():
            rid = parse(record["body"]["id"])
            if rid.namespace and not self.modelled(rid.type):
                types = next((t for ns, t in out.items() if ns.lower() == rid.namespace.lower()), None)
                if types is None:
                    types = out.setdefault(rid.namespace, {})
                types.setdefault("/".join(rid.types), self.resources_versions)
        return out

    def provider(self, b: Backends, namespace: str, subscription: str | None) -> dict[str, Any]:
        found = next(((ns, t) for ns, t in self.namespaces(b).items() if ns.lower() == namespace.lower()), None)
        if found is None:
            raise ProviderNotFound(namespace)
        ns, types = found
        body: dict[str, Any] = {
            "id": f"/subscriptions/{subscription}/providers/{ns}" if subscription else f"/providers/{ns}",
            "namespace": ns,
            "resourceTypes": [
                {
                    "resourceType": rtype,
                    "locations": [],
                    "apiVersions": list(versions),
                    "defaultApiVersion": versions[0],
                    "capabilities": "None",
                }
                for rtype, versions in sorted(types.items())
            ],
        }
        if subscription:
            body["registrationState"] = "Registered"
            body["registrationPolicy"] = "RegistrationRequired"
        return body


class ProviderNotFound(errors.ArmError):
    status = 404
    code = "InvalidResourceNamespace"

    def __init__(self, namespace: str):
        super().__init__(f"The resource namespace '{namespace}' is invalid.")


# --- resources of types the emulator does not model ----------------------------------------------------------
def _untyped(b: Backends, catalogue: Catalogue, c: Call) -> dict[str, Any]:
    try:
        rid = parse(c.path)
    except errors.ArmError:
        rid = None
    if rid is None or not rid.namespace:
        raise errors.InvalidResourceType(
            f"The resource type or operation at '{c.path}' is not emulated. See emulator/README.md for the "
            "supported operations."
        )
    if catalogue.modelled(rid.type):
        raise errors.BadRequest(f"The HTTP method '{c.method}' is not supported for '{c.path}' by the emulator.")
    record = b.ctx.find(c.path)
    if record is None:
        b.ctx.require_group(rid)
        raise errors.InvalidResourceType(
            f"The resource type '{rid.type}' is not emulated and no resource '{c.path}' was seeded. See "
            "emulator/README.md for the supported operations."
        )
    return record


def untyped_handler(catalogue: Catalogue) -> Callable[[Backends, Call], Reply]:
    """GET, PUT (tags, properties), PATCH (tags) and DELETE of a resource seeded as given; ARM passes these to the
    provider, which the emulator does not have, so the stored document is all there is."""

    def handle(b: Backends, c: Call) -> Reply:
        if c.method == "HEAD":
            try:
                _untyped(b, catalogue, c)
            except errors.ArmError:
                return Reply(404)
            return Reply(204)
        record = _untyped(b, catalogue, c)
        if c.api_version not in catalogue.resources_versions:
            raise refusal(RES, "", c.api_version, catalogue.resources_versions, "global")
        body = record["body"]
        if c.method == "GET":
            return ok(body)
        if c.method == "DELETE":
            b.ctx.store.remove(body["id"])
            return Reply(200, None)
        patch = c.json()
        tags = patch.get("tags")
        if tags is not None and not isinstance(tags, dict):
            raise errors.InvalidRequestContent("The request content was invalid and could not be deserialized: tags.")
        if tags is not None or c.method == "PUT":
            b.resources.check_tags(tags or {})
            body["tags"] = dict(tags or {})
        if c.method == "PUT" and isinstance(patch.get("properties"), dict):
            body["properties"] = patch["properties"]
        b.ctx.store.mark_record(record)
        return Reply(200, body, {}, Result(body))

    return handle


def untyped_action(method: str) -> Callable[[str], str]:
    verb = {"GET": "read", "DELETE": "delete"}.get(method, "write")

    def action(path: str) -> str:
        try:
            rtype = parse(path).type
        except errors.ArmError:
            rtype = ""
        return f"{rtype or 'Microsoft.Resources/resources'}/{verb}"

    return action


def cloud_metadata(base_url: str, audience: str) -> dict[str, Any]:
    """The cloud document ARM serves at ``/metadata/endpoints?api-version=2022-09-01`` (what ``az cloud register``
    reads to fill a cloud's endpoints): this emulator as the resource manager; tokens come from its managed-identity
    endpoint, so the login endpoint is only a placeholder."""
    return {
        "name": "ArmEmulator",
        "resourceManager": base_url + "/",
        "portal": base_url + "/",
        "gallery": base_url + "/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com",
            "audiences": ["https://management.core.windows.net/", audience],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net"},
    }
