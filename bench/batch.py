"""The batch row of the scale benchmark (issue 9): the same images, migrated by one batch over their scope.

``python -m bench.batch [--migrations N] [--cap N] [--no-save]`` runs the scale benchmark's own runner
(:func:`bench.scale.run_scenario`) with :data:`BATCH`, prints the scale tables plus the batch's concurrency
(the devhost's durable ``peakRunningSubOrchestrations`` of the batch instance) and saves them as the ``batch``
section of ``bench/results/batch.json`` (and its Markdown twin). Adding :data:`BATCH` to
``bench.scale.SCENARIOS`` puts the row beside ``tag-trigger`` in ``python -m bench scale``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from bench import report, results, scale
from bench.tables import Table
from bench.world import REGIONS
from devhost.client import TERMINAL
from localrun.stack import LocalStack
from migration.resource_ids import ImageId
from tests.e2e.world import GALLERY

CAP = 10  # the product's BATCH_DEFAULT_CONCURRENCY
OUTPUT = results.LATEST.with_name("batch.json")
_peaks: dict[str, int] = {}  # batch ID -> highest peakRunningSubOrchestrations seen


def _target_regions() -> list[dict[str, object]]:
    """The tag-trigger row's regions (``westus2=1;eastus=1``) as a request body's ``targetRegions``."""
    return [{"name": name, "replicaCount": int(count)} for name, count in (p.split("=") for p in REGIONS.split(";"))]


def _watch(stack: LocalStack, batch_id: str) -> None:
    """Record the batch's peak running children (a durable, monotone counter) until it ends or the stack stops."""
    while True:
        try:
            row = stack.host.stats(batch_id)["instances"].get(batch_id) or {}
        except Exception:  # the runner stopped the stack: the last value seen stands
            return
        _peaks[batch_id] = max(_peaks.get(batch_id, 0), int(row.get("peakRunningSubOrchestrations") or 0))
        if row.get("runtimeStatus") in TERMINAL:
            return
        time.sleep(0.5)


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
    batch_id = str(response.json()["id"])
    threading.Thread(target=_watch, args=(stack, batch_id), name="batch-watch", daemon=True).start()
    return batch_id


def scenario(cap: int = CAP) -> scale.ScaleScenario:
    def start(stack: LocalStack, images: Sequence[str]) -> None:
        start_batch(stack, images, cap=cap)

    description = f"one POST /api/batches over the images' resource group, at most {cap} migrations at once"
    return scale.ScaleScenario("batch", description, start)


BATCH = scenario()


def concurrency_table(cap: int) -> Table:
    table = Table(
        "batch-concurrency",
        "Batch: migrations running at once (the devhost's durable peakRunningSubOrchestrations)",
        ["Cap", "Peak running children"],
    )
    table.add(cap, max(_peaks.values(), default=0))
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
    tables = [*report.scale_tables([result]), concurrency_table(args.cap)]
    for table in tables:
        console.print(table.rich())
    if not args.no_save:
        command = "python -m bench.batch " + " ".join(sys.argv[1:] if argv is None else argv)
        section = results.section(command.strip(), tables, result.to_json(), seconds=time.perf_counter() - started)
        results.write(args.output, {"batch": section})
        console.print(f"saved batch to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
