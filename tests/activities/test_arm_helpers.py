"""The ARM helpers the deletion and version activities rely on, against a fake Compute client (every call
recorded): which scale sets count as users of the image, where they are looked for, how a previous deletion is
recognised, and how a version is read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from activities import _arm, source, version
from migration.errors import TransientArmError
from migration.resource_ids import ImageId, VersionId
from migration.settings import Settings

SUB = "11111111-1111-4111-8111-111111111111"
IMAGE = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/web"
VERSION = f"/subscriptions/{SUB}/resourceGroups/rg-g/providers/Microsoft.Compute/galleries/g/images/web/versions/1.0.0"


SETS = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/virtualMachineScaleSets"


def scale_set(name: str, image: str | None) -> Any:
    reference = (
        {"id": image} if image else {"publisher": "Canonical", "offer": "ubuntu", "sku": "s", "version": "latest"}
    )
    body = {
        "id": f"{SETS}/{name}",
        "properties": {"virtualMachineProfile": {"storageProfile": {"imageReference": reference}}},
    }
    return SimpleNamespace(id=body["id"], as_dict=lambda: body)


class FakeCompute:
    def __init__(self, sets: list[Any], found_version: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.sets, self.found_version = sets, found_version
        self.virtual_machine_scale_sets = SimpleNamespace(list_all=self._call("list_all"), list=self._call("list"))
        self.gallery_image_versions = SimpleNamespace(get=self._call("get"))

    def _call(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if name == "get":
                if self.found_version is None:
                    raise ResourceNotFoundError("gone")
                return SimpleNamespace(as_dict=lambda: self.found_version)
            return iter(self.sets)

        return call


@pytest.fixture
def compute(monkeypatch: pytest.MonkeyPatch) -> FakeCompute:
    fake = FakeCompute([])

    def client(subscription: str) -> FakeCompute:
        assert subscription == SUB  # the resource's own subscription
        return fake

    monkeypatch.setattr(_arm, "compute", client)
    return fake


def scope(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.setattr(_arm, "settings", lambda: Settings.model_validate({"SCALE_SET_CHECK_SCOPE": where}))


def test_scale_sets_using_the_image_are_found_across_the_subscription(
    compute: FakeCompute, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope(monkeypatch, "subscription")
    compute.sets = [scale_set("uses", IMAGE.upper()), scale_set("other", IMAGE + "2"), scale_set("market", None)]
    assert [s.rsplit("/", 1)[1] for s in source.scale_sets_using(ImageId.parse(IMAGE))] == ["uses"]
    assert [c[0] for c in compute.calls] == ["list_all"]


def test_the_resource_group_scope_lists_the_images_group_only(
    compute: FakeCompute, monkeypatch: pytest.MonkeyPatch
) -> None:
    scope(monkeypatch, "resource-group")
    compute.sets = [scale_set("uses", IMAGE)]
    assert len(source.scale_sets_using(ImageId.parse(IMAGE))) == 1
    assert [(c[0], c[1]) for c in compute.calls] == [("list", ("rg-images",))]


def test_a_deletion_started_by_a_previous_attempt_is_recognised_by_its_marker(compute: FakeCompute) -> None:
    compute.found_version = {"id": VERSION, "tags": {source.DELETION_MARKER: "web"}}
    assert source._deletion_started(VERSION) is True
    compute.found_version = {"id": VERSION, "tags": {"migration-id": "x"}}
    assert source._deletion_started(VERSION) is False
    compute.found_version = {"id": VERSION}
    assert source._deletion_started(VERSION) is False
    compute.found_version = None  # the version is gone: nothing proves the deletion was ours
    assert source._deletion_started(VERSION) is False


def test_a_version_is_read_with_its_replication_status_only_when_asked(compute: FakeCompute) -> None:
    compute.found_version = {"id": VERSION, "name": "1.0.0"}
    parsed = VersionId.parse(VERSION)
    assert version.read_version(parsed) == {"id": VERSION, "name": "1.0.0"}
    assert version.read_version(parsed, replication=True) == {"id": VERSION, "name": "1.0.0"}
    assert [(c[1], c[2]) for c in compute.calls] == [
        (("rg-g", "g", "web", "1.0.0"), {"expand": None}),
        (("rg-g", "g", "web", "1.0.0"), {"expand": "ReplicationStatus"}),
    ]
    compute.found_version = None
    assert version.read_version(parsed) is None


def failing(*args: Any, **kwargs: Any) -> Any:
    raise HttpResponseError(message="busy", response=SimpleNamespace(status_code=503, reason="busy", headers={}))


def test_failures_name_what_was_being_done(compute: FakeCompute, monkeypatch: pytest.MonkeyPatch) -> None:
    scope(monkeypatch, "subscription")
    compute.virtual_machine_scale_sets.list_all = failing
    with pytest.raises(TransientArmError, match=r"^listing scale sets that may use the image: 503"):
        source.scale_sets_using(ImageId.parse(IMAGE))
    compute.gallery_image_versions.get = failing
    with pytest.raises(TransientArmError, match=rf"^reading image version {VERSION}: 503"):
        version.read_version(VersionId.parse(VERSION))
