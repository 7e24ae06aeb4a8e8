"""HTTP triggers (routes, methods, auth levels) and the Event Grid webhook (handshake, dispatch, keys)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from devhost.client import DevhostClient

WEBHOOK = "/runtime/webhooks/eventgrid"


def grid(dh: DevhostClient, body: Any, *, kind: str | None = "Notification", function: str = "on_event",
         code: str | None = "eventgrid") -> requests.Response:  # fmt: skip
    params = {"functionName": function}
    if code == "eventgrid":
        params["code"] = dh.info["eventGridKey"]
    elif code:
        params["code"] = code
    headers = {"aeg-event-type": kind} if kind else {}
    return requests.post(f"{dh.base_url}{WEBHOOK}", params=params, json=body, headers=headers, timeout=10)


def write_event(subject: str, **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000",
        "subject": subject,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": "2024-05-01T12:00:00.1234567Z",
        "data": {"operationName": "Microsoft.Compute/images/write", **data},
        "dataVersion": "",
        "metadataVersion": "1",
    }


def test_anonymous_function_gets_request_and_context(dh: DevhostClient) -> None:
    response = dh.call("GET", "ping", key=None, params={"a": "1"})
    assert response.status_code == 200
    assert response.json() == {"function": "ping", "url": f"{dh.base_url}/api/ping?a=1", "params": {"a": "1"}}


def test_function_level_keys(dh: DevhostClient) -> None:
    assert dh.call("POST", "start/sequence", key=None, data="[]").status_code == 401
    assert dh.call("POST", "start/sequence", key="function", data="[]").status_code == 202
    assert dh.call("POST", "start/sequence", key="master", data="[]").status_code == 202
    by_query = requests.post(f"{dh.base_url}/api/start/sequence", params={"code": dh.function_key}, timeout=10)
    assert by_query.status_code == 202


def test_admin_level_needs_the_master_key(dh: DevhostClient) -> None:
    assert dh.call("GET", "admin-only", key="function").status_code == 401
    assert dh.call("GET", "admin-only", key="master").status_code == 204


def test_routes_methods_and_constraints(dh: DevhostClient) -> None:
    assert dh.call("GET", "items/12/a/b").text == "GET item 12 rest=a/b"
    assert dh.call("PUT", "items/7").text == "PUT item 7 rest=None"
    assert dh.call("GET", "ITEMS/7").status_code == 200  # literals match case-insensitively
    assert dh.call("GET", "items/abc").status_code == 404
    assert dh.call("DELETE", "items/7").status_code == 404
    assert dh.call("GET", "nothing-here").status_code == 404


def test_function_exception_is_a_500(dh: DevhostClient) -> None:
    response = dh.call("GET", "explode", key=None)
    assert (response.status_code, response.content) == (500, b"")


def test_sdk_client_get_status_through_the_rpc_endpoint(dh: DevhostClient) -> None:
    instance_id = dh.start("sequence", ["s"])
    dh.wait(instance_id)
    body = dh.call("GET", f"status/{instance_id}").json()
    assert (body["runtimeStatus"], body["output"]) == ("Completed", ["Hello s"])


def test_event_grid_validation_handshake(dh: DevhostClient) -> None:
    validation = [
        {
            "id": "1",
            "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
            "subject": "",
            "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
            "eventTime": "2024-05-01T00:00:00Z",
            "dataVersion": "1",
            "metadataVersion": "1",
            "topic": "/x",
        }
    ]
    answer = grid(dh, validation, kind="SubscriptionValidation")
    assert (answer.status_code, answer.json()) == (200, {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    cloud = {"specversion": "1.0", "id": "2", "type": "Microsoft.EventGrid.SubscriptionValidationEvent",
             "source": "/x", "data": json.dumps({"validationCode": "abc"})}  # fmt: skip
    assert grid(dh, cloud, kind="subscriptionvalidation").json() == {"validationResponse": "abc"}


def test_event_grid_errors(dh: DevhostClient) -> None:
    event = [write_event("/img/none")]
    missing = grid(dh, event, function="nope")
    assert (missing.status_code, missing.text) == (404, "cannot find function: 'nope'")
    assert grid(dh, event, code=None).status_code == 401
    assert grid(dh, event, code=dh.function_key).status_code == 401
    assert grid(dh, event, kind=None).status_code == 400
    assert grid(dh, event, kind="Unsubscribe").status_code == 202
    failing = grid(dh, [write_event("/img/bad", fail=True)])
    assert failing.status_code == 500
    assert failing.text.startswith("rejected event ")


def test_event_grid_cloud_event_notification(dh: DevhostClient) -> None:
    subject = f"/cloud/{uuid.uuid4().hex[:6]}"
    event = {"specversion": "1.0", "id": "c1", "source": "/x", "type": "Custom.Event", "subject": subject, "data": {}}
    assert grid(dh, event).status_code == 202
    assert dh.wait("eg-" + subject.strip("/").replace("/", "-"))["output"] == ["Hello Custom.Event"]


def test_event_grid_duplicates_collapse_into_one_instance(dh: DevhostClient) -> None:
    subject = f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/img-{uuid.uuid4().hex[:6]}"
    events = [write_event(subject) for _ in range(3)]
    assert grid(dh, events).status_code == 202
    assert grid(dh, [events[0]], code=dh.master_key).status_code == 202
    instance_id = "eg-" + subject.strip("/").replace("/", "-")
    status = dh.wait(instance_id)
    assert status["output"] == ["Hello Microsoft.Resources.ResourceWriteSuccess"]
    assert [i["instanceId"] for i in dh.list_instances(instanceIdPrefix=instance_id)] == [instance_id]
