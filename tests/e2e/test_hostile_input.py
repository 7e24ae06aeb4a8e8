"""Hostile and malformed input through the real HTTP endpoints: each gets a specific 4xx (problem details naming
the field) or is ignored, starts nothing, and never produces a 500."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from requests import Response

from migration.request import parse_request_body, resolve_request
from migration.settings import Settings
from tests.e2e.test_fault_matrix import hold_in_replication, release, start_http, wait_until_hanging
from tests.e2e.world import GALLERY, SUB, World, eventually, gallery, image, image_id, seed_document

pytestmark = pytest.mark.e2e

IMAGE = image_id("target")
VM = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/virtualMachines/vm1"


def body(**fields: Any) -> dict[str, Any]:
    return {"sourceImageId": IMAGE, "galleryId": GALLERY, **fields}


def post_raw(world: World, route: str, raw: bytes, content_type: str | None = "application/json") -> Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return world.api("POST", route, data=raw, headers=headers)


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


# (case id, request body (dict) or raw bytes, expected status, field named in the problem (or None), text in detail)
BAD_BODIES: list[tuple[str, Any, int, str | None, str]] = [
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
    # strict: exactly the documented JSON types, nothing coerced
    (
        "replicas-text-number",
        body(targetRegions=[{"name": "eastus", "replicaCount": "2"}]),
        400,
        "targetRegions[0].replicaCount",
        "",
    ),
    (
        "replicas-float",
        body(targetRegions=[{"name": "eastus", "replicaCount": 2.0}]),
        400,
        "targetRegions[0].replicaCount",
        "",
    ),
    (
        "replicas-bool",
        body(targetRegions=[{"name": "eastus", "replicaCount": True}]),
        400,
        "targetRegions[0].replicaCount",
        "",
    ),
    ("bool-yes", body(bootTest="yes"), 400, "bootTest", ""),
    ("bool-true-text", body(excludeFromLatest="true"), 400, "excludeFromLatest", ""),
    ("bool-number", body(excludeFromLatest=1), 400, "excludeFromLatest", ""),
    ("end-of-life-unix-time", body(endOfLife=1893456000), 400, "endOfLife", "RFC 3339"),
    ("end-of-life-date-only", body(endOfLife="2030-01-01"), 400, "endOfLife", "RFC 3339"),
    ("end-of-life-no-offset", body(endOfLife="2030-01-01T00:00:00"), 400, "endOfLife", "RFC 3339"),
    ("enum-other-case", body(deletionMode="Never"), 400, "deletionMode", ""),
    # strict: exactly the documented camelCase names
    ("snake-case-field", body(source_image_id=IMAGE), 400, "source_image_id", "unknown field"),
    ("snake-case-option", body(deletion_mode="never"), 400, "deletion_mode", "unknown field"),
    (
        "snake-case-nested",
        body(targetRegions=[{"name": "eastus", "replica_count": 2}]),
        400,
        "targetRegions[0].replica_count",
        "unknown field",
    ),
    # a region listed twice is refused up front (it used to be merged, or to fail in preflight)
    (
        "region-twice",
        body(targetRegions=[{"name": "eastus"}, {"name": "East US"}]),
        400,
        "targetRegions[1].name",
        "listed twice",
    ),
    (
        "region-twice-other-storage",
        body(
            targetRegions=[
                {"name": "eastus", "storageAccountType": "Standard_LRS"},
                {"name": "eastus", "storageAccountType": "Premium_LRS"},
            ]
        ),
        400,
        "targetRegions[1].name",
        "listed twice",
    ),
    ("region-kelvin-sign", body(targetRegions=[{"name": "\u212aoreacentral"}]), 400, "targetRegions[0].name", "ASCII"),
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
    ("operation-delete", event(data={"operationName": "Microsoft.Compute/images/delete", "resourceUri": IMAGE})),
    ("tags-delete", event(data={"operationName": "Microsoft.Resources/tags/delete", "resourceUri": IMAGE})),
    ("subject-traversal", event(subject=IMAGE + "/../../../x")),
    ("subject-huge", event(subject="/" + "a" * 5000)),
    ("image-missing-in-arm", event(subject=image_id("does-not-exist"))),
    ("image-without-trigger-tag", event()),
]


# The image the events name carries a trigger tag the app has not acted on (no migration-request): a real write to
# it would start a migration, so only the event filters (type, subject, operation) stand between these events and
# one (with any filter removed, its cases start one). The last case's image has no tags at all.
READY_TO_MIGRATE = {"migrate-to-gallery": "corp_gallery", "migrate-delete-source": "never"}


def test_a_write_event_for_the_ready_image_does_start_a_migration(world: World) -> None:
    """The control for the cases below: the same image and the event they vary, unvaried."""
    world.seed(gallery(), image("target", tags=READY_TO_MIGRATE))
    response = world.stack.host.session.post(
        world.stack.event_webhook(), json=[event()], headers={"aeg-event-type": "Notification"}, timeout=10
    )
    assert response.status_code == 202, response.text
    assert world.finish(world.instance_of(IMAGE))["output"]["outcome"] == "succeeded"


@pytest.mark.parametrize(("case", "payload"), BAD_EVENTS, ids=[e[0] for e in BAD_EVENTS])
def test_foreign_and_malformed_events_are_ignored(world: World, case: str, payload: dict[str, Any]) -> None:
    world.seed(gallery(), image("target", tags=None if case == "image-without-trigger-tag" else READY_TO_MIGRATE))
    response = world.stack.host.session.post(
        world.stack.event_webhook(), json=[payload], headers={"aeg-event-type": "Notification"}, timeout=10
    )
    assert response.status_code == 202, (case, response.status_code, response.text)
    # The webhook answers once the function has run: by now it has started nothing and written nothing.
    assert world.instances() == []
    assert world.app_requests("Tags_UpdateAtScope") == []


def test_bad_tag_values_fail_fast_on_the_image_without_a_loop(world: World) -> None:
    source = image_id("badtags")
    world.seed(gallery(), image("badtags"))
    world.tag(source, **{"migrate-to-gallery": "corp_gallery", "migrate-regions": "atlantis=2"})
    tags = eventually(lambda: world.tags_of(source) if "migration-status" in world.tags_of(source) else None)
    assert tags["migration-status"] == "failed"
    assert "not a known Azure region" in tags["migration-reason"]
    assert world.instances() == []
    # Our own status write raised one more event; once every delivery has been answered: it was ignored, still no
    # instance and no further status write.
    world.settled_deliveries()
    assert len(world.app_requests("Tags_UpdateAtScope")) == 1
    assert world.instances() == []


# --- bodies that are not a sane JSON object, on every route that takes one ------------------------------------
POST_ROUTES = ["migrations", "plans", "batches"]
DEEP_FIELD = json.dumps(body(definition={"features": json.loads('{"a":' * 40 + "{}" + "}" * 40)}))
NOT_A_SANE_OBJECT: list[tuple[str, bytes, str]] = [
    ("not-json", b"{not json", "not valid JSON"),
    ("empty", b"", "not valid JSON"),
    ("trailing-garbage", b"{} {}", "not valid JSON"),
    ("invalid-utf8", b'{"a": "\xff"}', "not valid UTF-8"),
    ("utf-16", '{"a": 1}'.encode("utf-16"), "not valid UTF-8"),
    ("byte-order-mark", b"\xef\xbb\xbf{}", "not valid JSON"),
    ("deep-arrays", b"[" * 10_000 + b"]" * 10_000, "deeper than"),  # 20 kB: used to be a RecursionError, 500
    ("deep-objects", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "deeper than"),
    ("deep-inside-a-field", DEEP_FIELD.encode(), "deeper than"),
    ("duplicate-key", b'{"galleryId": "a", "galleryId": "b"}', "twice"),  # json.loads: the last one wins
    ("duplicate-nested-key", b'{"definition": {"name": "a", "name": "b"}}', "twice"),
    ("nan", b'{"x": NaN}', "not a JSON number"),
    ("infinity", b'{"x": 1e999}', "out of range"),
    ("huge-integer", b'{"x": ' + b"9" * 5_000 + b"}", "longer than"),  # json.loads: ValueError, 500
    ("lone-surrogate", b'{"x": "\\ud800"}', "surrogate"),
    ("array", b"[1, 2]", "must be a JSON object"),
    ("string", b'"hello"', "must be a JSON object"),
    ("number", b"42", "must be a JSON object"),
    ("null", b"null", "must be a JSON object"),
]


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize(("case", "raw", "detail"), NOT_A_SANE_OBJECT, ids=[c[0] for c in NOT_A_SANE_OBJECT])
def test_bodies_that_are_not_sane_json_objects_get_a_400_on_every_route(
    world: World, route: str, case: str, raw: bytes, detail: str
) -> None:
    problem = assert_problem(post_raw(world, route, raw), 400)
    assert detail in problem["detail"] + json.dumps(problem.get("errors", [])), (case, problem)
    assert world.instances() == []


UNSUPPORTED_CONTENT_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json; charset=utf-16",
    "application/jsonp",
    "application/merge-patch+json",
]


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("content_type", UNSUPPORTED_CONTENT_TYPES)
def test_bodies_not_declared_as_json_get_a_415(world: World, route: str, content_type: str | None) -> None:
    raw = json.dumps(body() if route == "migrations" else {"scope": {"subscriptions": [SUB]}}).encode()
    problem = assert_problem(post_raw(world, route, raw, content_type), 415)
    assert "application/json" in problem["detail"]
    assert world.instances() == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON; Charset=UTF-8"])
def test_json_with_parameters_is_json(world: World, content_type: str) -> None:
    assert_problem(post_raw(world, "migrations", b"{}", content_type), 400)  # read, then refused for its content


FLEET_BODIES: list[tuple[str, str, dict[str, Any], str]] = [
    ("batch-concurrency-text", "batches", {"maxConcurrency": "5"}, "maxConcurrency"),
    ("batch-concurrency-float", "batches", {"maxConcurrency": 5.0}, "maxConcurrency"),
    ("batch-snake-case", "batches", {"max_concurrency": 5}, "max_concurrency"),
    ("plan-snake-case-scope", "plans", {"scope": {"resource_groups": []}}, "scope.resource_groups"),
    ("plan-bool-text", "plans", {"bootTest": "yes"}, "bootTest"),
    (
        "plan-region-twice",
        "plans",
        {"targetRegions": [{"name": "eastus"}, {"name": "eastus"}]},
        "targetRegions[1].name",
    ),
]


@pytest.mark.parametrize(("case", "route", "fields", "field"), FLEET_BODIES, ids=[c[0] for c in FLEET_BODIES])
def test_fleet_bodies_are_parsed_as_strictly(
    world: World, case: str, route: str, fields: dict[str, Any], field: str
) -> None:
    payload = {"scope": {"subscriptions": [SUB]}, "galleryId": GALLERY, **fields}
    problem = assert_problem(world.api("POST", route, json=payload), 400)
    assert field in [e["field"] for e in problem.get("errors", [])], (case, problem)


# --- bad tag values: one answer on the image, a 2xx to Event Grid, no redelivery -----------------------------
BAD_TAGS = [
    ("migrate-definition", "tag spaces"),
    ("migrate-definition", "-bad-"),
    ("migrate-version", "1.0"),
    ("migrate-regions", "eastus=1_0"),
    ("migrate-regions", "eastus=\u0662"),
    ("migrate-regions", "eastus=1;East US=2"),
    ("migrate-storage-type", "Ultra_LRS"),
    ("migrate-end-of-life", "soon"),
    ("migrate-delete-source", "yes"),
    ("migrate-exclude-from-latest", "maybe"),
    ("migrate-to-gallery", "-bad-"),
    ("migrate-to-gallery", "no_such_gallery"),
]


def app_deliveries(world: World) -> list[dict[str, Any]]:
    """The app subscription's deliveries, once none is still open (pending or held)."""

    def settled() -> list[dict[str, Any]] | None:
        found = [d for d in world.stack.arm.deliveries() if d.get("subscription") == "image-migration"]
        return None if any(d["status"] in ("pending", "held") for d in found) else found

    found = eventually(settled)
    assert found is not None, "deliveries never settled"
    return found


