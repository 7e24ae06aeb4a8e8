"""A small ARM world for end-to-end tests: resource builders, and a ``World`` that acts like a user would.

Builders return seed documents (ARM JSON); the emulator applies them through the same model code as ARM
requests. ``World`` tags images through the real azure-mgmt-resource client, calls our HTTP API with a function
key, and follows migrations through the Durable status endpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests

from emulator.identity import principal_id_for
from localrun.stack import APP_CLIENT_ID, USER_CLIENT_ID, USER_PRINCIPAL_ID, LocalStack
from migration.instance_ids import migration_instance_id
from migration.resource_ids import ImageId
from tests.infra.template import emulator_roles

SUB = "11111111-1111-4111-8111-111111111111"
EVENT_SUBSCRIPTION = "image-migration"  # the name LocalStack.subscribe gives the app's Event Grid subscription
RG = "rg-images"
GALLERY_RG = "rg-gallery"
LOCATION = "westus2"
GALLERY_NAME = "corp_gallery"
GALLERY = f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}/providers/Microsoft.Compute/galleries/{GALLERY_NAME}"


def image_id(name: str, *, group: str = RG) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/images/{name}"


def definition_id(name: str) -> str:
    return f"{GALLERY}/images/{name}"


def image(
    name: str,
    *,
    generation: str | None = "V2",
    os_type: str = "Linux",
    data_disks: tuple[tuple[int, int], ...] = ((0, 64),),
    location: str = LOCATION,
    tags: dict[str, str] | None = None,
    group: str = RG,
) -> dict[str, Any]:
    disk = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Compute/disks/{name}"
    properties: dict[str, Any] = {
        "storageProfile": {
            "osDisk": {
                "osType": os_type,
                "osState": "Generalized",
                "diskSizeGB": 30,
                "caching": "ReadWrite",
                "storageAccountType": "Premium_LRS",
                "managedDisk": {"id": f"{disk}-os"},
            },
            "dataDisks": [
                {"lun": lun, "diskSizeGB": size, "caching": "None", "managedDisk": {"id": f"{disk}-data{lun}"}}
                for lun, size in data_disks
            ],
        }
    }
    if generation:
        properties["hyperVGeneration"] = generation
    return {"id": image_id(name, group=group), "location": location, "tags": tags or {}, "properties": properties}


def gallery(location: str = LOCATION) -> dict[str, Any]:
    return {"id": GALLERY, "location": location, "properties": {"description": "test gallery"}}


def definition(
    name: str, *, generation: str = "V2", os_type: str = "Linux", security: str | None = "Standard"
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "osType": os_type,
        "osState": "Generalized",
        "hyperVGeneration": generation,
        "identifier": {"publisher": "Existing", "offer": "seeded", "sku": name},
    }
    if security:
        properties["features"] = [{"name": "SecurityType", "value": security}]
    return {"id": definition_id(name), "location": LOCATION, "properties": properties}


def version(definition_name: str, name: str, source_image: str) -> dict[str, Any]:
    return {
        "id": f"{definition_id(definition_name)}/versions/{name}",
        "location": LOCATION,
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": LOCATION, "regionalReplicaCount": 1}]},
            "storageProfile": {"source": {"id": source_image}},
        },
    }


def scale_set(
    name: str, *, image: str | None = None, upgrade_mode: str = "Manual", location: str = LOCATION, sub: str = SUB
) -> dict[str, Any]:
    reference: dict[str, Any] = (
        {"id": image} if image else {"publisher": "Canonical", "offer": "ubuntu", "sku": "server", "version": "latest"}
    )
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
        "location": location,
        "sku": {"name": "Standard_D2s_v5", "tier": "Standard", "capacity": 1},
        "properties": {
            "upgradePolicy": {"mode": upgrade_mode},
            "virtualMachineProfile": {
                "storageProfile": {"imageReference": reference, "osDisk": {"createOption": "FromImage"}},
                "osProfile": {"computerNamePrefix": name[:9], "adminUsername": "azureuser"},
            },
        },
    }


APP_PRINCIPAL_ID = principal_id_for(APP_CLIENT_ID)
# The deployment the scenarios run as: images anywhere in the subscription, the gallery in its own resource group.
DEPLOYMENT = {
    "imageSubscriptionIds": [SUB],
    "galleryResourceGroupId": f"/subscriptions/{SUB}/resourceGroups/{GALLERY_RG}",
}


def deployed_rbac(
    *, include_boot_test: bool = False, without: tuple[str, ...] = (), deployment: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The emulator's role assignments as deployed: each of the template's roles for the app's identity at the
    scopes the template assigns it (minus the actions in ``without``), and Owner for the platform engineer who
    tags images in the scenarios."""
    parameters = {**(deployment or DEPLOYMENT), "enableBootTest": include_boot_test}
    app = [
        {**role, "actions": [a for a in role["actions"] if a not in without]}
        for role in emulator_roles(parameters, APP_PRINCIPAL_ID)
    ]
    return [*app, {"name": "Owner", "actions": ["*"], "principals": [USER_PRINCIPAL_ID]}]


