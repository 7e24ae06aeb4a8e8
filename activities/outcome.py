"""Write the migration's state where users look: tags on the image, provenance tags on the version."""

from __future__ import annotations

from typing import Any

from activities import _arm
from activities.blueprint import bp
from activities.planning import merge_status_tags, merge_tags
from migration.tags import MigrationStatus, TagNames, status_tags


@bp.activity_trigger(input_name="payload")
def record_status(payload: dict[str, Any]) -> dict[str, Any]:
    """Merge ``migration-*`` tags onto the image (unless we deleted it) and provenance onto the version.

    On an image at ARM's tag limit only the status tags that fit are written (``tagsDropped`` names the rest)."""
    names = TagNames.from_settings(_arm.settings())
    tags = status_tags(
        names,
        MigrationStatus(payload["status"]),
        migration_id=payload["migrationId"],
        request_hash=payload.get("requestHash", ""),
        version_id=payload.get("versionId"),
        reason=payload.get("reason"),
    )
    written = None
    if not payload.get("sourceDeleted"):
        written = merge_status_tags(payload["sourceImageId"], tags, doing="recording the migration status on the image")
    version_tagged = False
    if payload.get("versionId") and payload.get("provenance"):
        version_tagged = merge_tags(
            payload["versionId"], payload["provenance"], doing="recording provenance on the image version"
        )
    return {
        "imageTagged": bool(written and written.tagged),
        "versionTagged": version_tagged,
        "tagsDropped": written.dropped if written else [],
    }
