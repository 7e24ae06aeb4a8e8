"""The benchmarks' ARM world and how they drive the product: seeded images, tag-triggered migrations.

The seed builders and the user's actions (tagging through the real Tags API) are the end-to-end suite's
(``tests/e2e/world.py``), so the benchmarks measure exactly the path those tests prove correct.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.settings import ReplicationTimings
from localrun.stack import APP_CLIENT_ID, USER_CLIENT_ID, LocalStack
from tests.e2e.world import GALLERY_NAME, SUB, World, definition, gallery, image, image_id

__all__ = [
    "APP_CLIENT_ID",
    "REGIONS",
    "SUB",
    "USER_CLIENT_ID",
    "baseline_source",
    "bench_stack",
    "gallery",
    "image",
    "image_id",
    "replication_takes",
    "seed",
    "start_by_tag",
    "version_record",
    "wait_terminal",
    "wait_until",
]

# Two target regions: the source's (West US 2, always included) and East US, one replica each.
REGIONS = "westus2=1;eastus=1"


QUEUED_SECONDS = ReplicationTimings().queued_seconds  # the default (Azure-fitted) wait before a region copies


def bench_stack() -> LocalStack:
    """Emulator + devhost on the virtual clock, with the product's default settings (no overrides: the benchmark
    measures the shipped polling schedule) and the emulator's defaults (Azure's headers and fitted timings)."""
    # The emulator keeps its state in memory: with --state it rewrites its state file after requests, a cost that
    # grows with the number of resources and that ARM does not have.
    return LocalStack(clock="virtual", seed=None, persist_emulator=False)


def replication_takes(stack: LocalStack, seconds: float) -> None:
    """Each region copies for ``seconds`` after the emulator's default queue (``QUEUED_SECONDS``)."""
    stack.arm.configure({"replication": {"fixedSeconds": seconds}})


def start_by_tag(stack: LocalStack, image: str) -> str:
    """Tag the image for migration through the Tags API, as a user would; returns the migration's instance ID."""
    return World(stack).tag_for_migration(image, **{"migrate-to-gallery": GALLERY_NAME, "migrate-regions": REGIONS})


def wait_terminal(stack: LocalStack, instance_id: str, *, timeout: float = 120.0) -> dict[str, Any]:
    return World(stack).finish(instance_id, timeout=timeout)


def version_record(stack: LocalStack, version_id: str) -> dict[str, Any]:
    """The emulator's stored record of a version: ``body`` (ARM JSON) and ``meta`` (plan, ``terminalAt``)."""
    wanted = version_id.lower()
    for record in stack.arm.resources("Microsoft.Compute/galleries/images/versions"):
        if str(record["body"]["id"]).lower() == wanted:
            return record
    raise LookupError(f"{version_id} is not in the emulator")


def wait_until(check: Any, *, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll ``check()`` (real time) until truthy; TimeoutError names ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


def seed(stack: LocalStack, *resources: dict[str, Any]) -> None:
    World(stack).seed(*resources)


def baseline_source(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A second image and its own definition, so the SDK baseline replicates an equivalent version."""
    return image(name), definition(name)
