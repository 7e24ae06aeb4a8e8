"""ARM reads the triggers need before a migration exists (not activities: they run in the trigger itself)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from activities import _arm
from migration import arm_json
from migration.errors import InvalidRequest
from migration.resource_ids import GalleryId, ImageId
from migration.source import SourceImage


def read_image(image: ImageId) -> SourceImage | None:
    """The image as a migration's preflight would read it (events carry no tags); None when it does not exist."""
    with _arm.arm_errors(f"reading managed image {image}"):
        try:
            found = _arm.compute(image.subscription_id).images.get(image.resource_group, image.name)
        except ResourceNotFoundError:
            return None
    return arm_json.source_image(found.as_dict())


@dataclass(frozen=True)
class ResolvedGallery:
    id: GalleryId
    location: str
    requests: int  # ARM reads this resolution took (0 when remembered)


GALLERY_CACHE_SECONDS = 300.0
_galleries: dict[tuple[str, str, str], tuple[ResolvedGallery, float]] = {}
_subscription_listing_refused: set[str] = set()


def resolve_gallery_name(image: ImageId, name: str) -> ResolvedGallery:
    """A gallery named in a tag: first in the image's resource group, then anywhere in its subscription.

    Remembered for a few minutes: a script tagging hundreds of images with the same gallery name would otherwise
    list the subscription's galleries for each of them. A stale entry is harmless: preflight's definition read
    answers ``ParentResourceNotFound`` for a gallery that is gone, and the migration fails with GalleryNotFound."""
    key = (image.subscription_id, image.resource_group.lower(), name.lower())
    cached = _galleries.get(key)
    if cached is not None and cached[1] > time.monotonic():
        return ResolvedGallery(cached[0].id, cached[0].location, requests=0)
    gallery = _find_gallery(image, name)
    _galleries[key] = (gallery, time.monotonic() + GALLERY_CACHE_SECONDS)
    return gallery


def forget_gallery_lookups() -> None:
    """Empty the cache (the devhost's ``--reset-hook``: tests sharing one host each start with a cold cache)."""
    _galleries.clear()
    _subscription_listing_refused.clear()


def _find_gallery(image: ImageId, name: str) -> ResolvedGallery:
    """One listing of the subscription's galleries answers both questions (the image's group preferred); a role
    on resource groups only may not list the subscription (403, remembered): then the image's group alone."""
    client = _arm.compute(image.subscription_id).galleries
    wanted, group = name.lower(), image.resource_group.lower()
    requests = 0
    with _arm.arm_errors(f"looking for gallery '{name}'"):
        if image.subscription_id not in _subscription_listing_refused:
            try:
                requests += 1
                found = [g for g in client.list() if (g.name or "").lower() == wanted]
                local = [g for g in found if GalleryId.parse(g.id).resource_group.lower() == group]
                if local or len(found) == 1:
                    chosen = (local or found)[0]
                    return ResolvedGallery(GalleryId.parse(chosen.id), str(chosen.location), requests)
                if len(found) > 1:
                    raise InvalidRequest(
                        f"gallery name '{name}' is ambiguous in the subscription; tag with the gallery's ID"
                    )
                raise InvalidRequest(
                    f"gallery '{name}' was found neither in {image.resource_group_id} nor its subscription"
                )
            except HttpResponseError as exc:
                if exc.status_code != 403:
                    raise
                _subscription_listing_refused.add(image.subscription_id)
        requests += 1
        local = [g for g in client.list_by_resource_group(image.resource_group) if (g.name or "").lower() == wanted]
    if local:
        return ResolvedGallery(GalleryId.parse(local[0].id), str(local[0].location), requests)
    # The role is on resource groups only: a retry would change nothing, so answer on the image.
    raise InvalidRequest(
        f"gallery '{name}' is not in {image.resource_group} and the app may not list the galleries of "
        "the subscription; tag with the gallery's resource ID"
    )
