"""Write the migration's state where users look: tags on the image, provenance tags on the version."""

from __future__ import annotations

from typing import Any

from activities import _arm
from activities.blueprint import bp
from activities.planning import merge_tags
from migration.tags import MigrationStatus, TagNames, status_tags


@bp.activity_trigger(input_name="payload")
def record_status(payload: dict[str, Any]) -> dict[str, Any]:
    """Merge ``migration-*`` tags onto the image (unless we deleted it) and provenance onto the version."""
    names = TagNames.from_settings(_arm.settings())
    tags = status_tags(
        names,
        MigrationStatus(payload["status"]),
        migration_id=payload["migrationId"],
        request_hash=payload.get("requestHash", ""),
        version_id=payload.get("versionId"),
        reason=payload.get("reason"),
    )
    image_tagged = not payload.get("sourceDeleted") and merge_tags(
        payload["sourceImageId"], tags, doing="recording the migration status on the image"
    )
    version_tagged = False
    if payload.get("versionId") and payload.get("provenance"):
        version_tagged = merge_tags(
            payload["versionId"], payload["provenance"], doing="recording provenance on the image version"
        )
    return {"imageTagged": image_tagged, "versionTagged": version_tagged}
