"""Print the coverage table (operations, RBAC actions, api-versions) from the route table as Markdown:
``python -m emulator.coverage``. The README's table is this output (a test keeps them equal)."""

from __future__ import annotations

from emulator.routes import ANY_COMPUTE, COMPUTE_VERSIONS, GALLERY_VERSIONS, RESOURCES_VERSIONS, build_router

VERSION_SETS = {
    COMPUTE_VERSIONS: "compute",
    GALLERY_VERSIONS: "gallery",
    RESOURCES_VERSIONS: "resources",
    ANY_COMPUTE: "compute + gallery",
}


def table() -> str:
    lines = [
        "| operationId | method | path | RBAC action | api-versions |",
        "|---|---|---|---|---|",
    ]
    for r in build_router().routes:
        path = r.template.replace("{subscriptionId}", "{s}").replace("{resourceGroupName}", "{rg}")
        versions = VERSION_SETS.get(r.api_versions) or ", ".join(r.api_versions)
        lines.append(f"| {r.operation_id} | {r.method} | `{path}` | `{r.action}` | {versions} |")
    lines += [
        "",
        f"api-version sets: compute = {', '.join(COMPUTE_VERSIONS)}; gallery = {', '.join(GALLERY_VERSIONS)}; "
        f"resources = {', '.join(RESOURCES_VERSIONS)}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
