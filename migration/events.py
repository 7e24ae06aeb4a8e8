"""Which Event Grid events concern us: successful writes to a managed image, or to its tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from migration.errors import InvalidRequest
from migration.resource_ids import ImageId

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
IMAGE_WRITE = "microsoft.compute/images/write"
TAGS_WRITE = "microsoft.resources/tags/write"
TAGS_SUFFIX = "/providers/microsoft.resources/tags/default"


@dataclass(frozen=True)
class EventDecision:
    image: ImageId | None
    reason: str


def strip_tags_suffix(subject: str) -> str:
    """A Tags-API event's subject may be ``{resourceId}/providers/Microsoft.Resources/tags/default``."""
    if subject.lower().endswith(TAGS_SUFFIX):
        return subject[: -len(TAGS_SUFFIX)]
    return subject


def image_from_event(event_type: object, subject: object, data: object) -> EventDecision:
    """The managed image an event is about, or None with the reason it is ignored. Never raises."""
    if event_type != WRITE_SUCCESS:
        return EventDecision(None, f"event type {str(event_type)[:100]} is not {WRITE_SUCCESS}")
    if not isinstance(subject, str) or not subject:
        return EventDecision(None, "event has no subject")
    operation = data.get("operationName") if isinstance(data, Mapping) else None
    if not isinstance(operation, str) or operation.lower() not in (IMAGE_WRITE, TAGS_WRITE):
        return EventDecision(None, f"operation {str(operation)[:100]} is neither an image nor a tags write")
    try:
        image = ImageId.parse(strip_tags_suffix(subject))
    except InvalidRequest as exc:
        return EventDecision(None, f"subject is not a managed image: {exc.message}")
    return EventDecision(image, operation)