def assert_each_event_answered_once(world: World) -> None:
    deliveries = app_deliveries(world)
    assert deliveries
    assert {(d["status"], d["attempts"]) for d in deliveries} == {("delivered", 1)}, deliveries


@pytest.mark.parametrize(("tag", "value"), BAD_TAGS, ids=[f"{t}={v}" for t, v in BAD_TAGS])
def test_every_invalid_tag_value_is_answered_once_on_the_image(world: World, tag: str, value: str) -> None:
    source = image_id("badtag")
    world.seed(gallery(), image("badtag"))
    world.tag(source, **{"migrate-to-gallery": "corp_gallery", tag: value})
    tags = eventually(lambda: world.tags_of(source) if "migration-status" in world.tags_of(source) else None)
    assert tags["migration-status"] == "failed"
    assert tags["migration-reason"].startswith(f"invalid tags: {tag}: "), tags["migration-reason"]
    assert_each_event_answered_once(world)  # our own status write raised one more event: acknowledged too
    assert world.instances() == []


# --- images at ARM's 50-tag limit -------------------------------------------------------------------------------
def crowded_image(name: str, user_tags: int) -> dict[str, Any]:
    return image(name, tags={f"team-tag-{i:02d}": "x" for i in range(user_tags)})


def test_an_image_near_the_tag_limit_migrates_with_the_status_tags_that_fit(world: World) -> None:
    """46 user tags + 2 trigger/option tags leave room for 2 of the app's 5: migration-status and
    migration-request (which keeps the app from acting on the same tags twice) are written; preflight says why
    the rest are not, in the instance and the summary; nothing is retried or redelivered."""
    source = image_id("crowded")
    world.seed(gallery(), crowded_image("crowded", 46))
    instance = world.tag_for_migration(source, **{"migrate-delete-source": "never"})
    out = world.finish(instance)["output"]
    assert out["outcome"] == "succeeded", out
    tags = world.tags_of(source)
    assert len(tags) == 50
    assert (tags["migration-status"], "migration-request" in tags, "migration-id" in tags) == ("succeeded", True, False)
    note = "the image has 48 of ARM's 50 tags, so the app does not write migration-id, migration-reason"
    assert any(n.startswith(note) for n in out["notes"]), out["notes"]
    assert world.summary(instance)["notes"] == out["notes"]
    assert_each_event_answered_once(world)
    assert [i["instanceId"] for i in world.instances()] == [instance]


