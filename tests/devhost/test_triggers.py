"""HTTP triggers (routes, methods, auth levels) and the Event Grid webhook (handshake, dispatch, keys)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from devhost.client import DevhostClient
from localrun.processes import ServerProcess

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


def test_the_key_header_is_read_first_and_its_name_in_any_case(dh: DevhostClient) -> None:
    """AuthenticationLevelHandler: the ``x-functions-key`` header wins over ``?code=`` (HTTP header names are
    case-insensitive), and a header that is present but empty means no key, not "look at the query"."""
    url, key = f"{dh.base_url}/api/start/sequence", dh.function_key
    for name in ("x-functions-key", "X-Functions-Key", "X-FUNCTIONS-KEY"):
        assert requests.post(url, headers={name: key}, timeout=10).status_code == 202, name
    assert requests.post(url, headers={"X-Functions-Key": "wrong"}, params={"code": key}, timeout=10).status_code == 401
    assert requests.post(url, headers={"X-Functions-Key": key}, params={"code": "wrong"}, timeout=10).status_code == 202
    assert requests.post(url, headers={"x-functions-key": ""}, params={"code": key}, timeout=10).status_code == 401


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
    # The FunctionInvocationException's message, never the function's own exception text.
    assert (failing.status_code, failing.text) == (500, "Exception while executing function: Functions.on_event")
    assert grid(dh, event, function="ON_EVENT").status_code == 404  # the extension's listener names are exact


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


def test_keys_never_reach_the_log_beyond_the_startup_banner(dh: DevhostClient, devhost_process: ServerProcess) -> None:
    dh.call("GET", "ping", params={"code": dh.function_key})
    dh.wait(dh.start("sequence", ["k"]))  # the durable key travels as ?code= on every management call
    log = devhost_process.log_path.read_text()
    for key in (dh.function_key, dh.master_key, dh.durable_key, dh.info["eventGridKey"]):
        assert log.count(key) == 1  # printed once at start, like func start prints its URLs


# --- malformed Event Grid deliveries: what the extension does, never the app's exception text -----------------
def raw_grid(dh: DevhostClient, body: bytes, *, kind: str = "Notification") -> requests.Response:
    params = {"functionName": "on_event", "code": str(dh.info["eventGridKey"])}
    headers = {"aeg-event-type": kind, "Content-Type": "application/json"}
    return requests.post(f"{dh.base_url}{WEBHOOK}", params=params, data=body, headers=headers, timeout=10)


DEEP = b"[" * 10_000 + b"]" * 10_000
# Bodies HttpRequestProcessor cannot read (JToken.Parse throws, or it is neither an object nor an array): the
# host's ExceptionMiddleware answers a bare 500 (no body), before any function runs.
UNREADABLE = [
    ("not-json", b"{bad", "Notification"),
    ("not-utf8", b"\xff\xfe[]", "Notification"),
    ("scalar", b"42", "Notification"),
    ("null", b"null", "Notification"),
    ("string", b'"event"', "Notification"),
    ("deeper-than-json-net", b"[" * 65 + b"]" * 65, "Notification"),
    ("deep", DEEP, "Notification"),
    ("handshake-not-json", b"{bad", "SubscriptionValidation"),
    ("handshake-empty-array", b"[]", "SubscriptionValidation"),
    ("handshake-no-data", b'[{"id": "1"}]', "SubscriptionValidation"),
    ("handshake-data-not-json", b'{"data": "{bad"}', "SubscriptionValidation"),
    ("handshake-no-code", b'{"data": {}}', "SubscriptionValidation"),
    ("handshake-scalar", b"7", "SubscriptionValidation"),
    ("handshake-array-of-arrays", b"[[1]]", "SubscriptionValidation"),
]


@pytest.mark.parametrize(("case", "body", "kind"), UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_webhook_bodies_get_a_bare_500(dh: DevhostClient, case: str, body: bytes, kind: str) -> None:
    answer = raw_grid(dh, body, kind=kind)
    assert (answer.status_code, answer.content) == (500, b""), case


# Readable bodies whose events cannot be bound or decoded: the event fails like a function failure, and one
# failed event fails the delivery (the extension answers 500 so Event Grid redelivers the whole batch), with
# the FunctionInvocationException's message only.
BAD_ITEMS = [
    ("null-item", [None]),
    ("array-item", [[write_event("/img/x")]]),
    ("number-item", [3]),
    ("bad-event-time", [{**write_event("/img/x"), "eventTime": "yesterday"}]),
]


@pytest.mark.parametrize(("case", "events"), BAD_ITEMS, ids=[c[0] for c in BAD_ITEMS])
def test_events_that_cannot_be_bound_fail_the_delivery(dh: DevhostClient, case: str, events: list[Any]) -> None:
    subject = f"/img/ok-{uuid.uuid4().hex[:6]}"
    answer = grid(dh, [write_event(subject), *events])
    assert (answer.status_code, answer.text) == (500, "Exception while executing function: Functions.on_event")
    # The good event of the batch still ran (the extension runs every event, then reports the failure).
    assert dh.wait("eg-" + subject.strip("/").replace("/", "-"))["runtimeStatus"] == "Completed"


def test_cloud_events_handshake_echoes_known_origins(dh: DevhostClient) -> None:
    params = {"functionName": "on_event", "code": str(dh.info["eventGridKey"])}
    url = f"{dh.base_url}{WEBHOOK}"
    known = requests.options(url, params=params, headers={"WebHook-Request-Origin": "eventgrid.azure.us"}, timeout=10)
    assert (known.status_code, known.headers["WebHook-Allowed-Origin"]) == (200, "eventgrid.azure.us")
    other = requests.options(url, params=params, headers={"WebHook-Request-Origin": "evil.example"}, timeout=10)
    assert other.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_control_endpoints_need_the_master_key(dh: DevhostClient) -> None:
    for method, path in (("GET", "stats"), ("GET", "clock"), ("POST", "reset"), ("POST", "clock")):
        url = f"{dh.base_url}/_devhost/{path}"
        assert requests.request(method, url, timeout=10).status_code == 401, path
        wrong = requests.request(method, url, headers={"x-functions-key": dh.function_key}, timeout=10)
        assert wrong.status_code == 401, path
    assert dh.clock()["mode"] == "virtual"  # the client sends the master key


def test_control_endpoints_are_off_unless_enabled() -> None:
    from tests.devhost.conftest import CONFORMANCE_APP

    args = ["--app", str(CONFORMANCE_APP), "--port", "0", "--clock", "virtual", "--in-memory"]
    with ServerProcess("devhost", args) as process:
        dh = DevhostClient(process.info)
        assert process.info["controlEndpoints"] is False
        for path in ("stats", "clock", "reset"):
            headers = {"x-functions-key": dh.master_key}
            answer = requests.post(f"{dh.base_url}/_devhost/{path}", headers=headers, timeout=10)
            assert answer.status_code == 404, path
