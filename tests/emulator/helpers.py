"""Request bodies and a tiny Event Grid webhook receiver shared by the emulator tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.compute import models

from emulator.control import EmulatorControl
from tests.emulator.conftest import IMAGE_ID, SCOPE


def arm_error(exc: HttpResponseError) -> tuple[str, str]:
    """(code, message) of the ARM error an SDK call raised."""
    assert exc.error is not None, exc
    return str(exc.error.code), str(exc.error.message)


def definition(**overrides: Any) -> models.GalleryImage:
    return models.GalleryImage(definition_body(**overrides))


def version(regions: tuple[str, ...] = ("westus2",), source: str = IMAGE_ID, **pp: Any) -> models.GalleryImageVersion:
    return models.GalleryImageVersion(version_body(regions, source, **pp))


def definition_body(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "osType": "Linux",
        "osState": "Generalized",
        "hyperVGeneration": "V2",
        "identifier": {"publisher": "contoso", "offer": "web", "sku": "ubuntu"},
    }
    props.update(overrides)
    return {"location": "westus2", "properties": props}


def version_body(regions: tuple[str, ...] = ("westus2",), source: str = IMAGE_ID, **pp: Any) -> dict[str, Any]:
    return {
        "location": "westus2",
        "properties": {
            "storageProfile": {"source": {"id": source}},
            "publishingProfile": {"targetRegions": [{"name": r, "regionalReplicaCount": 1} for r in regions], **pp},
        },
    }


class Arm:
    """Raw ARM requests with the managed identity's token: ``arm("PUT", path, body, api_version=...)``; a full URL
    (an operation's status URL) is used as given."""

    def __init__(self, arm: str, control: EmulatorControl):
        token = ManagedIdentityCredential().get_token(*SCOPE).token
        self.arm, self.verify = arm, str(control.info["caBundle"])
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(
        self, method: str, url: str, body: Any = None, *, api_version: str = "2025-03-03"
    ) -> requests.Response:
        url = url if url.startswith("https://") else f"{self.arm}{url}?api-version={api_version}"
        return requests.request(method, url, json=body, headers=self.headers, verify=self.verify, timeout=10)


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll until ``predicate()`` is truthy (deliveries are real HTTP, so they take a moment)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Webhook:
    """An Event Grid endpoint: answers the validation handshake and records notifications (with headers)."""

    def __init__(self, status: int = 200, handshake: bool = True):
        self.status = status
        self.handshake = handshake
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.headers.get("aeg-event-type") == "SubscriptionValidation":
                    code = body[0]["data"]["validationCode"]
                    reply = json.dumps({"validationResponse": code if hook.handshake else "wrong"}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                    return
                if hook.status < 300:
                    hook.events.extend(body)
                    hook.headers.append(dict(self.headers))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=lambda: self.server.serve_forever(poll_interval=0.05), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/events"

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