def test_invalid_tags_on_an_image_without_room_for_an_answer_are_acknowledged(world: World) -> None:
    source = image_id("full")
    world.seed(gallery(), crowded_image("full", 48))
    world.tag(source, **{"migrate-to-gallery": "corp_gallery", "migrate-regions": "atlantis=1"})  # 50 tags
    assert_each_event_answered_once(world)
    assert "migration-status" not in world.tags_of(source)  # no room: the reason is in the log only
    assert world.instances() == []


# --- CloudEvents 1.0 schema -------------------------------------------------------------------------------------
def cloud_event(**overrides: Any) -> dict[str, Any]:
    base = {
        "specversion": "1.0",
        "id": "c1",
        "type": "Microsoft.Resources.ResourceWriteSuccess",
        "source": f"/subscriptions/{SUB}/resourceGroups/rg-images",
        "subject": IMAGE,
        "time": "2026-11-25T10:00:00.0000000Z",
        "datacontenttype": "application/json",
        "data": {"operationName": "Microsoft.Resources/tags/write", "resourceUri": IMAGE, "status": "Succeeded"},
    }
    base.update(overrides)
    return base


def post_events(world: World, events: Any, content_type: str = "application/json") -> Response:
    headers = {"aeg-event-type": "Notification", "Content-Type": content_type}
    return world.stack.host.session.post(world.stack.event_webhook(), json=events, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "payload",
    [
        cloud_event(type="Microsoft.Resources.ResourceDeleteSuccess"),
        cloud_event(subject=VM, data={"operationName": "Microsoft.Compute/virtualMachines/write"}),
        cloud_event(data="not an object"),
        cloud_event(subject=None),
        cloud_event(data=None),
    ],
    ids=["other-type", "other-resource", "data-not-object", "no-subject", "no-data"],
)
def test_foreign_cloud_events_are_ignored(world: World, payload: dict[str, Any]) -> None:
    world.seed(gallery(), image("target", tags={"migrate-to-gallery": "corp_gallery"}))
    response = post_events(world, [payload], "application/cloudevents-batch+json")
    assert response.status_code == 202, response.text
    assert world.instances() == []


