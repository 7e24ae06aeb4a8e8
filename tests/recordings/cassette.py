"""The vendored Azure CLI recordings (``third_party/azure-recordings``): what Azure really answered, one
interaction at a time."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from localrun.processes import REPO_ROOT

RECORDINGS = REPO_ROOT / "third_party" / "azure-recordings"
ARM_HOST = "management.azure.com"
# What the recordings' subscription and resource groups look like (sanitized by the Azure CLI's test framework).
RECORDED_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
_RG = re.compile(r"/resourcegroups/([^/?]+)", re.IGNORECASE)
_OPERATION = re.compile(r"/providers/Microsoft\.Compute/locations/[^/]+/(?:capsOperations|operations)/([^/?]+)", re.I)


@dataclass(frozen=True)
class Interaction:
    index: int
    method: str
    url: str
    request_body: str | None
    status: int
    headers: dict[str, str]  # response headers, lower-case names, first value
    body_text: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc.lower()

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    @property
    def date(self) -> datetime:
        return parsedate_to_datetime(self.headers["date"])

    @property
    def body(self) -> Any:
        """The response body as JSON (None when empty or not JSON)."""
        try:
            return json.loads(self.body_text) if self.body_text else None
        except ValueError:
            return None

    @property
    def request_json(self) -> Any:
        try:
            return json.loads(self.request_body) if self.request_body else None
        except ValueError:
            return None

    @property
    def operation_id(self) -> str | None:
        """The operation this request polls (an ARM operation-status URL), if any."""
        m = _OPERATION.search(self.path)
        return m.group(1) if m else None

    def started_operation(self) -> str | None:
        """The operation this write started (from its ``Azure-AsyncOperation`` answer), if any."""
        url = self.headers.get("azure-asyncoperation")
        m = _OPERATION.search(urlsplit(url).path) if url else None
        return m.group(1) if m else None


@dataclass(frozen=True)
class Recording:
    name: str
    interactions: tuple[Interaction, ...]

    def resource_groups(self) -> set[str]:
        return {m.group(1) for i in self.interactions if i.host == ARM_HOST for m in [_RG.search(i.path)] if m}


def _interaction(index: int, raw: dict[str, Any]) -> Interaction:
    request, response = raw["request"], raw["response"]
    body = request.get("body")
    return Interaction(
        index=index,
        method=request["method"].upper(),
        url=request["uri"],
        request_body=body if isinstance(body, str) else (json.dumps(body) if body is not None else None),
        status=int(response["status"]["code"]),
        headers={k.lower(): str(v[0]) for k, v in response["headers"].items() if v},
        body_text=(response.get("body") or {}).get("string") or "",
    )


@cache
def load(name: str) -> Recording:
    path = RECORDINGS / f"{name}.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    return Recording(name, tuple(_interaction(i, raw) for i, raw in enumerate(doc["interactions"])))


def names() -> list[str]:
    return sorted(p.stem for p in RECORDINGS.glob("*.yaml"))
