"""Print the coverage table (operations, RBAC actions, api-versions) from the route table as Markdown:
``python -m emulator.coverage``. The README's table is this output (a test keeps them equal)."""

from __future__ import annotations

from emulator.resources.generic import ANY_VERSION, SUBSCRIPTIONS_VERSIONS
from emulator.routes import ANY_COMPUTE, COMPUTE_VERSIONS, GALLERY_VERSIONS, RESOURCES_VERSIONS, build_router

VERSION_SETS = {
    COMPUTE_VERSIONS: "compute",
    GALLERY_VERSIONS: "gallery",
    RESOURCES_VERSIONS: "resources",
    ANY_COMPUTE: "compute + gallery",
    SUBSCRIPTIONS_VERSIONS: "subscriptions",
    tuple(sorted({*RESOURCES_VERSIONS, *SUBSCRIPTIONS_VERSIONS}, reverse=True)): "resources + subscriptions",
}


def table() -> str:
    lines = [
        "| operationId | method | path | RBAC action | api-versions |",
        "|---|---|---|---|---|",
    ]
    for r in build_router().routes:
        path = r.template.replace("{subscriptionId}", "{s}").replace("{resourceGroupName}", "{rg}")
        versions = VERSION_SETS.get(r.api_versions) or ", ".join(r.api_versions)
        if r.api_versions is ANY_VERSION:
            versions = "resources (for types seeded as given)"
        action = "`{type}/" + {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(r.method, "write") + "`"
        lines.append(
            f"| {r.operation_id} | {r.method} | `{path}` | {f'`{r.action}`' if r.action else action} | {versions} |"
        )
    lines += [
        "",
        f"api-version sets: compute = {', '.join(COMPUTE_VERSIONS)}; gallery = {', '.join(GALLERY_VERSIONS)}; "
        f"resources = {', '.join(RESOURCES_VERSIONS)}; subscriptions = {', '.join(SUBSCRIPTIONS_VERSIONS)}.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
