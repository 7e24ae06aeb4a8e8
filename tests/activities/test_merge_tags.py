"""Issue 19, item 3: a tag write ARM accepts asynchronously (202) is confirmed by reading the tagged resource, never
by polling its operation URL, which ARM may put at subscription level where a role on resource groups gets 403.

The emulator answers tag writes at once with 200, as the recorded Azure traffic does
(``/work/shared/azure-recordings/test_tag_*.yaml``), so the 202 that the spec allows (``Tags_UpdateAtScope`` is
``x-ms-long-running-operation``, responses 200 and 202) is served here by a scripted transport under the real SDK.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from activities import _arm
from activities.planning import merge_tags

SUB = "00000000-0000-0000-0000-000000000001"
IMAGE = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/web"
ARM = "https://management.azure.com"
OPERATION = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Resources/operationResults/op1"


class ScriptedArm(requests.adapters.BaseAdapter):
    """Answers the tags PATCH with ``tags_status``; the image GET returns the old tags once, then the merged ones;
    the subscription-level operation URL answers 403, as it would for a role on resource groups."""

    def __init__(self, tags_status: int) -> None:
        super().__init__()
        self.tags_status = tags_status
        self.calls: list[tuple[str, str]] = []
        self.tags = {"team": "platform"}
        self.pending: dict[str, str] = {}

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        path = (request.url or "").split("?")[0].removeprefix(ARM)
        self.calls.append((request.method or "", path))
        if path == IMAGE + "/providers/Microsoft.Resources/tags/default":
            body = request.body or "{}"
            added = json.loads(body.decode() if isinstance(body, bytes) else str(body))["properties"]["tags"]
            if self.tags_status == 200:
                self.tags.update(added)
                return self._answer(request, 200, {"id": IMAGE, "properties": {"tags": self.tags}})
            self.pending = added
            return self._answer(request, 202, None, {"Location": OPERATION, "Retry-After": "0"})
        if path == IMAGE:
            body = {"id": IMAGE, "name": "web", "location": "westus2", "tags": dict(self.tags), "properties": {}}
            self.tags.update(self.pending)  # the accepted write lands after the first read
            return self._answer(request, 200, body)
        return self._answer(request, 403, {"error": {"code": "AuthorizationFailed", "message": "no"}})

    @staticmethod
    def _answer(request: requests.PreparedRequest, status: int, body: Any, headers: dict[str, str] | None = None):
        content = json.dumps(body).encode() if body is not None else b""
        all_headers = {"Content-Type": "application/json", "Content-Length": str(len(content)), **(headers or {})}
        raw = urllib3.HTTPResponse(body=io.BytesIO(content), headers=all_headers, status=status, preload_content=False)
        return requests.adapters.HTTPAdapter().build_response(request, raw)

    def close(self) -> None:
        pass


class Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", 4_102_444_800)


@pytest.fixture(params=[202, 200], ids=["accepted", "done"])
def arm(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ScriptedArm:
    scripted = ScriptedArm(request.param)
    session = requests.Session()
    session.mount(ARM, scripted)

    def client(cls: Any) -> Any:
        return lambda sub: cls(Token(), sub, base_url=ARM, transport=RequestsTransport(session=session))

    monkeypatch.setattr(_arm, "resources", client(ResourceManagementClient))
    monkeypatch.setattr(_arm, "compute", client(ComputeManagementClient))
    return scripted


def test_a_tag_write_is_confirmed_by_reading_the_resource(arm: ScriptedArm) -> None:
    assert merge_tags(IMAGE, {"migration-status": "running"}, doing="testing") is True
    assert arm.tags == {"team": "platform", "migration-status": "running"}
    assert ("GET", OPERATION.removeprefix(ARM)) not in arm.calls
    reads = [c for c in arm.calls if c == ("GET", IMAGE)]
    assert len(reads) == (2 if arm.tags_status == 202 else 0)  # a 200 needs no confirmation
