"""Replay a recording against a live emulator and compare every answer with Azure's.

For each recording: reset the emulator, seed what the recording made outside the emulated surface (its resource
group as Azure showed it, VMs from their recorded GETs, the managed disks those VMs have as the recording's
images show them, and any other resource a non-emulated PUT created), then send the recorded ARM requests in
order with the subscription and resource group rewritten, moving the emulator's virtual clock to each
interaction's recorded ``date``. Operation-status polls go to the URL the emulator gave for the same operation.
Interactions on resources the emulator does not serve (networks, deployments, key vaults, Graph, VM actions) are
skipped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

from emulator.control import EmulatorControl
from emulator.core.routing import Route, Router
from emulator.routes import POLL_OPERATIONS, build_router
from tests.recordings import compare
from tests.recordings.allowlist import AllowList
from tests.recordings.cassette import ARM_HOST, RECORDED_SUBSCRIPTION, Interaction, Recording

SUBSCRIPTION = "00000000-0000-4000-8000-0000000000aa"
Verdict = Literal["match", "allowed", "differ", "skipped"]
_MANAGED_DISK_TYPE = "Microsoft.Compute/disks"
EMULATED_PROVIDERS = ("microsoft.compute", "microsoft.resources")


@dataclass
class Outcome:
    index: int
    method: str
    path: str
    verdict: Verdict
    differences: list[str] = field(default_factory=list)
    note: str = ""  # why it was skipped, or the allow-list reason

    def line(self) -> str:
        return f"#{self.index} {self.method} {self.path}: {'; '.join(self.differences) or self.note}"


@dataclass
class Report:
    recording: str
    outcomes: list[Outcome]

    def count(self, verdict: Verdict) -> int:
        return sum(o.verdict == verdict for o in self.outcomes)

    @property
    def replayed(self) -> int:
        return len(self.outcomes) - self.count("skipped")


def short_path(path: str) -> str:
    path = re.sub(r"^/subscriptions/[^/]+", "", path)
    path = re.sub(r"/resource[gG]roups/[^/]+", "/{rg}", path)
    return path.replace("/providers/Microsoft.Compute", "") or "/"


class Replayer:
    def __init__(self, control: EmulatorControl, arm: str, token: str, allow: AllowList) -> None:
        self.control, self.arm, self.allow = control, arm.rstrip("/"), allow
        self.router: Router = build_router()
        self.session = requests.Session()
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    # --- rewriting -------------------------------------------------------------------------------------------
    def _groups(self, recording: Recording) -> dict[str, str]:
        return {name: f"oracle-rg-{i}" for i, name in enumerate(sorted(recording.resource_groups(), key=str.lower))}

    @staticmethod
    def _rewrite(text: str, groups: dict[str, str]) -> str:
        text = text.replace(RECORDED_SUBSCRIPTION, SUBSCRIPTION)
        for recorded, ours in groups.items():
            text = re.sub(rf"(/resourcegroups/){re.escape(recorded)}(?=[/?\"']|$)", rf"\g<1>{ours}", text, flags=re.I)
        return text

    # --- seeding ---------------------------------------------------------------------------------------------
    def _route(self, i: Interaction) -> Route | None:
        """The emulator's route for an interaction on the emulated surface, else None: another host, another
        resource provider, or a path only ARM's generic ``/{resourceId}`` routes match (they serve resources
        seeded as given, such as the deployments, disk encryption sets and marketplace images of the recordings)."""
        if i.host != ARM_HOST:
            return None
        route = self.router.match(i.method, i.path)[0]
        namespace = _provider(i.path)
        if route is None or route.operation_id.endswith("ById"):
            return None
        if namespace and namespace.lower() not in EMULATED_PROVIDERS:
            return None
        return route

    def _seed(self, recording: Recording, groups: dict[str, str]) -> dict[str, Any]:
        """What the recording had before (or made outside the emulated surface), as Azure showed it."""
        resource_groups: dict[str, dict[str, Any]] = {}
        outside: dict[str, dict[str, Any]] = {}
        disks: dict[str, dict[str, Any]] = {}
        for i in recording.interactions:
            body = i.body
            if i.host != ARM_HOST or not isinstance(body, dict) or i.status >= 300:
                continue
            kind = str(body.get("type", "")).lower()
            if kind == "microsoft.resources/resourcegroups":
                resource_groups.setdefault(body["name"].lower(), body)
            elif kind == "microsoft.compute/virtualmachines" or (i.method == "PUT" and self._route(i) is None):
                if "id" in body and "/resourcegroups/" in body["id"].lower():
                    outside[body["id"].lower()] = body  # the last answer wins: the VM as last seen
            elif kind == "microsoft.compute/images":
                disks.update(_image_disks(body))
        seed_groups = []
        for recorded, ours in groups.items():
            group = resource_groups.get(recorded.lower(), {"location": "westus"})  # tags tests never read theirs
            seed_groups.append({"subscriptionId": SUBSCRIPTION, "name": ours, "location": group["location"]})
            if "tags" in group:
                seed_groups[-1]["tags"] = group["tags"]
        seed = {
            "subscriptions": [{"subscriptionId": SUBSCRIPTION, "displayName": "recorded traffic"}],
            "resourceGroups": seed_groups,
            "resources": [*outside.values(), *disks.values()],
        }
        return _rewrite_json(seed, lambda s: self._rewrite(s, groups))

    def _outside_changes(self, i: Interaction, groups: dict[str, str]) -> None:
        """Changes made outside the recording show up in its answers: tags that Azure Policy added to the
        resource group after the test framework created it. Apply them before the read that first shows them."""
        body = i.body
        if i.method != "GET" or not isinstance(body, dict) or body.get("type") != "Microsoft.Resources/resourceGroups":
            return
        name = next((ours for recorded, ours in groups.items() if recorded.lower() == body["name"].lower()), None)
        if name is not None:
            group = {"subscriptionId": SUBSCRIPTION, "name": name, "location": body["location"]}
            self.control.seed({"resourceGroups": [{**group, "tags": body.get("tags") or {}}]})

    # --- replay ----------------------------------------------------------------------------------------------
    def run(self, recording: Recording) -> Report:
        self.control.reset(reseed=False)
        groups = self._groups(recording)
        self.control.seed(self._seed(recording, groups))
        start = self.control.advance(1)
        first = next(i.date for i in recording.interactions if "date" in i.headers)
        operations: dict[str, dict[str, str]] = {}  # recorded operation id -> the emulator's status URLs
        started: set[str] = set()  # recorded operation ids whose request was replayed
        outcomes: list[Outcome] = []
        for i in recording.interactions:
            outcome = Outcome(i.index, i.method, short_path(i.path), "skipped")
            outcomes.append(outcome)
            if i.host != ARM_HOST:
                outcome.note = f"not ARM ({i.host})"
                continue
            route = self._route(i)
            if route is None:
                outcome.note = "not emulated"
                continue
            if route.resource_type == "virtualMachines":
                outcome.note = "a VM: created by a deployment, changed by VM actions (not emulated); seeded instead"
                continue
            url = self._rewrite(i.url.replace(f"https://{ARM_HOST}", self.arm), groups)
            if route.operation_id in POLL_OPERATIONS:
                recorded_op = i.operation_id or ""
                if recorded_op not in started:
                    outcome.note = "polls an operation started outside the emulated surface"
                    continue
                urls = operations.get(recorded_op)
                if urls is None:
                    self._judge(recording.name, outcome, ["the emulator started no operation to poll"])
                    continue
                monitor = i.query.get("monitor", "").lower() == "true"
                url = urls.get("location" if monitor else "azure-asyncoperation") or urls["azure-asyncoperation"]
            target = start + (i.date - first)
            if target > start:
                self.control.advance(to=target)
            self._outside_changes(i, groups)
            body = self._rewrite(i.request_body, groups).encode() if i.request_body else None
            response = self.session.request(
                i.method, url, data=body, headers=self.headers, verify=self.control.ca_bundle, timeout=30
            )
            headers = {k.lower(): v for k, v in response.headers.items()}
            answer = compare.Exchange(response.status_code, headers, _json(response))
            new_op = i.started_operation()
            if new_op:
                started.add(new_op)
                if "azure-asyncoperation" in headers:
                    kinds = ("azure-asyncoperation", "location")
                    operations[new_op] = {k: headers[k] for k in kinds if k in headers}
            found = compare.differences(compare.Exchange(i.status, i.headers, i.body), answer)
            self._judge(recording.name, outcome, found)
        return Report(recording.name, outcomes)

    def _judge(self, recording: str, outcome: Outcome, found: list[str]) -> None:
        if not found:
            outcome.verdict = "match"
            return
        unexplained = [d for d in found if self.allow.explain(recording, outcome.index, d) is None]
        if unexplained:
            outcome.verdict, outcome.differences = "differ", unexplained
            return
        outcome.verdict, outcome.differences = "allowed", found
        outcome.note = "; ".join(sorted({str(self.allow.explain(recording, outcome.index, d)) for d in found}))


def _provider(path: str) -> str | None:
    """The resource provider a request is about (the last ``/providers/{namespace}`` of its path)."""
    found = re.findall(r"/providers/([^/]+)", path, flags=re.I)
    return found[-1] if found else None


def _image_disks(image: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The managed disks an image was captured from, as its storage profile shows them (size and SKU)."""
    profile = (image.get("properties") or {}).get("storageProfile") or {}
    disks = {}
    for disk in [profile.get("osDisk") or {}, *(profile.get("dataDisks") or [])]:
        disk_id = (disk.get("managedDisk") or {}).get("id")
        if disk_id and disk.get("diskSizeGB"):
            disks[disk_id.lower()] = {
                "id": disk_id,
                "type": _MANAGED_DISK_TYPE,
                "location": image["location"],
                "sku": {"name": disk.get("storageAccountType", "Standard_LRS")},
                "properties": {"diskSizeGB": disk["diskSizeGB"], "osType": disk.get("osType")},
            }
    return disks


def _rewrite_json(value: Any, rewrite: Any) -> Any:
    if isinstance(value, str):
        return rewrite(value)
    if isinstance(value, list):
        return [_rewrite_json(v, rewrite) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite_json(v, rewrite) for k, v in value.items()}
    return value


def _json(response: requests.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None