def test_a_cloud_event_starts_a_migration_as_an_event_grid_event_does(world: World) -> None:
    world.seed(
        gallery(), image("target", tags={"migrate-to-gallery": "corp_gallery", "migrate-delete-source": "never"})
    )
    response = post_events(world, [cloud_event()], "application/cloudevents-batch+json")
    assert response.status_code == 202, response.text
    out = world.finish(world.instance_of(IMAGE))["output"]
    assert out["outcome"] == "succeeded", out


# --- approve and cancel ------------------------------------------------------------------------------------------
def test_approval_is_accepted_only_once_validation_has_passed(world: World) -> None:
    source = image_id("gate")
    world.seed(gallery(), image("gate"))
    instance = start_http(world, source, deletionMode="after-approval")
    hold_in_replication(world, instance)
    early = assert_problem(world.api("POST", f"migrations/{instance}/approve"), 409)
    assert early["phase"] == "replicating"
    assert "once validation has passed" in early["detail"]
    world.step_to_phase(instance, "awaiting-approval")
    assert world.api("POST", f"migrations/{instance}/approve").status_code == 202
    release(world)
    out = world.finish(instance)["output"]
    assert (out["outcome"], out["sourceDeleted"]) == ("succeeded", True)


def test_a_cancel_racing_with_the_end_gets_409_with_the_final_status(world: World) -> None:
    """The cancel API reads the status (running), tags the image, then raises the event: the instance ends in
    between (here: terminated while the emulator holds the tag write), so the host answers 410 to the raise."""
    source = image_id("race")
    world.seed(gallery(), image("race"))
    instance = start_http(world, source)
    hold_in_replication(world, instance)
    fault = world.stack.arm.add_fault(operationId="Tags_UpdateAtScope", hang=4, status=503, times=1)
    with ThreadPoolExecutor(1) as pool:
        cancel = pool.submit(world.api, "POST", f"migrations/{instance}/cancel")
        wait_until_hanging(world, fault["id"])
        world.stack.host.terminate(instance, "ended meanwhile")
        world.stack.host.wait(instance)
        response = cancel.result(timeout=60)
    problem = assert_problem(response, 409)
    assert (problem["runtimeStatus"], "has ended (Terminated)" in problem["detail"]) == ("Terminated", True)
    release(world)


