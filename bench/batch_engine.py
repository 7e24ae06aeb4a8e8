"""The batch engine at 100 / 1,000 / 10,000 images (issue 16): replay CPU per image and history per orchestrator
instance, for the shipped design and for the one it replaced, measured in the same run.

``python -m bench.batch_engine [--sizes 100,1000,10000] [--before-sizes 100,1000] [--cap 10] [--no-save]``

Each size runs on a fresh emulator + devhost (virtual clock). The devhost loads ``bench/batch_engine_app.py``: the
product with a ``migrate_image`` that ends in its first episode, so every figure is the batch's own cost (listing,
inventory, rounds, items, report rows), replayed by the devhost's real engine. The images are seeded in one
resource group and the batch is one ``POST /api/batches`` over it, with the default cap of 10.

"Before" rows run the single-orchestrator batch (one history holding every child) from the git commit that last
had it (:data:`BEFORE_COMMIT`, copied out with ``git archive`` next to the same stand-in script). That design
capped batches at 1,000 images and its replay cost grows with the square of the size, so it runs at 100 and 1,000
only. Without git history (a shallow clone) the "before" rows are left out and the table says so.

Figures: devhost stats (``replayCpuSeconds`` and ``historyEventsPeak`` per instance: the batch's orchestrations
are ``batch-<key>``, ``binv-<key>`` and ``bitem-<key>-*``; the stand-in migrations ``mig-*``), psutil for the
processes, wall time from the POST to the batch's end.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import results
from bench.procstats import ProcessMonitor
from bench.tables import Table
from bench.world import gallery, image, image_id, wait_until
from devhost.client import TERMINAL
from localrun.processes import REPO_ROOT
from localrun.stack import RESET_HOOK, LocalStack
from migration.batch import ITEM_PREFIX, batch_key
from migration.inventory import inventory_instance_id
from migration.resource_ids import ImageId
from tests.e2e.world import GALLERY, GALLERY_RG, LOCATION, SUB

SIZES = (100, 1000, 10_000)
BEFORE_SIZES = (100, 1000)
BEFORE_COMMIT = "f4dd0ea"  # the last commit whose migrate_batch was one orchestrator awaiting every child
CAP = 10
GROUP = "rg-fleet"
OUTPUT = results.LATEST.with_name("batch.json")
APP_SCRIPT = "batch_engine_app.py"
TIMEOUT_SECONDS = 3600.0
SEED_CHUNK = 1000


@dataclass
class EngineRun:
    design: str  # "rounds" (shipped) or "before" (one orchestrator)
    images: int
    cap: int
    succeeded: int
    wall_seconds: float
    devhost_cpu_seconds: float
    emulator_cpu_seconds: float
    devhost_peak_rss_mib: float
    engine_replay_cpu_seconds: float  # the batch's orchestrations: root, inventory, items
    root_replay_cpu_seconds: float
    migration_replay_cpu_seconds: float  # the stand-in migrations (one episode each)
    engine_episodes: int
    root_history_peak: int
    root_history_total: int
    item_history_peak: int
    inventory_history_peak: int
    rounds: int | None

    @property
    def replay_ms_per_image(self) -> float:
        return 1000 * self.engine_replay_cpu_seconds / self.images

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "replayMsPerImage": round(self.replay_ms_per_image, 3)}


def before_tree(commit: str = BEFORE_COMMIT) -> Path | None:
    """The app as it was at ``commit`` (its packages, ``host.json``) plus the stand-in script; None without git."""
    try:
        paths = ["activities", "migration", "orchestrators", "triggers", "host.json"]
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit, *paths],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    target = Path(tempfile.mkdtemp(prefix="batch-before-"))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    (target / APP_SCRIPT).write_text((REPO_ROOT / "bench" / APP_SCRIPT).read_text())
    return target


def seed_images(stack: LocalStack, names: Sequence[str], group: str = GROUP) -> None:
    """The gallery and one managed image per name in ``group`` (seeding adds; each request stays under the
    emulator's 4 MiB body limit)."""
    groups = [{"subscriptionId": SUB, "name": name, "location": LOCATION} for name in (GALLERY_RG, group)]
    subscriptions = [{"subscriptionId": SUB, "displayName": "bench"}]
    stack.arm.seed({"subscriptions": subscriptions, "resourceGroups": groups, "resources": [gallery()]})
    for start in range(0, len(names), SEED_CHUNK):
        stack.arm.seed({"resources": [image(name, group=group) for name in names[start : start + SEED_CHUNK]]})


def engine_stack(settings: dict[str, str] | None = None) -> LocalStack:
    """Emulator + devhost (virtual clock) serving the product with stand-in migrations (``batch_engine_app.py``)."""
    return _stack(None, settings or {})


def _stack(before: Path | None, settings: dict[str, str]) -> LocalStack:
    script = APP_SCRIPT if before else f"bench/{APP_SCRIPT}"
    return LocalStack(
        clock="virtual",
        seed=None,
        persist_emulator=False,
        subscribe_events=False,
        settings={"PYTHON_SCRIPT_FILE_NAME": script, **settings},
        devhost_args=["--app", str(before), "--silent"] if before else ["--silent"],
        reset_hooks=() if before else (RESET_HOOK,),  # the replaced design predates the gallery-name cache
    )


def run_size(
    images: int, *, cap: int = CAP, before: Path | None = None, settings: dict[str, str] | None = None
) -> EngineRun:
    names = [f"fleet-{n:05d}" for n in range(images)]
    scope = {"resourceGroups": [ImageId.parse(image_id(names[0], group=GROUP)).resource_group_id]}
    with _stack(before, settings or {}) as stack:
        seed_images(stack, names)
        assert stack.devhost_process is not None
        assert stack.emulator_process is not None
        pids = {"devhost": stack.devhost_process.pid, "emulator": stack.emulator_process.pid}
        with ProcessMonitor(pids) as monitor:
            response = stack.host.call(
                "POST", "batches", json={"scope": scope, "galleryId": GALLERY, "maxConcurrency": cap}
            )
            response.raise_for_status()
            batch_id = str(response.json()["id"])
            wait_until(
                lambda: (stack.host.status(batch_id, show_input=False) or {}).get("runtimeStatus") in TERMINAL,
                timeout=TIMEOUT_SECONDS,
                interval=0.5,
                what=f"the batch of {images}",
            )
        return _collect(stack, batch_id, images, cap, monitor, "before" if before else "rounds")


def _collect(
    stack: LocalStack, batch_id: str, images: int, cap: int, monitor: ProcessMonitor, design: str
) -> EngineRun:
    status = stack.host.status(batch_id, show_input=False) or {}
    found = status.get("output")
    output: dict[str, Any] = found if isinstance(found, dict) else {}
    key = batch_key(batch_id)
    root = stack.host.stats(batch_id)["instances"][batch_id]
    inventory = stack.host.stats(inventory_instance_id(batch_id))["instances"]
    items = stack.host.stats(ITEM_PREFIX + key)["instances"]
    migrations = stack.host.stats("mig-")["instances"]
    engine_rows = [root, *inventory.values(), *items.values()]
    usage = {u.name: u for u in monitor.usage()}
    return EngineRun(
        design=design,
        images=images,
        cap=cap,
        succeeded=int((output.get("counts") or {}).get("succeeded", 0)),
        wall_seconds=round(monitor.wall_seconds, 1),
        devhost_cpu_seconds=usage["devhost"].cpu_seconds,
        emulator_cpu_seconds=usage["emulator"].cpu_seconds,
        devhost_peak_rss_mib=usage["devhost"].peak_rss_mib,
        engine_replay_cpu_seconds=round(sum(float(r["replayCpuSeconds"]) for r in engine_rows), 3),
        root_replay_cpu_seconds=round(float(root["replayCpuSeconds"]), 3),
        migration_replay_cpu_seconds=round(sum(float(r["replayCpuSeconds"]) for r in migrations.values()), 3),
        engine_episodes=sum(int(r["episodes"]) for r in engine_rows),
        root_history_peak=int(root["historyEventsPeak"]),
        root_history_total=int(root["historyEventsTotal"]),
        item_history_peak=max((int(r["historyEventsPeak"]) for r in items.values()), default=0),
        inventory_history_peak=max((int(r["historyEventsPeak"]) for r in inventory.values()), default=0),
        rounds=output.get("rounds"),
    )


def tables(runs: Sequence[EngineRun], *, before_missing: bool) -> list[Table]:
    baseline = {r.images: r for r in runs if r.design == "rounds"}
    first = min(baseline.values(), key=lambda r: r.images) if baseline else None
    replay = Table(
        "batch-engine-replay",
        "Batch engine: replay CPU per image and history per orchestrator instance (migrations end at once)",
        ["Design", "Images", "All succeeded", "Replay CPU per image (ms)", "of which the root (ms)", "vs 100 images",
         "Root history peak", "Root history total", "Item history peak", "Rounds", "Wall time (s)"],
    )  # fmt: skip
    for run in runs:
        ratio = run.replay_ms_per_image / first.replay_ms_per_image if first and run.design == "rounds" else None
        replay.add(
            "rounds (shipped)" if run.design == "rounds" else "one orchestrator (before)",
            run.images,
            "yes" if run.succeeded == run.images else f"no ({run.succeeded})",
            round(run.replay_ms_per_image, 2),
            round(1000 * run.root_replay_cpu_seconds / run.images, 2),
            round(ratio, 2) if ratio is not None else None,
            run.root_history_peak,
            run.root_history_total,
            run.item_history_peak if run.design == "rounds" else None,
            run.rounds,
            run.wall_seconds,
        )
    replay.notes.append(
        "Replay CPU: thread CPU inside the Durable SDK's orchestrator handle (devhost stats), summed over the batch's "
        "orchestrations (root, inventory and items; before: the one orchestrator), divided by the images. "
        "Goal: flat within 1.5x from 100 to 10,000."
    )
    if before_missing:
        replay.notes.append(f"Before rows left out: git commit {BEFORE_COMMIT} is not in this checkout.")
    where = Table(
        "batch-engine-time",
        "Batch engine: where the time goes (2 cores; migrations end at once)",
        ["Design", "Images", "Wall (s)", "Devhost CPU (s)", "of which batch replay (s)", "of which migrations' "
         "replay (s)", "Emulator CPU (s)", "Devhost peak RSS (MiB)", "Batch episodes"],
    )  # fmt: skip
    for run in runs:
        where.add(
            "rounds (shipped)" if run.design == "rounds" else "one orchestrator (before)",
            run.images,
            run.wall_seconds,
            run.devhost_cpu_seconds,
            run.engine_replay_cpu_seconds,
            run.migration_replay_cpu_seconds,
            run.emulator_cpu_seconds,
            run.devhost_peak_rss_mib,
            run.engine_episodes,
        )
    where.notes.append(
        "The devhost's CPU beyond replay is the host itself (SQLite commits, the HTTP and RPC endpoints) and the "
        "activities (listing through the emulator, starting items, events); the emulator's is ARM (the listing)."
    )
    return [replay, where]


def run(
    sizes: Sequence[int], before_sizes: Sequence[int], *, cap: int = CAP, settings: dict[str, str] | None = None
) -> tuple[list[EngineRun], bool]:
    runs: list[EngineRun] = []
    tree = before_tree() if before_sizes else None
    for size in before_sizes if tree else ():
        runs.append(run_size(size, cap=cap, before=tree))
    for size in sizes:
        runs.append(run_size(size, cap=cap, settings=settings))
    return runs, bool(before_sizes) and tree is None


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.batch_engine", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=list(SIZES))
    parser.add_argument("--before-sizes", type=_sizes, default=list(BEFORE_SIZES))
    parser.add_argument("--cap", type=int, default=CAP)
    parser.add_argument("--setting", action="append", default=[], help="KEY=VALUE app setting for the shipped runs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    console = Console()
    console.width = max(console.width, 160)
    started = time.perf_counter()
    settings = dict(item.split("=", 1) for item in args.setting)
    runs, before_missing = run(args.sizes, args.before_sizes, cap=args.cap, settings=settings)
    found = tables(runs, before_missing=before_missing)
    data = [r.to_json() for r in runs]
    seconds = time.perf_counter() - started
    path = None if args.no_save else args.output
    results.publish(console, "batch-engine", "bench.batch_engine", argv, found, data, seconds=seconds, path=path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
