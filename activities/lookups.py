"""ARM reads the triggers need before a migration exists (not activities: they run in the trigger itself)."""

from __future__ import annotations

import time

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from activities import _arm
from migration.errors import InvalidRequest
from migration.resource_ids import GalleryId, ImageId


def read_image_tags(image: ImageId) -> dict[str, str] | None:
    """The image's current tags (events do not carry them); None when the image does not exist."""
    with _arm.arm_errors(f"reading managed image {image}"):
        try:
            found = _arm.compute(image.subscription_id).images.get(image.resource_group, image.name)
        except ResourceNotFoundError:
            return None
    return dict(found.tags or {})


GALLERY_CACHE_SECONDS = 300.0
_galleries: dict[tuple[str, str, str], tuple[GalleryId, float]] = {}


def resolve_gallery_name(image: ImageId, name: str) -> GalleryId:
    """A gallery named in a tag: first in the image's resource group, then anywhere in its subscription.

    Remembered for a few minutes: a script tagging hundreds of images with the same gallery name would otherwise
    list the subscription's galleries for each of them. A stale entry is harmless: preflight reads the gallery
    and fails with GalleryNotFound if it is gone."""
    key = (image.subscription_id, image.resource_group.lower(), name.lower())
    cached = _galleries.get(key)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    gallery = _find_gallery(image, name)
    _galleries[key] = (gallery, time.monotonic() + GALLERY_CACHE_SECONDS)
    return gallery


def forget_gallery_lookups() -> None:
    """Empty the cache (the devhost's ``--reset-hook``: tests sharing one host each start with a cold cache)."""
    _galleries.clear()


def _find_gallery(image: ImageId, name: str) -> GalleryId:
    client = _arm.compute(image.subscription_id).galleries
    wanted = name.lower()
    with _arm.arm_errors(f"looking for gallery '{name}'"):
        local = [g for g in client.list_by_resource_group(image.resource_group) if (g.name or "").lower() == wanted]
        if local:
            return GalleryId.parse(local[0].id)
        try:
            found = [g for g in client.list() if (g.name or "").lower() == wanted]
        except HttpResponseError as exc:
            if exc.status_code != 403:
                raise
            # The role is on resource groups only: a retry would change nothing, so answer on the image.
            raise InvalidRequest(
                f"gallery '{name}' is not in {image.resource_group} and the app may not list the galleries of "
                "the subscription; tag with the gallery's resource ID"
            ) from None
    if not found:
        raise InvalidRequest(f"gallery '{name}' was found neither in {image.resource_group_id} nor its subscription")
    if len(found) > 1:
        raise InvalidRequest(f"gallery name '{name}' is ambiguous in the subscription; tag with the gallery's ID")
    return GalleryId.parse(found[0].id)