def seed_document(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "subscriptions": [{"subscriptionId": SUB, "displayName": "e2e"}],
        "resourceGroups": [
            {"subscriptionId": SUB, "name": RG, "location": LOCATION},
            {"subscriptionId": SUB, "name": GALLERY_RG, "location": LOCATION},
        ],
        "resources": list(resources),
    }


def eventually(check: Any, timeout: float = 10.0) -> Any:
    """Poll ``check()`` until it returns a truthy value (real time); the last value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@dataclass
class World:
    stack: LocalStack

    @classmethod
    def fresh(cls, stack: LocalStack, *, replication_seconds: float = 3600) -> World:
        """A shared stack made new for one test: empty ARM and host, time running, Event Grid subscribed, the
        template's roles enforced."""
        stack.arm.reset(reseed=False)
        stack.host.reset()
        stack.host.clock(auto_advance=True)
        stack.subscribe()
        stack.arm.set_role(deployed_rbac())  # as deployed: the template's roles, enforced by the emulator
        world = cls(stack)
        world.replication_takes(replication_seconds)
        return world

    # --- arranging ------------------------------------------------------------------------------------------
    def seed(self, *resources: dict[str, Any]) -> None:
        self.stack.arm.seed(seed_document(*resources))

    def replication_takes(self, seconds: float, **extra: Any) -> None:
        self.stack.arm.configure({"replication": {"fixedSeconds": seconds, "queuedSeconds": 30, **extra}})

    # --- acting as a user -----------------------------------------------------------------------------------
    def tag(self, image: str, *, as_client: str = USER_CLIENT_ID, **tags: str) -> None:
        """Merge tags through the Tags API, as ``az tag update --operation merge`` would (by default as the platform
        engineer, whom the stack lists in ALLOWED_TAG_PRINCIPALS; ``as_client``: another user's client ID)."""
        self.stack.resources(SUB, as_client).tags.begin_update_at_scope(
            image, {"operation": "Merge", "properties": {"tags": tags}}
        ).result()

    def tag_for_migration(self, image: str, **options: str) -> str:
        self.tag(image, **{"migrate-to-gallery": GALLERY_NAME, **options})
        return migration_instance_id(ImageId.parse(image))

    def api(self, method: str, route: str, **kwargs: Any) -> requests.Response:
        return self.stack.host.call(method, route, **kwargs)

    def start_http(self, body: dict[str, Any]) -> requests.Response:
        return self.api("POST", "migrations", json=body)

    # --- observing ------------------------------------------------------------------------------------------
    def instance_of(self, image: str) -> str:
        return migration_instance_id(ImageId.parse(image))

    def wait_for_instance(self, instance_id: str, timeout: float = 30.0) -> None:
        """Until the instance exists (the tag event is delivered asynchronously)."""
        deadline = time.monotonic() + timeout
        while self.stack.host.status(instance_id) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no instance {instance_id} after {timeout}s\n{self.stack.logs()}")
            time.sleep(0.05)

    def finish(self, instance_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The Durable status once terminal; its ``output`` is the migration's outcome."""
        self.wait_for_instance(instance_id)
        try:
            return self.stack.host.wait(instance_id, timeout=timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.stack.logs()}") from None

    def assert_failed_and_cleaned_up(
        self, output: dict[str, Any], *, code: str, mentions: tuple[str, ...], source: str, definition: str
    ) -> None:
        """A failed migration: the reason names what went wrong, its version is gone, the source is kept."""
        assert (output["outcome"], output["error"]["code"]) == ("failed", code), output
        for text in mentions:
            assert text in output["error"]["message"], output["error"]
        assert output["versionRemoved"] is True
        assert self.exists(source)
        assert self.versions_of(definition) == []

    def step_to_phase(self, instance_id: str, phase: str) -> None:
        """Hold virtual time and move it forward in 10-minute steps until the migration reaches ``phase``
        (e.g. awaiting-approval, whose timeout would otherwise fire as soon as the host is idle)."""
        host = self.stack.host
        host.clock(auto_advance=False)
        self.wait_for_instance(instance_id)
        for _ in range(60):
            self.wait_until_host_idle()  # a step taken while an activity still runs would skip past its result
            status = host.status(instance_id) or {}
            if (status.get("customStatus") or {}).get("phase") == phase:
                return
            host.clock(advance_by=600)
        raise AssertionError(f"{instance_id} never reached {phase}: {host.status(instance_id)}")

    def wait_until_host_idle(self, timeout: float = 60.0) -> None:
        """Until the devhost has nothing running or ready, seen twice in a row (work moves between its queues)."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            seen = seen + 1 if self.stack.host.clock().get("idle") else 0
            if seen == 2:
                return
            time.sleep(0.05)
        raise AssertionError(f"the devhost stayed busy for {timeout:.0f} s")

    def hold_in_replication(self, instance_id: str) -> None:
        """Stop virtual time while the migration sleeps between replication polls."""
        self.step_to_phase(instance_id, "replicating")  # holds the clock; steps it past a wait for ARM budget
        self.stack.host.wait_until(
            instance_id,
            lambda s: (
                (s.get("customStatus") or {}).get("phase") == "replicating"
                and bool((s.get("customStatus") or {}).get("nextPollAt"))
            ),
        )

    def book_the_budget(self, subscription: str) -> None:
        """Take a day's worth of reads from a subscription's ARM budget (an ``acquire`` sent as a signal): whatever
        asks it next waits on a durable timer, with ``waiting for ARM budget until ...`` in its status."""
        now = self.stack.host.clock()["now"]
        self.stack.host.signal_entity("arm_budget", subscription, "acquire", {"at": now, "need": {"reads": 2_000_000}})
        assert eventually(lambda: self.stack.host.entity_state("arm_budget", subscription))

    def book_again_after_listing(self, subscription: str) -> None:
        """With time held while a plan's or batch's listing waits for the booked budget: move time past that wait,
        hold the listing's last step (it asks the budget for nothing) and book the budget again, so what comes
        after the listing waits too."""
        host = self.stack.host
        point = host.break_at("get_active_migrations", at="start")
        host.clock(advance_by=3 * 86400)
        host.wait_for_breakpoint(point["id"])
        self.book_the_budget(subscription)
        host.release_breakpoint(point["id"])

    def summary(self, instance_id: str) -> dict[str, Any]:
        response = self.api("GET", f"migrations/{instance_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def exists(self, resource_id: str) -> bool:
        """As ARM's reads show it: a resource whose delete was accepted is gone, though Azure takes a while to finish
        it (an image 5 s, a version about 2 minutes) and the emulator keeps its record until then."""
        wanted = resource_id.lower()
        return any(
            r["body"]["id"].lower() == wanted for r in self.stack.arm.resources() if not r["meta"].get("deleting")
        )

    def versions_of(self, definition_name: str) -> list[str]:
        prefix = definition_id(definition_name).lower() + "/versions/"
        return sorted(
            r["body"]["name"]
            for r in self.stack.arm.resources("Microsoft.Compute/galleries/images/versions")
            if r["body"]["id"].lower().startswith(prefix) and not r["meta"].get("deleting")
        )

    def tags_of(self, resource_id: str) -> dict[str, str]:
        for record in self.stack.arm.resources():
            if record["body"]["id"].lower() == resource_id.lower():
                return dict(record["body"].get("tags") or {})
        raise KeyError(resource_id)

    def instances(self) -> list[dict[str, Any]]:
        return self.stack.host.list_instances(instanceIdPrefix="mig-")

    def run_id(self, instance_id: str) -> str:
        """The run an instance holds (the instance ID is reused by a later migration of the same image; the run
        ID, chosen by the starter, never is)."""
        status = self.stack.host.status(instance_id)
        assert status is not None, instance_id
        return str(json.loads(status["input"])["runId"])

    def settled_deliveries(self, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The app subscription's Event Grid deliveries once none is still open (pending, delayed or held), as
        the emulator records them: what every event, the app's own tag writes' included, led to has happened."""

        def settled() -> list[dict[str, Any]] | None:
            found = [d for d in self.stack.arm.deliveries() if d.get("subscription") == EVENT_SUBSCRIPTION]
            return None if any(d["status"] in ("pending", "held") for d in found) else found

        found = eventually(settled, timeout=timeout)
        assert found is not None, f"deliveries never settled: {self.stack.arm.deliveries()}"
        return list(found)

    def app_requests(self, operation_id: str | None = None) -> list[dict[str, Any]]:
        """The request log's entries of the app's managed identity (the user's own calls left out)."""
        return [
            r
            for r in self.stack.arm.requests(operation_id=operation_id)
            if (r.get("clientId") or "").lower() == APP_CLIENT_ID.lower()
        ]

    def status_writes(self, image: str, status: str) -> list[dict[str, Any]]:
        """The app's tag writes on ``image`` that set ``migration-status`` to ``status`` (needs ``recordBodies``)."""
        scope = image.lower() + "/providers/microsoft.resources/tags/default"
        return [
            r
            for r in self.app_requests("Tags_UpdateAtScope")
            if r["path"].lower() == scope
            and ((r.get("requestBody") or {}).get("properties") or {}).get("tags", {}).get("migration-status") == status
        ]
