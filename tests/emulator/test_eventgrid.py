"""Tags API through azure-mgmt-resource and the Event Grid events the emulator delivers to a local webhook:
shapes, the subscription filter of an ARM eventSubscription, the handshake, and delivery faults."""

from __future__ import annotations

from typing import Any

import pytest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as cm
from azure.mgmt.resource.resources import ResourceManagementClient, models

from emulator.control import ControlError, EmulatorControl
from emulator.identity import SYSTEM_CLIENT_ID, principal_id_for
from tests.emulator.conftest import IMAGE_ID, RG, RG_ID, SUB
from tests.emulator.helpers import Webhook, wait_for

# The filter shape of a Microsoft.EventGrid/systemTopics/eventSubscriptions resource in an ARM template.
TEMPLATE_FILTER: dict[str, Any] = {
    "includedEventTypes": ["Microsoft.Resources.ResourceWriteSuccess"],
    "subjectBeginsWith": f"/subscriptions/{SUB}/",
    "isSubjectCaseSensitive": False,
    "advancedFilters": [
        {
            "operatorType": "StringIn",
            "key": "data.operationName",
            "values": ["Microsoft.Compute/images/write", "Microsoft.Resources/tags/write"],
        },
        {"operatorType": "StringContains", "key": "subject", "values": ["/providers/Microsoft.Compute/images/"]},
    ],
}


def tag(resources: ResourceManagementClient, tags: dict[str, str], operation: str = "Merge") -> None:
    resources.tags.begin_update_at_scope(
        IMAGE_ID, models.TagsPatchResource(operation=operation, properties=models.Tags(tags=tags))
    ).result()


@pytest.fixture
def fast(control: EmulatorControl) -> EmulatorControl:
    control.configure({"eventgrid": {"retryScheduleSeconds": [0.05]}})
    return control


def test_tagging_an_image_delivers_the_event(
    resources: ResourceManagementClient, compute: ComputeManagementClient, fast: EmulatorControl
) -> None:
    with Webhook() as hook:
        fast.subscribe(hook.url, filter=TEMPLATE_FILTER)
        compute.galleries.begin_update(RG, "demo_gallery", cm.GalleryUpdate(tags={"x": "1"})).result()
        tag(resources, {"migrate-to-gallery": "true"})
        wait_for(lambda: hook.events, "the tag event")
        assert resources.tags.get_at_scope(IMAGE_ID).properties.tags == {
            "team": "platform",
            "migrate-to-gallery": "true",
        }
    [event] = hook.events
    oid = principal_id_for(SYSTEM_CLIENT_ID)
    assert event["eventType"] == "Microsoft.Resources.ResourceWriteSuccess"
    assert event["subject"] == IMAGE_ID
    assert event["topic"] == RG_ID
    assert (event["dataVersion"], event["metadataVersion"]) == ("2", "1")
    data = event["data"]
    assert data["operationName"] == data["authorization"]["action"] == "Microsoft.Resources/tags/write"
    assert data["resourceUri"] == data["authorization"]["scope"] == IMAGE_ID
    assert data["claims"]["http://schemas.microsoft.com/identity/claims/objectidentifier"] == oid
    assert data["claims"]["appid"] == SYSTEM_CLIENT_ID
    assert "oid" not in data["claims"]  # ARM reports the long claim names
    evidence = data["authorization"]["evidence"]  # the Learn ResourceActionSuccess example's fields
    assert (evidence["principalId"], evidence["principalType"], evidence["role"]) == (oid, "ServicePrincipal", "Owner")
    assert evidence["roleAssignmentScope"] == f"/subscriptions/{SUB}"
    assert set(evidence) == {
        "role",
        "roleAssignmentScope",
        "roleAssignmentId",
        "roleDefinitionId",
        "principalId",
        "principalType",
    }
    assert (data["status"], data["subscriptionId"], data["resourceProvider"]) == (
        "Succeeded",
        SUB,
        "Microsoft.Resources",
    )
    assert data["correlationId"]
    assert hook.headers[0]["aeg-event-type"] == "Notification"


def test_tags_event_subject_can_be_the_tags_resource(
    resources: ResourceManagementClient, fast: EmulatorControl
) -> None:
    fast.configure({"eventgrid": {"tagsEventSubject": "tags-resource"}})
    with Webhook() as hook:
        fast.subscribe(hook.url, filter=TEMPLATE_FILTER)
        tag(resources, {"a": "b"})
        wait_for(lambda: hook.events, "the tag event")
    assert hook.events[0]["subject"] == IMAGE_ID + "/providers/Microsoft.Resources/tags/default"


