"""Fast unit tests of the pure pieces, fed with the host contract's shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.history.HistoryEvent import HistoryEvent as SdkHistoryEvent

from devhost import history as h
from devhost.actions import ActionType, action_type, flatten_actions, parse_failure
from devhost.config import apply_settings, parse_args, read_host_json
from devhost.keys import load_keys
from devhost.routing import Router
from devhost.status import history_events, parse_json_or_text
from devhost.urls import DurableUrls

T = datetime(2024, 5, 1, 12, 0, 1, 123456, tzinfo=UTC)


def test_timestamps_have_seven_digits_and_z_and_round_trip() -> None:
    assert h.format_timestamp(T) == "2024-05-01T12:00:01.1234560Z"
    assert h.parse_timestamp("2024-05-01T12:00:01.1234567Z") == T
    assert h.parse_timestamp("2024-05-01T12:00:01+00:00") == T.replace(microsecond=0)
    assert h.status_time("2024-05-01T12:00:01.1234560Z") == "2024-05-01T12:00:01Z"


def test_event_factories_give_the_contract_envelope_the_sdk_accepts() -> None:
    started = h.new_execution_started(T, name="orch", instance_id="i", execution_id="e", input_json='"x"')
    assert {k: started[k] for k in ("EventType", "EventId", "IsPlayed", "Timestamp", "Version")} == {
        "EventType": 0, "EventId": -1, "IsPlayed": False, "Timestamp": "2024-05-01T12:00:01.1234560Z", "Version": ""
    }  # fmt: skip
    scheduled = h.new_task_scheduled(T, 3, name="hello", input_text='"Tokyo"')
    assert (scheduled["EventType"], scheduled["EventId"], scheduled["Input"]) == (4, 3, '["\\"Tokyo\\""]')
    for event in (started, scheduled, h.new_timer_fired(T, 1, T), h.new_task_completed(T, 3, None)):
        parsed = SdkHistoryEvent(**event)  # the SDK's own constructor: PascalCase keys, int EventType
        assert parsed.timestamp == T


def test_flatten_actions_depth_first_for_v1_and_v3() -> None:
    v3 = [[
        {"actionType": 0, "functionName": "a"},
        {"actionType": 12, "compoundActions": [{"actionType": 5, "fireAt": "x"}, {"actionType": 11, "compoundActions": [
            {"actionType": 6, "externalEventName": "e"}, {"actionType": 0, "functionName": "b"}]}]},
    ]]  # fmt: skip
    assert [a.get("functionName") or a["actionType"] for a in flatten_actions(v3)] == ["a", 5, 6, "b"]
    v1 = [[{"actionType": 0, "functionName": "a"}], [{"actionType": 0, "functionName": "b"}]]
    assert len(flatten_actions(v1)) == 2
    assert action_type({"actionType": "CallActivityWithRetry"}) is ActionType.CALL_ACTIVITY_WITH_RETRY


def test_failure_protocol_is_parsed() -> None:
    state = {"isDone": False, "actions": [[]], "error": "boom", "customStatus": {"p": 1}}
    reply = parse_failure("boom\n\n$OutOfProcData$:" + json.dumps(state))
    assert reply is not None
    assert (reply.error, reply.custom_status) == ("boom", {"p": 1})
    assert parse_failure("some other exception") is None


def test_status_history_folds_scheduling_into_completion() -> None:
    events = [
        h.new_orchestrator_started(T),
        h.new_execution_started(T, name="o", instance_id="i", execution_id="e", input_json=None),
        h.new_task_scheduled(T, 0, name="hello", input_text='"a"'),
        h.new_orchestrator_completed(T),
        h.new_orchestrator_started(T),
        h.new_task_completed(T, 0, '"Hello a"'),
        h.new_execution_completed(T, status=h.OrchestrationStatus.Completed, result='"done"'),
    ]
    shown = history_events(events, show_input=True, show_output=False)
    assert [e["EventType"] for e in shown] == ["ExecutionStarted", "TaskCompleted", "ExecutionCompleted"]
    assert shown[1]["FunctionName"] == "hello"
    assert "Result" not in shown[1]
    assert "EventId" not in shown[1]
    with_output = history_events(events, show_input=False, show_output=True)
    assert with_output[1]["Result"] == "Hello a"
    assert "Input" not in with_output[1]


def test_parse_json_or_text_keeps_non_json_as_text() -> None:
    assert parse_json_or_text('{"a": 1}') == {"a": 1}
    assert parse_json_or_text("cancelled by user") == "cancelled by user"
    assert parse_json_or_text(None) is None


def found(router: Router, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    match = router.find(method, path)
    return None if match is None else (match[0].target, match[1])


def test_router_precedence_constraints_and_catch_all() -> None:
    router = Router()
    router.add("migrations", "list", ["GET"])
    router.add("migrations/{id}", "get", ["GET"])
    router.add("migrations/{id}/approve", "approve", ["POST"])
    router.add("files/{*path}", "files", None)
    router.add("n/{value:int?}", "number", None)
    assert found(router, "GET", "/migrations") == ("list", {})
    assert found(router, "GET", "/Migrations/abc") == ("get", {"id": "abc"})
    assert found(router, "POST", "/migrations/abc/approve") == ("approve", {"id": "abc"})
    assert found(router, "GET", "/migrations/abc/approve") is None
    assert found(router, "PUT", "/files/a/b/c") == ("files", {"path": "a/b/c"})
    assert found(router, "GET", "/n/12") == ("number", {"value": "12"})
    assert found(router, "GET", "/n") == ("number", {})
    assert found(router, "GET", "/n/x") is None


def test_keys_persist_and_levels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = load_keys(tmp_path)
    assert load_keys(tmp_path) == keys
    assert keys.allows(keys.function, "function")
    assert keys.allows(keys.master, "admin")
    assert not keys.allows(keys.function, "admin")
    assert not keys.allows(keys.function, "eventgrid")
    assert keys.allows(keys.eventgrid, "eventgrid")
    assert keys.allows(None, "anonymous")
    assert not keys.allows(None, "function")
    monkeypatch.setenv("DEVHOST_FUNCTION_KEY", "chosen")
    assert load_keys(tmp_path).function == "chosen"


def test_binding_json_drives_the_sdk_client_unmodified() -> None:
    urls = DurableUrls("http://127.0.0.1:7071", "Hub", "Storage", "sys key", "http://127.0.0.1:17071")
    client = df.DurableOrchestrationClient(urls.binding_json())
    import azure.functions as func

    request = func.HttpRequest("POST", "http://localhost:9999/api/start", body=b"")
    response = client.create_check_status_response(request, "abc")
    body = json.loads(response.get_body())
    assert body["statusQueryGetUri"] == (
        "http://localhost:9999/runtime/webhooks/durabletask/instances/abc?taskHub=Hub&connection=Storage&code=sys+key"
    )
    assert response.headers["Location"] == body["statusQueryGetUri"]


def test_settings_become_environment_without_overriding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": {"DEVHOST_T1": "a", "DEVHOST_T2": "b"}}))
    monkeypatch.setenv("DEVHOST_T2", "from-env")
    monkeypatch.delenv("DEVHOST_T1", raising=False)
    apply_settings(settings)
    import os

    assert (os.environ["DEVHOST_T1"], os.environ["DEVHOST_T2"]) == ("a", "from-env")
    monkeypatch.delenv("DEVHOST_T1")


def test_host_json_and_cli_defaults(tmp_path: Path) -> None:
    durable = {"hubName": "H", "maxConcurrentActivityFunctions": 3, "overridableExistingInstanceStates": "AnyState"}
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"http": {"routePrefix": ""}, "durableTask": durable}})
    )
    settings = read_host_json(tmp_path)
    assert (settings.route_prefix, settings.hub_name, settings.max_activities) == ("", "H", 3)
    assert settings.override_any_state
    config = parse_args(["--app", str(tmp_path), "--in-memory", "--clock", "virtual"])
    assert (config.port, config.host, config.state_dir, config.clock) == (7071, "127.0.0.1", None, "virtual")
    with pytest.raises(SystemExit):
        parse_args(["--clock-sync", "http://x"])


def test_package_exports() -> None:
    import devhost

    assert devhost.__all__ == ["DevhostClient", "DevhostError"]
