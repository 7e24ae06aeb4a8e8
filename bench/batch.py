"""The batch row of the scale benchmark (issue 9): the same images, migrated by one batch over their scope.

``python -m bench.batch [--migrations N] [--cap N] [--no-save]`` runs the scale benchmark's own runner
(:func:`bench.scale.run_scenario`) with :data:`BATCH`, prints the scale tables plus the batch's concurrency (the
most migrations running at once, from their durable records) and where the CPU went (devhost: migrations' replay,
the batch engine's replay, the host and the activities; emulator), and saves them as the ``batch`` section of
``bench/results/batch.json`` (and its Markdown twin). Adding :data:`BATCH` to
``bench.scale.SCENARIOS`` puts the row beside ``tag-trigger`` in ``python -m bench scale``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bench import report, results, scale
from bench.tables import Table
from bench.world import REGIONS, wait_until
from devhost.client import TERMINAL, DevhostClient
from localrun.stack import LocalStack
from migration.batch import ITEM_PREFIX, batch_key
from migration.inventory import inventory_instance_id
from migration.resource_ids import ImageId
from tests.e2e.world import GALLERY

CAP = 10  # the product's BATCH_DEFAULT_CONCURRENCY
OUTPUT = results.LATEST.with_name("batch.json")
_peaks: dict[str, int] = {}  # batch ID -> most of its migrations running at once
_engine: dict[str, dict[str, float]] = {}  # batch ID -> the batch engine's replay CPU and episodes, last seen


def _target_regions() -> list[dict[str, object]]:
    """The tag-trigger row's regions (``westus2=1;eastus=1``) as a request body's ``targetRegions``."""
    return [{"name": name, "replicaCount": int(count)} for name, count in (p.split("=") for p in REGIONS.split(";"))]


def _engine_stats(stack: LocalStack, batch_id: str) -> dict[str, float]:
    """Replay CPU and episodes of the batch's own orchestrations: root, inventory, items."""
    rows = [
        *stack.host.stats(batch_id)["instances"].values(),
        *stack.host.stats(inventory_instance_id(batch_id))["instances"].values(),
        *stack.host.stats(ITEM_PREFIX + batch_key(batch_id))["instances"].values(),
    ]
    return {
        "replayCpuSeconds": round(sum(float(r["replayCpuSeconds"]) for r in rows), 3),
        "episodes": sum(int(r["episodes"]) for r in rows),
    }


def peak_running(host: DevhostClient, instance_ids: Sequence[str]) -> int:
    """The most of these instances that existed unfinished at once, from the devhost's durable records:
    [createdTime, lastUpdatedTime of the terminal state) in virtual time. An instance that ends and the one its slot
    starts next meet at one instant, which is not an overlap (the end is recorded first)."""
    moments: list[tuple[str, int]] = []
    for instance_id in instance_ids:
        status = host.status(instance_id, show_input=False)
        if status is None:
            continue
        moments.append((status["createdTime"], 1))
        if status["runtimeStatus"] in TERMINAL:
            moments.append((status["lastUpdatedTime"], -1))
    peak = running = 0
    for _, change in sorted(moments):  # at one instant, ends (-1) sort before starts
        running += change
        peak = max(peak, running)
    return peak


def finish_batch(stack: LocalStack, batch_id: str) -> None:
    """Once every migration ended: wait for the batch itself to end, then record its engine's replay and how many of
    its migrations ran at once."""
    wait_until(
        lambda: (stack.host.status(batch_id, show_input=False) or {}).get("runtimeStatus") in TERMINAL,
        timeout=120,
        what=f"batch {batch_id} to end",
    )
    _engine[batch_id] = _engine_stats(stack, batch_id)
    ids = [str(i["instanceId"]) for i in stack.host.list_instances(instanceIdPrefix="mig-", page_size=1000)]
    _peaks[batch_id] = peak_running(stack.host, ids)


def start_batch(stack: LocalStack, images: Sequence[str], *, cap: int = CAP) -> str:
    """``POST /api/batches`` over the images' resource groups; the per-image migrations are its children."""
    groups = sorted({ImageId.parse(source).resource_group_id for source in images})
    body = {
        "scope": {"resourceGroups": groups},
        "galleryId": GALLERY,
        "targetRegions": _target_regions(),
        "maxConcurrency": cap,
    }
    response = stack.host.call("POST", "batches", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def scenario(cap: int = CAP) -> scale.ScaleScenario:
    started: list[str] = []

    def start(stack: LocalStack, images: Sequence[str]) -> None:
        started.append(start_batch(stack, images, cap=cap))

    def finish(stack: LocalStack) -> None:
        finish_batch(stack, started[-1])

    description = f"one POST /api/batches over the images' resource group, at most {cap} migrations at once"
    return scale.ScaleScenario("batch", description, start, finish)


BATCH = scenario()


def concurrency_table(cap: int) -> Table:
    table = Table(
        "batch-concurrency",
        "Batch: migrations running at once (from their durable created and ended times, virtual clock)",
        ["Cap", "Peak running migrations"],
    )
    table.add(cap, max(_peaks.values(), default=0))
    return table


def time_table(result: scale.ScaleResult) -> Table:
    """Where the 2-core machine's time goes: the devhost (the Functions host, and the app's orchestrators and
    activities in it) and the emulator (ARM)."""
    usage = {u.name: u for u in result.processes}
    engine = next(iter(_engine.values()), {"replayCpuSeconds": 0.0, "episodes": 0})
    devhost, emulator = usage["devhost"].cpu_seconds, usage["emulator"].cpu_seconds
    migrations, batch = result.replay_cpu_seconds, float(engine["replayCpuSeconds"])
    table = Table(
        "batch-time",
        "Batch: where the time goes (CPU seconds over the run, 2 cores)",
        ["Migrations", "Wall (s)", "Devhost CPU", "replay: migrations", "replay: batch engine",
         "host + activities", "Emulator CPU", "CPU per migration (s)"],
    )  # fmt: skip
    rest = round(devhost - migrations - batch, 1)
    per = round((devhost + emulator) / max(1, result.migrations), 3)
    table.add(result.migrations, result.wall_seconds, devhost, migrations, batch, rest, emulator, per)
    table.notes.append(
        "Replay: thread CPU inside the Durable SDK's orchestrator handle (devhost stats): the migrate_image "
        "instances, and the batch's own orchestrations (root, inventory, items). Host + activities: the rest of the "
        "devhost process (SQLite commits, HTTP and RPC endpoints, the app's activities calling ARM through the SDK). "
        "Emulator: ARM's side of every request."
    )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--migrations", type=int, default=scale.MIGRATIONS)
    parser.add_argument("--cap", type=int, default=CAP)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    console = Console()
    console.width = max(console.width, 150)
    started = time.perf_counter()
    result = scale.run_scenario(scenario(args.cap), args.migrations)
    tables = [*report.scale_tables([result]), concurrency_table(args.cap), time_table(result)]
    seconds = time.perf_counter() - started
    path = None if args.no_save else args.output
    results.publish(console, "batch", "bench.batch", argv, tables, result.to_json(), seconds=seconds, path=path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
