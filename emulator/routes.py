"""The ARM route table: path template, method, operationId, RBAC action, accepted api-versions, handler.

The operationIds and paths are the specs' (GalleryRP 2026-03-03, ComputeRP 2026-03-01, resources 2025-04-01).
Accepted api-versions per provider: those the pinned SDKs send and those of the stored specs, plus a few older
stable ones; anything else is refused as ARM refuses it.
"""

from __future__ import annotations

from emulator.core.routing import Route, Router
from emulator.responses import Backends, Call, Reply, deleted, ok, operation_status, page, written

COMPUTE_VERSIONS = ("2026-04-01", "2026-03-01", "2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01")
GALLERY_VERSIONS = ("2026-03-03", "2025-03-03", "2024-03-03", "2023-07-03", "2022-03-03")
RESOURCES_VERSIONS = ("2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2022-09-01", "2021-04-01")
ANY_COMPUTE = tuple(sorted(set(COMPUTE_VERSIONS + GALLERY_VERSIONS), reverse=True))

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


def _h_rg_put(b: Backends, c: Call) -> Reply:
    result = b.resources.create_or_update_resource_group(_p(c, "subscriptionId"), _p(c, "resourceGroupName"), c.json())
    return written(b, c, result)


def _images(b: Backends, c: Call) -> Reply:
    return page(b, c, b.compute.images.list_by_resource_group(_p(c, "subscriptionId"), _p(c, "resourceGroupName")))


def _tags_put(b: Backends, c: Call) -> Reply:
    return written(b, c, b.resources.create_or_update_at_scope(_p(c, "scope"), c.json()))


def _tags_patch(b: Backends, c: Call) -> Reply:
    return written(b, c, b.resources.update_at_scope(_p(c, "scope"), c.json()))


def _tags_delete(b: Backends, c: Call) -> Reply:
    result = b.resources.delete_at_scope(_p(c, "scope"))
    return Reply(200, None, {}, result)


def _version_get(b: Backends, c: Call) -> Reply:
    return ok(b.compute.versions.get_gallery_image_version(c.path, expand=c.query.get("$expand")))


