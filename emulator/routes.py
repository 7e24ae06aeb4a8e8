"""The ARM route table: path template, method, operationId, RBAC action, accepted api-versions, handler.

The operationIds and paths are the specs' (GalleryRP 2026-03-03, ComputeRP 2026-03-01, resources 2025-04-01).
Accepted api-versions per provider: emulator/apiversions.py (every stable version the SDKs, the Azure CLI and Az
PowerShell send); anything else is refused as ARM refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.apiversions import ANY_COMPUTE, COMPUTE_VERSIONS, GALLERY_VERSIONS, RESOURCES_VERSIONS
from emulator.core.routing import Route, Router
from emulator.resources import generic
from emulator.resources.generic import SUBSCRIPTIONS_VERSIONS
from emulator.responses import Backends, Call, Reply, deleted, ok, operation_status, page, written

SUB = "/subscriptions/{subscriptionId}"
RG = SUB + "/resourceGroups/{resourceGroupName}"
IMAGE = RG + "/providers/Microsoft.Compute/images/{imageName}"
GALLERY = RG + "/providers/Microsoft.Compute/galleries/{galleryName}"
DEFINITION = GALLERY + "/images/{galleryImageName}"
VERSION = DEFINITION + "/versions/{galleryImageVersionName}"
VMSS = RG + "/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}"
VM = RG + "/providers/Microsoft.Compute/virtualMachines/{vmName}"
TAGS = "/{scope}/providers/Microsoft.Resources/tags/default"


def _p(call: Call, name: str) -> str:
    return call.params[name]


Backend = Callable[[Backends], Any]
_VERBS = {"GET": "Get", "PUT": "CreateOrUpdate", "PATCH": "Update", "DELETE": "Delete"}
_ACTIONS = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


def _handler(method: str, backend: Backend, name: str) -> Callable[[Backends, Call], Reply]:
    """The standard handler shapes: GET -> 200 body; PUT/PATCH -> 200/201 (+LRO); DELETE -> 202/200/204."""

    def handle(b: Backends, c: Call) -> Reply:
        fn = getattr(backend(b), name)
        if method == "GET":
            return ok(fn(c.path))
        if method == "DELETE":
            return deleted(b, c, fn(c.path, api_version=c.api_version))
        b.ctx.refuse_deleting(c.path)
        return written(b, c, fn(c.path, c.json(), api_version=c.api_version))

    return handle


def resource_routes(
    template: str, op: str, rtype: str, versions: tuple[str, ...], kind: str, backend: Backend, methods: dict[str, str]
) -> list[Route]:
    """One route per method of a resource: operationId ``{op}_{Verb}``, action ``{rtype}/{read|write|delete}``,
    handled by the backend method named in ``methods``."""
    return [
        Route(
            m,
            template,
            f"{op}_{_VERBS[m]}",
            f"{rtype}/{_ACTIONS[m]}",
            versions,
            _handler(m, backend, name),
            resource_type=kind,
        )
        for m, name in methods.items()
    ]


def list_route(
    template: str, op: str, rtype: str, versions: tuple[str, ...], kind: str, lister: Callable[[Backends, Call], Any]
) -> Route:
    return Route(
        "GET", template, op, f"{rtype}/read", versions, lambda b, c: page(b, c, lister(b, c)), resource_type=kind
    )


def _tags(method: str) -> Callable[[Backends, Call], Reply]:
    def handle(b: Backends, c: Call) -> Reply:
        scope = _p(c, "scope")
        if method == "GET":
            return ok(b.resources.get_at_scope(scope))
        if method == "DELETE":
            return Reply(200, None, {}, b.resources.delete_at_scope(scope))
        if method == "PUT":
            return written(b, c, b.resources.create_or_update_at_scope(scope, c.json()))
        return written(b, c, b.resources.update_at_scope(scope, c.json()))

    return handle


def _rg_put(b: Backends, c: Call) -> Reply:
    result = b.resources.create_or_update_resource_group(_p(c, "subscriptionId"), _p(c, "resourceGroupName"), c.json())
    return written(b, c, result)


def _version_get(b: Backends, c: Call) -> Reply:
    versions = b.compute.versions
    return ok(versions.get_gallery_image_version(c.path, expand=c.query.get("$expand"), api_version=c.api_version))


def _sub(c: Call) -> str:
    return _p(c, "subscriptionId")


def _rg(c: Call) -> tuple[str, str]:
    return _p(c, "subscriptionId"), _p(c, "resourceGroupName")


def _parent(c: Call) -> str:
    return c.path.rstrip("/").rsplit("/", 1)[0]


def build_router() -> Router:
    g, cv, rv, res = GALLERY_VERSIONS, COMPUTE_VERSIONS, RESOURCES_VERSIONS, "Microsoft.Resources"
    rgs = "Microsoft.Resources/subscriptions/resourceGroups"
    img, gl = "Microsoft.Compute/images", "Microsoft.Compute/galleries"
    gi, gv = f"{gl}/images", f"{gl}/images/versions"
    ss, vm = "Microsoft.Compute/virtualMachineScaleSets", "Microsoft.Compute/virtualMachines"
    tags = "Microsoft.Resources/tags"
    cp = "/providers/Microsoft.Compute"
    routes = [
        # --- subscriptions, resource groups, tags at scope ------------------------------------------------------
        Route(
            "GET",
            SUB,
            "Subscriptions_Get",
            "Microsoft.Resources/subscriptions/read",
            tuple(sorted({*rv, *SUBSCRIPTIONS_VERSIONS}, reverse=True)),
            generic.get_subscription,
            res,
        ),
        Route(
            "GET",
            SUB + "/resourcegroups",
            "ResourceGroups_List",
            f"{rgs}/read",
            rv,
            lambda b, c: generic.filtered_groups(b, c, b.resources.list_resource_groups(_sub(c))),
            res,
        ),
        Route("HEAD", RG, "ResourceGroups_CheckExistence", f"{rgs}/read", rv, _rg_exists, res),
        Route("PUT", RG, "ResourceGroups_CreateOrUpdate", f"{rgs}/write", rv, _rg_put, res),
        Route(
            "GET",
            RG,
            "ResourceGroups_Get",
            f"{rgs}/read",
            rv,
            lambda b, c: ok(b.resources.get_resource_group(*_rg(c))),
            res,
        ),
        Route(
            "DELETE",
            RG,
            "ResourceGroups_Delete",
            f"{rgs}/delete",
            rv,
            lambda b, c: deleted(b, c, b.resources.delete_resource_group(*_rg(c))),
            res,
        ),
        *[Route(m, TAGS, f"Tags_{v}AtScope", f"{tags}/{_ACTIONS[m]}", rv, _tags(m), res) for m, v in _VERBS.items()],
        # --- managed images -------------------------------------------------------------------------------------
        list_route(SUB + f"{cp}/images", "Images_List", img, cv, "images", lambda b, c: b.compute.images.list(_sub(c))),
        list_route(
            RG + f"{cp}/images",
            "Images_ListByResourceGroup",
            img,
            cv,
            "images",
            lambda b, c: b.compute.images.list_by_resource_group(*_rg(c)),
        ),
        *resource_routes(
            IMAGE,
            "Images",
            img,
            cv,
            "images",
            lambda b: b.compute.images,
            {"GET": "get_image", "PUT": "create_or_update", "PATCH": "update", "DELETE": "delete"},
        ),
        # --- galleries, image definitions, image versions ------------------------------------------------------
        list_route(
            SUB + f"{cp}/galleries",
            "Galleries_List",
            gl,
            g,
            "galleries",
            lambda b, c: b.compute.galleries.list_galleries(_sub(c)),
        ),
        list_route(
            RG + f"{cp}/galleries",
            "Galleries_ListByResourceGroup",
            gl,
            g,
            "galleries",
            lambda b, c: b.compute.galleries.list_galleries_by_resource_group(*_rg(c)),
        ),
        *resource_routes(
            GALLERY,
            "Galleries",
            gl,
            g,
            "galleries",
            lambda b: b.compute.galleries,
            {
                "GET": "get_gallery",
                "PUT": "create_or_update_gallery",
                "PATCH": "update_gallery",
                "DELETE": "delete_gallery",
            },
        ),
        list_route(
            GALLERY + "/images",
            "GalleryImages_ListByGallery",
            gi,
            g,
            "galleries/images",
            lambda b, c: b.compute.galleries.list_gallery_images_by_gallery(_parent(c)),
        ),
        *resource_routes(
            DEFINITION,
            "GalleryImages",
            gi,
            g,
            "galleries/images",
            lambda b: b.compute.galleries,
            {
                "GET": "get_gallery_image",
                "PUT": "create_or_update_gallery_image",
                "PATCH": "update_gallery_image",
                "DELETE": "delete_gallery_image",
            },
        ),
        list_route(
            DEFINITION + "/versions",
            "GalleryImageVersions_ListByGalleryImage",
            gv,
            g,
            "galleries/images/versions",
            lambda b, c: b.compute.versions.list_gallery_image_versions_by_gallery_image(
                _parent(c), api_version=c.api_version
            ),
        ),
        Route(
            "GET",
            VERSION,
            "GalleryImageVersions_Get",
            f"{gv}/read",
            g,
            _version_get,
            resource_type="galleries/images/versions",
        ),
        *resource_routes(
            VERSION,
            "GalleryImageVersions",
            gv,
            g,
            "galleries/images/versions",
            lambda b: b.compute.versions,
            {
                "PUT": "create_or_update_gallery_image_version",
                "PATCH": "update_gallery_image_version",
                "DELETE": "delete_gallery_image_version",
            },
        ),
        # --- scale sets and virtual machines --------------------------------------------------------------------
        list_route(
            SUB + f"{cp}/virtualMachineScaleSets",
            "VirtualMachineScaleSets_ListAll",
            ss,
            cv,
            "virtualMachineScaleSets",
            lambda b, c: b.compute.machines.list_all_virtual_machine_scale_sets(_sub(c)),
        ),
        list_route(
            RG + f"{cp}/virtualMachineScaleSets",
            "VirtualMachineScaleSets_List",
            ss,
            cv,
            "virtualMachineScaleSets",
            lambda b, c: b.compute.machines.list_virtual_machine_scale_sets(*_rg(c)),
        ),
        *resource_routes(
            VMSS,
            "VirtualMachineScaleSets",
            ss,
            cv,
            "virtualMachineScaleSets",
            lambda b: b.compute.machines,
            {
                "GET": "get_virtual_machine_scale_set",
                "PUT": "create_or_update_virtual_machine_scale_set",
                "PATCH": "update_virtual_machine_scale_set",
                "DELETE": "delete_virtual_machine_scale_set",
            },
        ),
        list_route(
            RG + f"{cp}/virtualMachines",
            "VirtualMachines_List",
            vm,
            cv,
            "virtualMachines",
            lambda b, c: b.compute.machines.list_virtual_machines(*_rg(c)),
        ),
        *resource_routes(
            VM,
            "VirtualMachines",
            vm,
            cv,
            "virtualMachines",
            lambda b: b.compute.machines,
            {
                "GET": "get_virtual_machine",
                "PUT": "create_or_update_virtual_machine",
                "DELETE": "delete_virtual_machine",
            },
        ),
        # --- long-running operation status ----------------------------------------------------------------------
        Route(
            "GET",
            SUB + f"{cp}/locations/{{location}}/capsOperations/{{operationId}}",
            "GalleryOperations_Get",
            "Microsoft.Compute/locations/capsOperations/read",
            ANY_COMPUTE,
            operation_status,
            resource_type="locations/capsOperations",
        ),
        Route(
            "GET",
            SUB + f"{cp}/locations/{{location}}/operations/{{operationId}}",
            "Operations_Get",
            "Microsoft.Compute/locations/operations/read",
            ANY_COMPUTE,
            operation_status,
            resource_type="locations/operations",
        ),
    ]
    return Router(routes + generic_routes(routes))


def _rg_exists(b: Backends, c: Call) -> Reply:
    b.resources.get_resource_group(*_rg(c))
    return Reply(204)


def generic_routes(typed: list[Route]) -> list[Route]:
    """What ARM answers itself (subscriptions, tenants, resource lists, providers, tag names, cloud metadata),
    and last the generic ``/{resourceId}`` routes, which take whatever no typed route did."""
    rv, sv, res = RESOURCES_VERSIONS, SUBSCRIPTIONS_VERSIONS, "Microsoft.Resources"
    catalogue = generic.Catalogue(typed, rv)
    providers = "Microsoft.Resources/subscriptions/providers/read"

    def provider(b: Backends, c: Call) -> Reply:
        return ok(catalogue.provider(b, c.params["resourceProviderNamespace"], c.params.get("subscriptionId")))

    def provider_list(b: Backends, c: Call) -> Reply:
        sub = b.ctx.require_subscription(_sub(c))["subscriptionId"]
        return page(b, c, [catalogue.provider(b, ns, sub) for ns in sorted(catalogue.namespaces(b))])

    untyped = generic.untyped_handler(catalogue)
    by_id = [
        Route(
            m,
            "/{resourceId}",
            f"Resources_{v}ById",
            "",
            generic.ANY_VERSION,
            untyped,
            res,
            action_of=generic.untyped_action(m),
        )
        for m, v in (
            ("GET", "Get"),
            ("PUT", "CreateOrUpdate"),
            ("PATCH", "Update"),
            ("DELETE", "Delete"),
            ("HEAD", "CheckExistence"),
        )
    ]
    return [
        Route(
            "GET",
            "/subscriptions",
            "Subscriptions_List",
            "Microsoft.Resources/subscriptions/read",
            sv,
            generic.list_subscriptions,
            res,
            "subscriptions",
        ),
        Route("GET", "/tenants", "Tenants_List", "Microsoft.Resources/tenants/read", sv, generic.list_tenants, res),
        Route(
            "GET",
            SUB + "/resources",
            "Resources_List",
            "Microsoft.Resources/subscriptions/resources/read",
            rv,
            generic.list_resources,
            res,
        ),
        Route(
            "GET",
            RG + "/resources",
            "Resources_ListByResourceGroup",
            "Microsoft.Resources/subscriptions/resourceGroups/resources/read",
            rv,
            generic.list_resources,
            res,
        ),
        Route("GET", SUB + "/tagNames", "Tags_List", "Microsoft.Resources/tags/read", rv, generic.list_tag_names, res),
        Route("GET", SUB + "/providers", "Providers_List", providers, rv, provider_list, res),
        Route("GET", SUB + "/providers/{resourceProviderNamespace}", "Providers_Get", providers, rv, provider, res),
        Route(
            "GET", "/providers/{resourceProviderNamespace}", "Providers_GetAtTenantScope", providers, rv, provider, res
        ),
        *by_id,
    ]


POLL_OPERATIONS = ("GalleryOperations_Get", "Operations_Get")