def test_image_delete_emits_delete_success_with_http_request(
    compute: ComputeManagementClient, fast: EmulatorControl
) -> None:
    with Webhook() as hook:
        fast.subscribe(hook.url, filter={"includedEventTypes": ["Microsoft.Resources.ResourceDeleteSuccess"]})
        compute.images.begin_delete(RG, "ubuntu-web-01").result()
        wait_for(lambda: hook.events, "the delete event")
    [event] = hook.events
    assert event["subject"] == IMAGE_ID
    assert event["data"]["operationName"] == "Microsoft.Compute/images/delete"
    assert event["data"]["httpRequest"]["method"] == "DELETE"


def test_failed_handshake_refuses_the_subscription(fast: EmulatorControl) -> None:
    with Webhook(handshake=False) as hook, pytest.raises(ControlError) as e:
        fast.subscribe(hook.url)
    assert e.value.status == 400
    assert "validation handshake" in e.value.body["error"]["message"]


def test_duplicate_and_drop_faults(resources: ResourceManagementClient, fast: EmulatorControl) -> None:
    with Webhook() as hook:
        fast.subscribe(hook.url, filter=TEMPLATE_FILTER)
        fast.add_delivery_fault("duplicate", copies=4, times=1)
        tag(resources, {"n": "1"})
        wait_for(lambda: len(hook.events) == 5, "five copies")
        fast.add_delivery_fault("drop", times=1)
        tag(resources, {"n": "2"})
        tag(resources, {"n": "3"})
        wait_for(lambda: len(hook.events) == 6, "the event after the dropped one")
    assert len({e["id"] for e in hook.events[:5]}) == 1
    statuses = sorted(d["status"] for d in fast.deliveries())
    assert statuses == ["delivered"] * 6 + ["dropped"]


def test_reorder_fault_delivers_newest_first(resources: ResourceManagementClient, fast: EmulatorControl) -> None:
    with Webhook() as hook:
        fast.subscribe(hook.url, filter=TEMPLATE_FILTER)
        fast.add_delivery_fault("reorder", count=3)
        for n in ("1", "2", "3"):
            tag(resources, {"n": n}, operation="Replace")
        wait_for(lambda: len(hook.events) == 3, "three events")
    times = [e["eventTime"] for e in hook.events]
    ids = [d["eventId"] for d in fast.deliveries()]
    assert [e["id"] for e in hook.events] == list(reversed(ids))
    assert times == sorted(times, reverse=True)


def test_failing_endpoint_is_retried_then_marked_failed(
    resources: ResourceManagementClient, fast: EmulatorControl
) -> None:
    with Webhook(status=503) as hook:
        fast.subscribe(hook.url, filter=TEMPLATE_FILTER, retry_policy={"maxDeliveryAttempts": 3})
        tag(resources, {"n": "1"})
        wait_for(lambda: fast.deliveries(status="failed"), "the delivery to give up")
    [delivery] = fast.deliveries()
    assert (delivery["attempts"], delivery["lastError"]) == (3, "HTTP 503")


def test_deferred_handshake_happens_before_the_first_delivery(
    resources: ResourceManagementClient, fast: EmulatorControl
) -> None:
    with Webhook() as hook:
        sub = fast.subscribe(hook.url, handshake=False)
        assert sub["validated"] is False
        tag(resources, {"n": "1"})
        wait_for(lambda: hook.events, "the event after the handshake")
    assert hook.events[0]["data"]["operationName"] == "Microsoft.Resources/tags/write"


def test_lro_events_on_completion(compute: ComputeManagementClient, fast: EmulatorControl) -> None:
    fast.configure({"eventgrid": {"lroEvents": "complete"}, "lro": {"gallerySeconds": 120}})
    with Webhook() as hook:
        fast.subscribe(hook.url)
        poller = compute.galleries.begin_update(RG, "demo_gallery", cm.GalleryUpdate(tags={"x": "1"}))
        assert not fast.deliveries()
        fast.advance(120)
        poller.result(timeout=30)
        wait_for(lambda: hook.events, "the event at completion")
    assert hook.events[0]["data"]["operationName"] == "Microsoft.Compute/galleries/write"
