"""Deterministic Durable instance IDs: one migration per image, whatever starts it."""

from __future__ import annotations

import hashlib
import re

from migration.resource_ids import ImageId

PREFIX = "mig-"


def migration_instance_id(image: ImageId) -> str:
    """``mig-<name>-<hash of the case-insensitive ID>``: readable, and the same for every spelling of the ID."""
    digest = hashlib.sha256(image.key.encode()).hexdigest()[:16]
    readable = re.sub(r"[^a-z0-9-]", "-", image.name.lower())[:40].strip("-")
    return f"{PREFIX}{readable}-{digest}"


def is_migration_instance_id(text: str) -> bool:
    return bool(re.fullmatch(r"mig-[a-z0-9-]{0,40}-[0-9a-f]{16}", text))
