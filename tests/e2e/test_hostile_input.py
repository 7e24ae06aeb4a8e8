"""Hostile and malformed input through the real HTTP endpoints: each gets a specific 4xx (problem details naming
the field) or is ignored, starts nothing, and never produces a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.world import GALLERY, SUB, World, gallery, image, image_id

pytestmark = pytest.mark.e2e

IMAGE = image_id("target")
VM = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/virtualMachines/vm1"


def body(**fields: Any) -> dict[str, Any]:
    return {"sourceImageId": IMAGE, "galleryId": GALLERY, **fields}


# (case id, request body (dict) or raw bytes, expected status, field named in the problem (or None), text in detail)
BAD_BODIES: list[tuple[str, Any, int, str | None, str]] = [
    ("not-json", b"{not json", 400, None, "not valid UTF-8 JSON"),
    ("empty", b"", 400, None, "not valid UTF-8 JSON"),
    ("invalid-utf8", b"\xff\xfe{}", 400, None, "not valid UTF-8 JSON"),
    ("array", [1, 2], 400, None, "must be a JSON object"),
    ("string", "hello", 400, None, "must be a JSON object"),
    ("null", None, 400, None, "must be a JSON object"),
    ("huge", {"sourceImageId": IMAGE, "galleryId": GALLERY, "pad": "x" * 70_000}, 413, None, "larger than"),
    ("missing-source", {"galleryId": GALLERY}, 400, "sourceImageId", ""),
    ("source-number", body(sourceImageId=42), 400, "sourceImageId", ""),
    ("source-is-gallery", body(sourceImageId=GALLERY), 400, "sourceImageId", "not a managed image ID"),
    ("source-is-vm", body(sourceImageId=VM), 400, "sourceImageId", "not a managed image ID"),
    (
        "source-traversal",
        body(sourceImageId=IMAGE.replace("/images/target", "/images/../../x")),
        400,
        "sourceImageId",
        "",
    ),
    (
        "source-query-injection",
        body(sourceImageId=IMAGE + "?api-version=2020-01-01&$expand=x"),
        400,
        "sourceImageId",
        "",
    ),
    ("source-encoded-slash", body(sourceImageId=IMAGE.replace("target", "a%2Fb")), 400, "sourceImageId", ""),
    ("source-control-char", body(sourceImageId=IMAGE + "\u0000"), 400, "sourceImageId", ""),
    ("source-unicode-name", body(sourceImageId=IMAGE.replace("target", "t\u00e4rget\u202e")), 400, "sourceImageId", ""),
    ("source-bad-subscription", body(sourceImageId=IMAGE.replace(SUB, "not-a-guid")), 400, "sourceImageId", "GUID"),
    (
        "source-empty-segment",
        body(sourceImageId=IMAGE.replace("/resourceGroups/", "//resourceGroups/")),
        400,
        "sourceImageId",
        "",
    ),
    ("gallery-is-image", body(galleryId=IMAGE), 400, "galleryId", "not a gallery ID"),
    ("gallery-bad-name", body(galleryId=GALLERY.replace("corp_gallery", "-bad-")), 400, "galleryId", ""),
    ("version-two-parts", body(version="1.0"), 400, "version", "Major.Minor.Patch"),
    ("version-overflow", body(version="2147483648.0.0"), 400, "version", "at most 2147483647"),
    ("version-negative", body(version="-1.0.0"), 400, "version", ""),
    ("version-four-parts", body(version="1.0.0.0"), 400, "version", ""),
    ("version-number", body(version=1), 400, "version", ""),
    (
        "region-unknown",
        body(targetRegions=[{"name": "mars"}]),
        400,
        "targetRegions[0].name",
        "not a known Azure region",
    ),
    ("region-injection", body(targetRegions=[{"name": "eastus/../x"}]), 400, "targetRegions[0].name", ""),
    (
        "replicas-zero",
        body(targetRegions=[{"name": "eastus", "replicaCount": 0}]),
        400,
        "targetRegions[0].replicaCount",
        "",
    ),
    (
        "replicas-huge",
        body(targetRegions=[{"name": "eastus", "replicaCount": 10**9}]),
        400,
        "targetRegions[0].replicaCount",
        "",
    ),
    (
        "replicas-text",
        body(targetRegions=[{"name": "eastus", "replicaCount": "two"}]),
        400,
        "targetRegions[0].replicaCount",
        "",
    ),
    ("regions-not-a-list", body(targetRegions="eastus"), 400, "targetRegions", ""),
    ("regions-too-many", body(targetRegions=[{"name": "eastus"}] * 51), 400, "targetRegions", ""),
    ("storage-unknown", body(storageAccountType="Ultra_LRS"), 400, "storageAccountType", ""),
    ("deletion-mode-unknown", body(deletionMode="yes please"), 400, "deletionMode", ""),
    ("end-of-life-past", body(endOfLife="2001-01-01T00:00:00Z"), 400, "endOfLife", "in the future"),
    ("end-of-life-garbage", body(endOfLife="soon"), 400, "endOfLife", ""),
    ("unknown-field", body(sourceImage=IMAGE), 400, "sourceImage", "unknown field"),
    ("definition-name-spaces", body(definition={"name": "my image"}), 400, "definition.name", ""),
    ("definition-name-long", body(definition={"name": "a" * 81}), 400, "definition.name", ""),
    ("definition-publisher-nul", body(definition={"publisher": "a\u0000b"}), 400, "definition.publisher", ""),
    ("description-control", body(definition={"description": "line\u0007bell"}), 400, "definition.description", ""),
    ("security-type-unknown", body(definition={"features": {"SecurityType": "Magic"}}), 400, "definition.features", ""),
    ("plan-incomplete", body(definition={"purchasePlan": {"name": "p"}}), 400, "definition.purchasePlan.publisher", ""),
    ("exclude-not-bool", body(excludeFromLatest="maybe"), 400, "excludeFromLatest", ""),
    (
        "deep-nesting",
        body(definition={"features": {"a": {"b": {"c": {"d": [1] * 5}}}}}),
        400,
        "definition.features.a",
        "",
    ),
    ("replication-mode-unknown", body(replicationMode="Teleport"), 400, "replicationMode", ""),
]


@pytest.mark.parametrize(("case", "payload", "status", "field", "detail"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_migration_bodies(
    world: World, case: str, payload: Any, status: int, field: str | None, detail: str
) -> None:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = world.api("POST", "migrations", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == status, (case, response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert detail in problem["detail"] + json.dumps(problem.get("errors", []))
    if field is not None:
        fields = [e["field"] for e in problem.get("errors", [])]
        assert any(f == field or f.startswith(field) for f in fields), (case, fields)
    assert world.instances() == []


@pytest.mark.parametrize(
    ("method", "route", "status"),
    [
        ("GET", "migrations/..%2F..%2Fadmin", 404),  # no such route: the host answers
        ("GET", "migrations/mig-x-0000000000000000", 404),
        ("GET", "migrations/a%3Fb", 400),
        ("GET", "migrations?status=Exploded", 400),
        ("POST", "migrations/mig-x-0000000000000000/approve", 404),
        ("POST", "migrations/mig-x-0000000000000000/cancel", 404),
        ("POST", "migrations/%27%3B--/cancel", 400),
    ],
)
def test_bad_ids_and_filters(world: World, method: str, route: str, status: int) -> None:
    response = world.api(method, route)
    assert response.status_code == status, response.text
    if response.headers.get("Content-Type", "").startswith("application/problem+json"):
        assert response.json()["status"] == status


def test_keys_are_required(world: World) -> None:
    assert world.api("POST", "migrations", key=None, json=body()).status_code == 401
    assert world.api("GET", "migrations", key=None).status_code == 401
    wrong = world.api("GET", "migrations", key=None, headers={"x-functions-key": "guess"})
    assert wrong.status_code == 401


def test_approve_is_refused_for_migrations_that_do_not_wait_for_it(world: World) -> None:
    world.seed(gallery(), image("target"))
    world.stack.host.clock(auto_advance=False)
    started = world.start_http(body())
    assert started.status_code == 202
    response = world.api("POST", f"migrations/{started.json()['id']}/approve")
    assert response.status_code == 409
    assert "does not wait for an approval" in response.json()["detail"]
    world.stack.host.clock(auto_advance=True)
    world.finish(started.json()["id"])


# --- Event Grid ------------------------------------------------------------------------------------------------
def event(**overrides: Any) -> dict[str, Any]:
    base = {
        "id": "e1",
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": IMAGE,
        "eventTime": "2026-11-25T10:00:00.0000000Z",
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": f"/subscriptions/{SUB}/resourceGroups/rg-images",
        "data": {"operationName": "Microsoft.Compute/images/write", "resourceUri": IMAGE, "status": "Succeeded"},
    }
    base.update(overrides)
    return base


BAD_EVENTS = [
    ("delete-event", event(eventType="Microsoft.Resources.ResourceDeleteSuccess")),
    ("write-failure", event(eventType="Microsoft.Resources.ResourceWriteFailure")),
    (
        "validation-as-notification",
        event(eventType="Microsoft.EventGrid.SubscriptionValidationEvent", data={"validationCode": "x"}),
    ),
    ("storage-account", event(subject=IMAGE.replace("Microsoft.Compute/images", "Microsoft.Storage/storageAccounts"))),
    (
        "gallery-version",
        event(
            subject=GALLERY + "/images/a/versions/1.0.0",
            data={"operationName": "Microsoft.Compute/galleries/images/versions/write"},
        ),
    ),
    ("vm-write", event(subject=VM, data={"operationName": "Microsoft.Compute/virtualMachines/write"})),
    ("no-subject", {k: v for k, v in event().items() if k != "subject"}),
    ("no-data", {k: v for k, v in event().items() if k != "data"}),
    ("data-not-object", event(data="a string")),
    ("operation-missing", event(data={"resourceUri": IMAGE})),
    ("subject-traversal", event(subject=IMAGE + "/../../../x")),
    ("subject-huge", event(subject="/" + "a" * 5000)),
    ("image-missing-in-arm", event(subject=image_id("does-not-exist"))),
    ("image-without-trigger-tag", event()),
]


@pytest.mark.parametrize(("case", "payload"), BAD_EVENTS, ids=[e[0] for e in BAD_EVENTS])
def test_foreign_and_malformed_events_are_ignored(world: World, case: str, payload: dict[str, Any]) -> None:
    world.seed(gallery(), image("target"))
    response = world.stack.host.session.post(
        world.stack.event_webhook(), json=[payload], headers={"aeg-event-type": "Notification"}, timeout=10
    )
    assert response.status_code == 202, (case, response.status_code, response.text)
    assert world.instances() == []


def test_bad_tag_values_fail_fast_on_the_image_without_a_loop(world: World) -> None:
    source = image_id("badtags")
    world.seed(gallery(), image("badtags"))
    world.tag(source, **{"migrate-to-gallery": "corp_gallery", "migrate-regions": "atlantis=2"})
    from tests.e2e.world import eventually

    tags = eventually(lambda: world.tags_of(source) if "migration-status" in world.tags_of(source) else None)
    assert tags["migration-status"] == "failed"
    assert "not a known Azure region" in tags["migration-reason"]
    assert world.instances() == []
    # Our own status write raised one more event; it was ignored: still no instance, no further status writes.
    writes = len(world.stack.arm.requests(operation_id="Tags_UpdateAtScope"))
    import time

    time.sleep(1.0)
    assert len(world.stack.arm.requests(operation_id="Tags_UpdateAtScope")) == writes
    assert world.instances() == []
