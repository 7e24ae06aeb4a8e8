"""Injected HTTP faults: match a request by method, path regex and/or operationId, then answer with an error
(429 + Retry-After, 500, 503, ...), hang, or let the request run and lose its response ("when": "after").
Each fault fires ``times`` times (default: until deleted) and/or with a ``probability``."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.core import errors


@dataclass
class HttpFault:
    id: str
    method: str | None
    path_regex: str | None
    operation_id: str | None
    status: int
    code: str | None
    message: str | None
    retry_after: int | None
    hang_seconds: float | None
    when: str  # before | after (the request runs, then the client gets the error)
    times: int | None
    probability: float | None
    hits: int = 0

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> HttpFault:
        status = int(doc.get("status", 503 if doc.get("hang") is None else 504))
        if status not in errors.FAULT_ERRORS and not 400 <= status <= 599:
            raise ValueError(f"fault status {status} is not an error status")
        if doc.get("pathRegex"):
            re.compile(doc["pathRegex"])
        when = doc.get("when", "before")
        if when not in ("before", "after"):
            raise ValueError("fault 'when' must be 'before' or 'after'")
        probability = doc.get("probability")
        if probability is not None and not 0 <= float(probability) <= 1:
            raise ValueError("fault 'probability' must be between 0 and 1")
        hang = doc.get("hang")
        return cls(
            id=doc.get("id") or str(uuid.uuid4()),
            method=(doc.get("method") or "").upper() or None,
            path_regex=doc.get("pathRegex"),
            operation_id=doc.get("operationId"),
            status=status,
            code=doc.get("code"),
            message=doc.get("message"),
            retry_after=doc.get("retryAfter", 1 if status == 429 else None),
            hang_seconds=float(hang) if hang is not None else None,
            when=when,
            times=doc.get("times"),
            probability=float(probability) if probability is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "http",
            "method": self.method,
            "pathRegex": self.path_regex,
            "operationId": self.operation_id,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryAfter": self.retry_after,
            "hang": self.hang_seconds,
            "when": self.when,
            "times": self.times,
            "probability": self.probability,
            "hits": self.hits,
        }

    def matches(self, method: str, path: str, operation_id: str | None) -> bool:
        if self.method and self.method != method:
            return False
        if self.operation_id and (operation_id or "").lower() != self.operation_id.lower():
            return False
        return not (self.path_regex and not re.search(self.path_regex, path, re.IGNORECASE))

    def error(self) -> errors.ArmError:
        cls = errors.FAULT_ERRORS.get(self.status, errors.InternalServerError)
        default = {
            429: "The request is being throttled. Please retry after the time given in the Retry-After header.",
            500: "The server encountered an internal error. Please retry the request.",
            503: "The service is temporarily unavailable. Please retry the request.",
            504: "The gateway did not receive a response within the specified time.",
        }.get(self.status, "Injected fault.")
        err = cls(self.message or default)
        err.status = self.status  # type: ignore[misc]
        if self.code:
            err.code = self.code  # type: ignore[misc]
        if self.retry_after is not None:
            err.headers["Retry-After"] = str(self.retry_after)
        return err


@dataclass
class DenyRule:
    """Refuse an action (403 AuthorizationFailed), optionally only under a scope."""

    id: str
    action: str
    scope_regex: str | None
    times: int | None
    hits: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "deny",
            "action": self.action,
            "scopeRegex": self.scope_regex,
            "times": self.times,
            "hits": self.hits,
        }


class Faults:
    def __init__(self) -> None:
        self.http: list[HttpFault] = []
        self.deny: list[DenyRule] = []

    def add_http(self, doc: dict[str, Any]) -> HttpFault:
        fault = HttpFault.from_json(doc)
        self.http.append(fault)
        return fault

    def add_deny(self, doc: dict[str, Any]) -> DenyRule:
        if not doc.get("action"):
            raise ValueError("a deny fault needs an 'action', e.g. Microsoft.Compute/images/delete")
        rule = DenyRule(doc.get("id") or str(uuid.uuid4()), doc["action"], doc.get("scopeRegex"), doc.get("times"))
        self.deny.append(rule)
        return rule

    def take(self, method: str, path: str, operation_id: str | None, when: str) -> HttpFault | None:
        """The first matching fault that fires now (consuming one of its ``times``)."""
        for fault in self.http:
            if fault.when != when or not fault.matches(method, path, operation_id):
                continue
            if fault.times is not None and fault.hits >= fault.times:
                continue
            if fault.probability is not None and random.random() >= fault.probability:
                continue
            fault.hits += 1
            return fault
        return None

    def denied(self, action: str, scope: str) -> bool:
        for rule in self.deny:
            if rule.action.lower() != action.lower():
                continue
            if rule.scope_regex and not re.search(rule.scope_regex, scope, re.IGNORECASE):
                continue
            if rule.times is not None and rule.hits >= rule.times:
                continue
            rule.hits += 1
            return True
        return False

    def remove(self, fault_id: str) -> bool:
        before = len(self.http) + len(self.deny)
        self.http = [f for f in self.http if f.id != fault_id]
        self.deny = [d for d in self.deny if d.id != fault_id]
        return before != len(self.http) + len(self.deny)

    def clear(self) -> None:
        self.http.clear()
        self.deny.clear()