def build_router() -> Router:
    g, cv, rv = GALLERY_VERSIONS, COMPUTE_VERSIONS, RESOURCES_VERSIONS
    ims, gal, ver, mac = "images", "galleries", "versions", "machines"
    img = "Microsoft.Compute/images"
    gl = "Microsoft.Compute/galleries"
    gi = "Microsoft.Compute/galleries/images"
    gv = "Microsoft.Compute/galleries/images/versions"
    ss = "Microsoft.Compute/virtualMachineScaleSets"
    vm = "Microsoft.Compute/virtualMachines"
    rgs = "Microsoft.Resources/subscriptions/resourceGroups"
    routes = [
        # --- subscriptions and resource groups ----------------------------------------------------------------
        Route(
            "GET",
            SUB,
            "Subscriptions_Get",
            "Microsoft.Resources/subscriptions/read",
            (*rv, "2022-12-01"),
            lambda b, c: ok(b.resources.get_subscription(_p(c, "subscriptionId"))),
            "Microsoft.Resources",
        ),
        Route(
            "GET",
            SUB + "/resourcegroups",
            "ResourceGroups_List",
            f"{rgs}/read",
            rv,
            lambda b, c: page(b, c, b.resources.list_resource_groups(_p(c, "subscriptionId"))),
            "Microsoft.Resources",
        ),
        Route("PUT", RG, "ResourceGroups_CreateOrUpdate", f"{rgs}/write", rv, _h_rg_put, "Microsoft.Resources"),
        Route(
            "GET",
            RG,
            "ResourceGroups_Get",
            f"{rgs}/read",
            rv,
            lambda b, c: ok(b.resources.get_resource_group(_p(c, "subscriptionId"), _p(c, "resourceGroupName"))),
            "Microsoft.Resources",
        ),
        Route(
            "DELETE",
            RG,
            "ResourceGroups_Delete",
            f"{rgs}/delete",
            rv,
            lambda b, c: deleted(
                b, c, b.resources.delete_resource_group(_p(c, "subscriptionId"), _p(c, "resourceGroupName"))
            ),
            "Microsoft.Resources",
        ),
        # --- tags at scope -------------------------------------------------------------------------------------
        Route(
            "GET",
            TAGS,
            "Tags_GetAtScope",
            "Microsoft.Resources/tags/read",
            rv,
            lambda b, c: ok(b.resources.get_at_scope(_p(c, "scope"))),
            "Microsoft.Resources",
        ),
        Route(
            "PUT",
            TAGS,
            "Tags_CreateOrUpdateAtScope",
            "Microsoft.Resources/tags/write",
            rv,
            _tags_put,
            "Microsoft.Resources",
        ),
        Route(
            "PATCH",
            TAGS,
            "Tags_UpdateAtScope",
            "Microsoft.Resources/tags/write",
            rv,
            _tags_patch,
            "Microsoft.Resources",
        ),
        Route(
            "DELETE",
            TAGS,
            "Tags_DeleteAtScope",
            "Microsoft.Resources/tags/delete",
            rv,
            _tags_delete,
            "Microsoft.Resources",
        ),
        # --- managed images ------------------------------------------------------------------------------------
        Route(
            "GET",
            SUB + "/providers/Microsoft.Compute/images",
            "Images_List",
            f"{img}/read",
            cv,
            lambda b, c: page(b, c, b.compute.images.list(_p(c, "subscriptionId"))),
            resource_type=ims,
        ),
        Route(
            "GET",
            RG + "/providers/Microsoft.Compute/images",
            "Images_ListByResourceGroup",
            f"{img}/read",
            cv,
            _images,
            resource_type=ims,
        ),
        Route(
            "GET",
            IMAGE,
            "Images_Get",
            f"{img}/read",
            cv,
            lambda b, c: ok(b.compute.images.get_image(c.path)),
            resource_type=ims,
        ),
        Route(
            "PUT",
            IMAGE,
            "Images_CreateOrUpdate",
            f"{img}/write",
            cv,
            lambda b, c: written(b, c, b.compute.images.create_or_update(c.path, c.json(), api_version=c.api_version)),
            resource_type=ims,
        ),
        Route(
            "PATCH",
            IMAGE,
            "Images_Update",
            f"{img}/write",
            cv,
            lambda b, c: written(b, c, b.compute.images.update(c.path, c.json(), api_version=c.api_version)),
            resource_type=ims,
        ),
        Route(
            "DELETE",
            IMAGE,
            "Images_Delete",
            f"{img}/delete",
            cv,
            lambda b, c: deleted(b, c, b.compute.images.delete(c.path, api_version=c.api_version)),
            resource_type=ims,
        ),
        # --- galleries -----------------------------------------------------------------------------------------
        Route(
            "GET",
            SUB + "/providers/Microsoft.Compute/galleries",
            "Galleries_List",
            f"{gl}/read",
            g,
            lambda b, c: page(b, c, b.compute.galleries.list_galleries(_p(c, "subscriptionId"))),
            resource_type=gal,
        ),
        Route(
            "GET",
            RG + "/providers/Microsoft.Compute/galleries",
            "Galleries_ListByResourceGroup",
            f"{gl}/read",
            g,
            lambda b, c: page(
                b,
                c,
                b.compute.galleries.list_galleries_by_resource_group(
                    _p(c, "subscriptionId"), _p(c, "resourceGroupName")
                ),
            ),
            resource_type=gal,
        ),
        Route(
            "GET",
            GALLERY,
            "Galleries_Get",
            f"{gl}/read",
            g,
            lambda b, c: ok(b.compute.galleries.get_gallery(c.path)),
            resource_type=gal,
        ),
        Route(
            "PUT",
            GALLERY,
            "Galleries_CreateOrUpdate",
            f"{gl}/write",
            g,
            lambda b, c: written(
                b, c, b.compute.galleries.create_or_update_gallery(c.path, c.json(), api_version=c.api_version)
            ),
            resource_type=gal,
        ),
        Route(
            "PATCH",
            GALLERY,
            "Galleries_Update",
            f"{gl}/write",
            g,
            lambda b, c: written(b, c, b.compute.galleries.update_gallery(c.path, c.json(), api_version=c.api_version)),
            resource_type=gal,
        ),
        Route(
            "DELETE",
            GALLERY,
            "Galleries_Delete",
            f"{gl}/delete",
            g,
            lambda b, c: deleted(b, c, b.compute.galleries.delete_gallery(c.path, api_version=c.api_version)),
            resource_type=gal,
        ),
        # --- image definitions ---------------------------------------------------------------------------------
        Route(
            "GET",
            GALLERY + "/images",
            "GalleryImages_ListByGallery",
            f"{gi}/read",
            g,
            lambda b, c: page(b, c, b.compute.galleries.list_gallery_images_by_gallery(c.path.rsplit("/", 1)[0])),
            resource_type=gal,
        ),
        Route(
            "GET",
            DEFINITION,
            "GalleryImages_Get",
            f"{gi}/read",
            g,
            lambda b, c: ok(b.compute.galleries.get_gallery_image(c.path)),
            resource_type=gal,
        ),
        Route(
            "PUT",
            DEFINITION,
            "GalleryImages_CreateOrUpdate",
            f"{gi}/write",
            g,
            lambda b, c: written(
                b, c, b.compute.galleries.create_or_update_gallery_image(c.path, c.json(), api_version=c.api_version)
            ),
            resource_type=gal,
        ),
        Route(
            "PATCH",
            DEFINITION,
            "GalleryImages_Update",
            f"{gi}/write",
            g,
            lambda b, c: written(
                b, c, b.compute.galleries.update_gallery_image(c.path, c.json(), api_version=c.api_version)
            ),
            resource_type=gal,
        ),
        Route(
            "DELETE",
            DEFINITION,
            "GalleryImages_Delete",
            f"{gi}/delete",
            g,
            lambda b, c: deleted(b, c, b.compute.galleries.delete_gallery_image(c.path, api_version=c.api_version)),
            resource_type=gal,
        ),
        # --- image versions ------------------------------------------------------------------------------------
        Route(
            "GET",
            DEFINITION + "/versions",
            "GalleryImageVersions_ListByGalleryImage",
            f"{gv}/read",
            g,
            lambda b, c: page(
                b, c, b.compute.versions.list_gallery_image_versions_by_gallery_image(c.path.rsplit("/", 1)[0])
            ),
            resource_type=ver,
        ),
        Route("GET", VERSION, "GalleryImageVersions_Get", f"{gv}/read", g, _version_get, resource_type=ver),
        Route(
            "PUT",
            VERSION,
            "GalleryImageVersions_CreateOrUpdate",
            f"{gv}/write",
            g,
            lambda b, c: written(
                b,
                c,
                b.compute.versions.create_or_update_gallery_image_version(c.path, c.json(), api_version=c.api_version),
            ),
            resource_type=ver,
        ),
        Route(
            "PATCH",
            VERSION,
            "GalleryImageVersions_Update",
            f"{gv}/write",
            g,
            lambda b, c: written(
                b, c, b.compute.versions.update_gallery_image_version(c.path, c.json(), api_version=c.api_version)
            ),
            resource_type=ver,
        ),
        Route(
            "DELETE",
            VERSION,
            "GalleryImageVersions_Delete",
            f"{gv}/delete",
            g,
            lambda b, c: deleted(
                b, c, b.compute.versions.delete_gallery_image_version(c.path, api_version=c.api_version)
            ),
            resource_type=ver,
        ),
        # --- scale sets and virtual machines -------------------------------------------------------------------
        Route(
            "GET",
            SUB + "/providers/Microsoft.Compute/virtualMachineScaleSets",
            "VirtualMachineScaleSets_ListAll",
            f"{ss}/read",
            cv,
            lambda b, c: page(b, c, b.compute.machines.list_all_virtual_machine_scale_sets(_p(c, "subscriptionId"))),
            resource_type=mac,
        ),
        Route(
            "GET",
            RG + "/providers/Microsoft.Compute/virtualMachineScaleSets",
            "VirtualMachineScaleSets_List",
            f"{ss}/read",
            cv,
            lambda b, c: page(
                b,
                c,
                b.compute.machines.list_virtual_machine_scale_sets(_p(c, "subscriptionId"), _p(c, "resourceGroupName")),
            ),
            resource_type=mac,
        ),
        Route(
            "GET",
            VMSS,
            "VirtualMachineScaleSets_Get",
            f"{ss}/read",
            cv,
            lambda b, c: ok(b.compute.machines.get_virtual_machine_scale_set(c.path)),
            resource_type=mac,
        ),
        Route(
            "PUT",
            VMSS,
            "VirtualMachineScaleSets_CreateOrUpdate",
            f"{ss}/write",
            cv,
            lambda b, c: written(b, c, b.compute.machines.create_or_update_virtual_machine_scale_set(c.path, c.json())),
            resource_type=mac,
        ),
        Route(
            "DELETE",
            VMSS,
            "VirtualMachineScaleSets_Delete",
            f"{ss}/delete",
            cv,
            lambda b, c: deleted(b, c, b.compute.machines.delete_virtual_machine_scale_set(c.path)),
            resource_type=mac,
        ),
        Route(
            "GET",
            RG + "/providers/Microsoft.Compute/virtualMachines",
            "VirtualMachines_List",
            f"{vm}/read",
            cv,
            lambda b, c: page(
                b, c, b.compute.machines.list_virtual_machines(_p(c, "subscriptionId"), _p(c, "resourceGroupName"))
            ),
            resource_type=mac,
        ),
        Route(
            "GET",
            VM,
            "VirtualMachines_Get",
            f"{vm}/read",
            cv,
            lambda b, c: ok(b.compute.machines.get_virtual_machine(c.path)),
            resource_type=mac,
        ),
        Route(
            "PUT",
            VM,
            "VirtualMachines_CreateOrUpdate",
            f"{vm}/write",
            cv,
            lambda b, c: written(
                b, c, b.compute.machines.create_or_update_virtual_machine(c.path, c.json(), api_version=c.api_version)
            ),
            resource_type=mac,
        ),
        Route(
            "DELETE",
            VM,
            "VirtualMachines_Delete",
            f"{vm}/delete",
            cv,
            lambda b, c: deleted(b, c, b.compute.machines.delete_virtual_machine(c.path, api_version=c.api_version)),
            resource_type=mac,
        ),
        # --- long-running operation status ---------------------------------------------------------------------
        Route(
            "GET",
            SUB + "/providers/Microsoft.Compute/locations/{location}/capsOperations/{operationId}",
            "GalleryOperations_Get",
            "Microsoft.Compute/locations/capsOperations/read",
            ANY_COMPUTE,
            operation_status,
            resource_type="locations/capsOperations",
        ),
        Route(
            "GET",
            SUB + "/providers/Microsoft.Compute/locations/{location}/operations/{operationId}",
            "Operations_Get",
            "Microsoft.Compute/locations/operations/read",
            ANY_COMPUTE,
            operation_status,
            resource_type="locations/operations",
        ),
    ]
    return Router(routes)


POLL_OPERATIONS = ("GalleryOperations_Get", "Operations_Get")
