"""What the orchestrator handle returns: ``OrchestratorState`` JSON and its actions (contract §2).

The action list is cumulative (every reply holds all actions since the execution began), compound actions
(WhenAll/WhenAny) nest, and the host consumes them as *leaves* flattened depth-first: leaves beyond the count
already handled are new (contract §2.4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


class ActionType(IntEnum):
    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10
    WHEN_ANY = 11
    WHEN_ALL = 12


_COMPOUND = (ActionType.WHEN_ANY, ActionType.WHEN_ALL)


@dataclass
class OrchestratorReply:
    """One handle call's outcome: either a state (``isDone``/``actions``/``output``/``customStatus``) or an error."""

    leaves: list[dict[str, Any]]
    is_done: bool
    has_output: bool = False
    output: Any = None
    custom_status: Any = None
    has_custom_status: bool = False
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def action_type(action: dict[str, Any]) -> ActionType:
    """``actionType`` may be a number or the enum name (the real host accepts both)."""
    value = action.get("actionType")
    if isinstance(value, str) and not value.isdigit():
        return ActionType[_snake_upper(value)]
    return ActionType(int(value))  # type: ignore[arg-type]


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Depth-first leaves of a V1 (list of lists) or V2/V3 (``[[...]]`` with nested compounds) action payload."""
    leaves: list[dict[str, Any]] = []

    def visit(item: Any) -> None:
        if isinstance(item, list):
            for child in item:
                visit(child)
        elif action_type(item) in _COMPOUND:
            for child in item.get("compoundActions") or []:
                visit(child)
        else:
            leaves.append(item)

    visit(actions)
    return leaves


def parse_reply(text: str) -> OrchestratorReply:
    """Parse the handle's JSON return value."""
    state = json.loads(text)
    return _from_state(state, error=None)


def parse_failure(message: str) -> OrchestratorReply | None:
    """Parse the ``$OutOfProcData$`` failure protocol (contract §2.5); None when the marker is absent."""
    head, marker, tail = message.partition(OUT_OF_PROC_MARKER)
    if not marker:
        return None
    state = json.loads(tail)
    return _from_state(state, error=str(state.get("error") or head))


def _from_state(state: dict[str, Any], *, error: str | None) -> OrchestratorReply:
    return OrchestratorReply(
        leaves=flatten_actions(state.get("actions") or []),
        is_done=bool(state.get("isDone")),
        has_output="output" in state,
        output=state.get("output"),
        custom_status=state.get("customStatus"),
        has_custom_status="customStatus" in state,
        error=error,
        raw=state,
    )


def _snake_upper(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.upper())
    return "".join(out)
