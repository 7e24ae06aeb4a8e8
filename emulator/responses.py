"""ARM request handlers: parse the request, call the backend method named after the operationId, serialize.

No rule lives here; backends raise ArmError and return :class:`~emulator.core.backend.Result`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from emulator.compute.models import ComputeBackend
from emulator.core import errors
from emulator.core.backend import Context, Result
from emulator.core.lro import retry_after_header
from emulator.identity import Principal
from emulator.resources.models import ResourcesBackend


@dataclass
class Backends:
    ctx: Context
    compute: ComputeBackend
    resources: ResourcesBackend


@dataclass
class Call:
    """One parsed ARM request."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    api_version: str
    base_url: str
    principal: Principal | None = None

    def json(self) -> dict[str, Any]:
        if not self.raw_body:
            raise errors.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: the request body is empty."
            )
        try:
            body = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError) as e:
            raise errors.InvalidRequestContent(
                f"The request content was invalid and could not be deserialized: '{e}'."
            ) from None
        if not isinstance(body, dict):
            raise errors.InvalidRequestContent(
                "The request content was invalid and could not be deserialized: a JSON object is expected."
            )
        return body


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    result: Result | None = None


def ok(body: dict[str, Any]) -> Reply:
    return Reply(200, body)


def written(b: Backends, call: Call, result: Result) -> Reply:
    """PUT/PATCH: 201 when created, else 200; ``Azure-AsyncOperation`` (only) when an operation was started, as
    Azure answers a gallery, definition, version or image PUT (recorded traffic: no ``Location``, no
    ``Retry-After``). The body is the resource as it is now (Creating/Updating), not as a settle after the
    handler may leave it."""
    headers = {}
    if result.operation is not None:
        headers = b.ctx.ops.headers(result.operation, call.base_url, b.ctx.settings.lro.retry_after_seconds)
        headers.pop("Location")
    status = 201 if result.created else 200
    return Reply(status, copy.deepcopy(result.response_body), headers, result)


def deleted(b: Backends, call: Call, result: Result) -> Reply:
    """DELETE: 202 + ``Azure-AsyncOperation`` and ``Location`` when an operation started (recorded traffic: both,
    no ``Retry-After``), 200 when done at once, 204 when nothing was there."""
    if result.operation is not None:
        headers = b.ctx.ops.headers(result.operation, call.base_url, b.ctx.settings.lro.retry_after_seconds)
        return Reply(202, None, headers, result)
    return Reply(200 if result.deleted else 204, None, {}, result)


def page(b: Backends, call: Call, values: list[dict[str, Any]], size: int | None = None) -> Reply:
    """One page of ``values`` (``size``, default ``limits.listPageSize``) and the ``nextLink`` to the rest."""
    size = size or b.ctx.settings.limits.list_page_size
    try:
        skip = int(call.query.get("$skiptoken", "0"))
    except ValueError:
        raise errors.InvalidParameter("The $skiptoken is invalid.", target="$skiptoken") from None
    body: dict[str, Any] = {"value": values[skip : skip + size]}
    if skip + size < len(values):
        query = {k: v for k, v in call.query.items() if k != "$skiptoken"} | {"$skiptoken": str(skip + size)}
        body["nextLink"] = f"{call.base_url}{call.path}?{urlencode(query)}"
    return Reply(200, body)


def operation_status(b: Backends, call: Call) -> Reply:
    """Azure-AsyncOperation (status body) and Location (``monitor=true``: 202 until done, then the result).
    While the operation is in progress every answer carries ``Retry-After`` (``lro.retryAfterSeconds``; 0: none)."""
    op = b.ctx.ops.get(call.params["operationId"])
    if op is None or op["subscription"].lower() != call.params["subscriptionId"].lower():
        raise errors.NotFound(f"The operation '{call.params['operationId']}' was not found.")
    step = b.ctx.settings.lro.advance_clock_on_poll_seconds
    if op["status"] == "InProgress" and b.ctx.clock.virtual and step > 0:
        b.ctx.clock.advance_by(step)
        b.compute.settle()
    in_progress = retry_after_header(b.ctx.settings.lro.retry_after_seconds) if op["status"] == "InProgress" else {}
    if call.query.get("monitor", "").lower() != "true":
        return Reply(200, b.ctx.ops.status_body(op), in_progress)
    if op["status"] == "InProgress":
        url = b.ctx.ops.url(op, call.base_url) + "&monitor=true"
        return Reply(202, None, {"Location": url, **in_progress})
    if op["error"]:
        return Reply(400 if op["status"] == "Failed" else 409, {"error": op["error"]})
    if op["kind"] == "delete":
        return Reply(200, None)
    record = b.ctx.store.get(op["resourceId"])
    return Reply(200, record["body"] if record else None)
