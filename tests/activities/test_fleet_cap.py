"""A plan or batch takes at most MAX_FLEET_IMAGES images (the constant, whatever its value: it bounds the
orchestration's history): exactly that many are listed, one more is refused with a reason naming the cap."""

from __future__ import annotations

import pytest

from activities import inventory
from migration.errors import InvalidRequest
from migration.fleet import MAX_FLEET_IMAGES, ImageItem

SUB = "11111111-1111-4111-8111-111111111111"
SCOPE = {"scope": {"subscriptions": [SUB]}}


def images(count: int) -> list[ImageItem]:
    base = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img-"
    return [ImageItem(id=f"{base}{i:06d}", name=f"img-{i:06d}") for i in range(count)]


def listing(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    monkeypatch.setattr(inventory, "_list", lambda subscription, group: images(count))


def test_a_scope_of_exactly_the_cap_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    listing(monkeypatch, MAX_FLEET_IMAGES)
    assert len(inventory.list_scope_images(SCOPE)["images"]) == MAX_FLEET_IMAGES


def test_one_image_over_the_cap_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    listing(monkeypatch, MAX_FLEET_IMAGES + 1)
    with pytest.raises(InvalidRequest) as refused:
        inventory.list_scope_images(SCOPE)
    assert f"holds {MAX_FLEET_IMAGES + 1} matching images" in refused.value.message
    assert f"takes at most {MAX_FLEET_IMAGES}" in refused.value.message


def test_duplicates_in_a_scope_count_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing a subscription and one of its groups names some images twice: they count once against the cap."""
    listing(monkeypatch, MAX_FLEET_IMAGES)
    body = {"scope": {"subscriptions": [SUB], "resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/rg"]}}
    assert len(inventory.list_scope_images(body)["images"]) == MAX_FLEET_IMAGES
