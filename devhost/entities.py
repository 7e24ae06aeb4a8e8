"""Durable entities over the out-of-process protocol, as the extension runs them for the Python SDK.

Sources (Azure/azure-functions-durable-extension, ``src/WebJobs.Extensions.DurableTask/``; ``DFX`` below):

- An entity is an instance whose ID is its *scheduler ID* ``@<lower-case name>@<key>``
  (``EntityId.GetSchedulerIdFromEntityId``; the SDK's ``EntityId.get_scheduler_id``).
- An orchestration's ``CallEntity`` / ``SignalEntity`` action becomes a ``RequestMessage`` sent as an event named
  ``op`` to that instance (``DurableOrchestrationContext.CallDurableTaskFunctionAsync``, ``SendEntityMessage``,
  ``EntityMessageEventNames``); the orchestration's history records it as ``EventSent`` with the action's
  sequence number. The request ID is the context's deterministic ``NewGuid`` (a name-based UUID of instance ID,
  orchestration time and a counter). A call's answer is an ``EventRaised`` named with the request ID whose input is
  a ``ResponseMessage`` ``{"result": <JSON text>}`` plus ``"exceptionType"`` when the operation failed
  (``TaskEntityShim.ExecuteOutOfProcBatch``: ``"Error"``); the SDK then raises ``Exception(<result>)``.
- The function runs a *batch*: ``{"self": {"name", "key"}, "exists", "state", "batch": [{"name", "input",
  "isSignal"}]}`` (``EntityTriggerAttributeBindingProvider``) and answers ``{"entityExists", "entityState",
  "results": [{"result", "isError", "duration"}], "signals": [{"target", "name", "input"}]}``
  (``TaskEntityShim.OutOfProcResult``), one result per operation, in order.
- Inputs keep the extension's encoding: the SDK sends an action's input as JSON text, ``RequestMessage.SetInput``
  serializes that string again, and the SDK's ``get_input`` decodes twice; a client signal's body is parsed as
  JSON and stored as that token's text (``HttpApiHandler.HandlePostEntityOperationRequestAsync``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

REQUEST_EVENT = "op"  # EntityMessageEventNames.RequestMessageEventName
ERROR_EXCEPTION_TYPE = "Error"  # what ExecuteOutOfProcBatch puts in a failed operation's response
MIN_DATETIME = "0001-01-01T00:00:00"  # .NET DateTime.MinValue as Json.NET writes it (RequestMessage.Predecessor)
# The name-based UUIDs of the Durable context (DFX GuidManager.UrlNamespaceValue; the SDK's new_uuid uses it too).
_URL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "9e952958-5e33-4daf-827f-2fa12937b875")


def is_entity_id(instance_id: str) -> bool:
    return instance_id.startswith("@")


def scheduler_id(name: str, key: str) -> str:
    return f"@{name.lower()}@{key}"


def parse_scheduler_id(instance_id: str) -> tuple[str, str]:
    """``(name, key)`` of ``@name@key`` (``EntityId.GetEntityIdFromSchedulerId``: the key may contain ``@``)."""
    if not is_entity_id(instance_id) or "@" not in instance_id[1:]:
        raise ValueError(f"'{instance_id}' is not an entity ID (expected @name@key)")
    name, _, key = instance_id[1:].partition("@")
    return name, key


def key_error(key: str) -> str | None:
    """``DurableClient.SignalEntityAsyncInternal``: keys must not contain ``/ \\ # ?`` or control characters."""
    if any(c in "/\\#?" or ord(c) < 32 or 127 <= ord(c) < 160 for c in key):
        return "entityKey (Parameter 'Entity keys must not contain /, \\, #, ?, or control characters.')"
    return None


def deterministic_guid(instance_id: str, moment: datetime, counter: int) -> str:
    """``DurableOrchestrationContext.NewGuid``: UUIDv5 of ``<instance>_<time "o">_<counter>``."""
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return str(uuid.uuid5(_URL_NAMESPACE, f"{instance_id}_{stamp}_{counter}"))


def encode_input(action_input: Any) -> str | None:
    """``RequestMessage.SetInput`` of an action's input (a string: the SDK's JSON text) -> that string as JSON."""
    return None if action_input is None else json.dumps(action_input)


def request_message(
    *,
    request_id: str,
    operation: str,
    input_text: str | None,
    signal: bool,
    parent_instance_id: str | None,
    parent_execution_id: str | None,
    timestamp: str,
) -> str:
    """A ``RequestMessage`` as Json.NET writes it (default-valued properties marked ``Ignore`` left out)."""
    message: dict[str, Any] = {"op": operation}
    if signal:
        message["signal"] = True
    if input_text is not None:
        message["input"] = input_text
    message["id"] = request_id
    if parent_instance_id is not None:
        message["parent"] = parent_instance_id
    if parent_execution_id is not None:
        message["parentExecution"] = parent_execution_id
    message["Timestamp"] = timestamp
    message["Predecessor"] = MIN_DATETIME
    return json.dumps(message, separators=(",", ":"))


def response_message(result: str | None, *, is_error: bool) -> str:
    """The ``ResponseMessage`` that answers a call (``exceptionType`` omitted unless the operation failed)."""
    message: dict[str, Any] = {"result": result}
    if is_error:
        message["exceptionType"] = ERROR_EXCEPTION_TYPE
    return json.dumps(message, separators=(",", ":"))


@dataclass(frozen=True)
class Request:
    """One queued operation (a parsed ``op`` message)."""

    id: str
    operation: str
    input: str | None
    signal: bool
    parent_instance_id: str | None
    parent_execution_id: str | None

    @classmethod
    def parse(cls, text: str) -> Request:
        data = json.loads(text)
        return cls(
            id=str(data["id"]),
            operation=str(data.get("op") or ""),
            input=data.get("input"),
            signal=bool(data.get("signal")),
            parent_instance_id=data.get("parent"),
            parent_execution_id=data.get("parentExecution"),
        )


def batch_context(name: str, key: str, *, exists: bool, state: str | None, requests: list[Request]) -> str:
    """The entity trigger's value for a batch (``EntityTriggerAttributeBindingProvider``)."""
    return json.dumps(
        {
            "self": {"name": name, "key": key},
            "exists": exists,
            "state": state,
            "batch": [{"name": r.operation, "input": r.input, "isSignal": r.signal} for r in requests],
        }
    )


@dataclass(frozen=True)
class OperationResult:
    result: str | None
    is_error: bool


@dataclass(frozen=True)
class Signal:
    target: str  # scheduler ID
    operation: str
    input: str | None


@dataclass(frozen=True)
class BatchResult:
    exists: bool
    state: str | None
    results: list[OperationResult]
    signals: list[Signal]


def parse_batch_result(value: Any, operations: int) -> BatchResult:
    """The function's answer; ``ValueError`` for what the extension refuses ("must return a valid JSON schema")."""
    data = json.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ValueError("Out of proc orchestrators must return a valid JSON schema.")
    results = [OperationResult(r.get("result"), bool(r.get("isError"))) for r in data["results"]]
    if len(results) != operations:
        raise ValueError(f"the entity returned {len(results)} results for a batch of {operations} operations")
    signals = []
    for signal in data.get("signals") or []:
        target = signal.get("target") or {}
        name = target.get("name") if isinstance(target, dict) else getattr(target, "name", None)
        key = target.get("key") if isinstance(target, dict) else getattr(target, "key", None)
        signals.append(Signal(scheduler_id(str(name), str(key)), str(signal.get("name")), signal.get("input")))
    return BatchResult(bool(data.get("entityExists")), data.get("entityState"), results, signals)