def test_cancel_and_approve_of_an_ended_migration_get_409_with_the_final_status(world: World) -> None:
    source = image_id("ended")
    world.seed(gallery(), image("ended"))
    instance = start_http(world, source, deletionMode="never")
    world.finish(instance)
    for action in ("cancel", "approve"):
        problem = assert_problem(world.api("POST", f"migrations/{instance}/{action}"), 409)
        assert (problem["runtimeStatus"], problem["outcome"]) == ("Completed", "succeeded"), problem


# --- names ARM compares ordinally, ignoring case ---------------------------------------------------------------
def test_resource_groups_that_arm_tells_apart_get_their_own_migrations(world: World) -> None:
    """U+212A KELVIN SIGN lower-cases to "k" in Python, but ARM's ordinal comparison keeps "Kitchen" (Kelvin)
    and "kitchen" apart: two migrations, not a false 409; "KITCHEN" is "kitchen" to ARM: a 409."""
    groups = ("\u212aitchen", "kitchen")
    document = seed_document(gallery(), *(image("web", group=g) for g in groups))
    document["resourceGroups"] += [{"subscriptionId": SUB, "name": g, "location": "westus2"} for g in groups]
    world.stack.arm.seed(document)
    world.stack.host.clock(auto_advance=False)  # both stay running (replication waits on timers)
    started = []
    for group in groups:
        response = world.start_http({"sourceImageId": image_id("web", group=group), "galleryId": GALLERY})
        assert response.status_code == 202, response.text
        started.append(response.json()["id"])
    assert started[0] != started[1]
    same = world.start_http({"sourceImageId": image_id("WEB", group="KITCHEN"), "galleryId": GALLERY})
    assert same.status_code == 409, same.text
    assert same.json()["id"] == started[1]
    release(world)
    for instance in started:
        world.finish(instance)


# --- lists are never cut short ---------------------------------------------------------------------------------
def start_many(world: World, count: int, *, name: str, id_of: Any, data: Any) -> list[str]:
    """Instances created directly through the devhost's Durable API (cheap: no ARM, one episode each)."""
    ids = [id_of(i) for i in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: world.stack.host.start(name, data, instance_id=i), ids))
    return ids


def follow(world: World, route: str, **params: str) -> list[dict[str, Any]]:
    """Every page of a list, through ``nextLink``; each page at most ``top`` long."""
    top = int(params.get("top", "100"))
    response = world.api("GET", route, params=params)
    items: list[dict[str, Any]] = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["count"] == len(page["value"]) <= top
        items += page["value"]
        if "nextLink" not in page:
            assert page["continuationToken"] is None
            return items
        assert page["count"] == top  # only the last page may be short
        response = world.stack.host.session.get(
            page["nextLink"], headers={"x-functions-key": world.stack.host.function_key}, timeout=30
        )


def test_migration_lists_page_through_more_than_a_thousand_instances(world: World) -> None:
    ids = start_many(world, 1_050, name="migrate_image", id_of=lambda i: f"mig-filler-{i:016x}", data={})
    assert eventually(lambda: not world.stack.host.list_instances(instanceIdPrefix="mig-", runtimeStatus="Pending"))
    for params in ({}, {"top": "1000"}, {"top": "333", "status": "Failed,Completed"}):
        assert sorted(item["id"] for item in follow(world, "migrations", **params)) == sorted(ids), params
    assert follow(world, "migrations", status="Running") == []
    for bad in ({"top": "0"}, {"top": "1001"}, {"top": "ten"}, {"continuationToken": "not one of ours"}):
        assert_problem(world.api("GET", "migrations", params=bad), 400)
    forged = world.api("GET", "migrations", params={"continuationToken": "Zm9yZ2Vk"})  # well-formed, not issued
    assert forged.status_code < 500, forged.text


def test_batch_lists_page_too(world: World) -> None:
    ids = start_many(world, 105, name="migrate_batch", id_of=lambda i: f"batch-{i:032x}", data={})
    listed = follow(world, "batches")
    assert sorted(item["id"] for item in listed) == sorted(ids)


# Fillers live in a subscription of their own whose ARM budget is booked for hours: they all wait for it.
OTHER_SUB = "22222222-2222-4222-8222-222222222222"


def waiting_migration_input(name: str) -> dict[str, Any]:
    """A migrate_image input in ``OTHER_SUB``: its first grant of the (booked) ARM budget keeps it waiting."""
    settings = Settings.from_env(world_settings())
    image = f"/subscriptions/{OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/{name}"
    gallery_id = f"/subscriptions/{OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g"
    request = resolve_request(
        parse_request_body({"sourceImageId": image, "galleryId": gallery_id}), settings, now=datetime.now(UTC)
    )
    return {"request": request.model_dump(mode="json"), "settings": settings.model_dump(mode="json"), "runId": "r"}


def world_settings() -> dict[str, str]:
    return {"DEFAULT_GALLERY_ID": GALLERY}


def test_plans_and_batches_see_an_active_migration_beyond_the_first_page(world: World) -> None:
    """1,050 running migrations sort before the image's own (instances are listed by ID, at most 1,000 a page): a
    plan or batch that read only the first page would predict, or start, a second migration of an image that is
    being migrated."""
    host = world.stack.host
    world.seed(gallery(), image("zz-busy"))
    host.clock(auto_advance=False)
    world.book_the_budget(OTHER_SUB)
    fillers = [f"mig-aaa-{i:016x}" for i in range(1_050)]
    data = waiting_migration_input("aaa")
    start_many(world, len(fillers), name="migrate_image", id_of=fillers.__getitem__, data=data)
    busy = start_http(world, image_id("zz-busy"), deletionMode="never")
    hold_in_replication(world, busy)

    def all_running() -> list[dict[str, Any]] | None:
        found = host.list_instances(instanceIdPrefix="mig-", runtimeStatus="Running")
        return found if len(found) == len(fillers) + 1 else None

    running = eventually(all_running)
    assert running, "the fillers never all ran"
    assert [i["instanceId"] for i in running].index(busy) >= 1_000  # not on the first page

    plan = world.api("POST", "plans", json={"sourceImageId": image_id("zz-busy"), "galleryId": GALLERY})
    assert plan.status_code == 200, plan.text
    (row,) = plan.json()["images"]
    assert (row["outcome"], row["skipReason"]) == ("skipped", "being migrated: its migration instance is Running")
    scope = {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/rg-images"]}
    batch = world.api("POST", "batches", json={"scope": scope, "galleryId": GALLERY})
    assert batch.status_code == 202, batch.text
    report = eventually(lambda: world.api("GET", f"batches/{batch.json()['id']}/report").json().get("images"))
    assert [(r["name"], r["outcome"]) for r in report] == [("zz-busy", "skipped")], report


# --- CSV report ------------------------------------------------------------------------------------------------
def test_the_csv_report_never_starts_a_cell_with_a_formula(world: World) -> None:
    """ARM refuses such image names, but the report must stay safe whatever a listing holds: every cell that a
    spreadsheet would run as a formula (OWASP, "CSV Injection") comes back prefixed with an apostrophe."""
    hostile = ["=SUM(1)", " -2+3", "\uff1dSUM(1)", "@cmd"]
    world.seed(gallery(), *(image(name) for name in hostile))
    scope = {"resourceGroups": [f"/subscriptions/{SUB}/resourceGroups/rg-images"]}
    batch = world.api("POST", "batches", json={"scope": scope, "galleryId": GALLERY})
    assert batch.status_code == 202, batch.text
    report_url = f"batches/{batch.json()['id']}/report"
    assert eventually(lambda: world.api("GET", report_url).status_code == 200, timeout=30)
    response = world.api("GET", report_url, params={"format": "csv"})
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(row["name"] for row in rows) == sorted("'" + name for name in hostile)
    for row in rows:
        for cell in row.values():
            first = cell.lstrip()[:1]
            assert not first or first not in "=+-@\uff1d\uff0b\uff0d\uff20" or cell.startswith("'"), row
