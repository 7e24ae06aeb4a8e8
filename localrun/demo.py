"""``make demo``: migrate a tagged managed image end to end on the local emulator and devhost, live.

What happens, for real (nothing here is simulated by the demo itself):
1. the ARM emulator starts with the demo seed (a gallery, a generalized Linux managed image with a data disk,
   a scale set that does not use it) and replication timings short enough for a demo;
2. the devhost starts ``function_app.py`` wired to it, and the app's Event Grid trigger is subscribed;
3. the demo tags the image through the real ``azure-mgmt-resource`` client (or calls ``POST /api/migrations``);
4. it follows the migration through the Durable status endpoint, drawing phases and per-region progress;
5. it prints the outcome and stops both servers (unless ``--keep-running``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from localrun.stack import LocalStack
from migration.instance_ids import migration_instance_id
from migration.resource_ids import ImageId
from migration.status import Phase

SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
IMAGE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/demo-rg/providers/Microsoft.Compute/images/ubuntu-web-01"
GALLERY_NAME = "demo_gallery"
GALLERY_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/demo-rg/providers/Microsoft.Compute/galleries/{GALLERY_NAME}"
)
REGIONS = "westus2=1;eastus=2"
PHASES = [
    Phase.PREFLIGHT,
    Phase.DEFINITION,
    Phase.VERSION,
    Phase.REPLICATING,
    Phase.VALIDATING,
    Phase.AWAITING_APPROVAL,
    Phase.DELETING_SOURCE,
    Phase.DONE,
]
# Replication as the emulator models it (base + per-GiB, times region and replica factors), scaled so the 94 GiB
# demo image takes ~15 s in West US 2 and ~25 s in East US with two replicas (Azure: about 13 minutes per region).
DEMO_EMULATOR_CONFIG = {
    "replication": {
        "baseSeconds": 4,
        "secondsPerGib": 0.12,
        "queuedSeconds": 2,
        "replicaFactor": 0.25,
        "regionFactors": {"eastus": 1.3},
    },
    "lro": {"retryAfterSeconds": 1},
}
DEMO_APP_SETTINGS = {
    "REPLICATION_POLL_FIRST_SECONDS": "2",
    "REPLICATION_POLL_MIN_SECONDS": "2",
    # One migration: a few poll leases (each reserves a read per REPLICATION_POLL_MIN_SECONDS of ARM's refill, so
    # the default 50 at a 2 s floor would leave the budget nothing to grant, which the settings refuse).
    "ARM_BUDGET_POLL_LEASES": "2",
    "REPLICATION_POLL_MAX_SECONDS": "10",
    # The "fast" profile finishes a version update at once; Azure's 150 s (the default first look, 151 s) would
    # hold the real-clock demo for two and a half minutes after validation.
    "PROMOTION_FIRST_POLL_SECONDS": "2",
    "ARM_RETRY_BACKOFF_SECONDS": "0.2",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m localrun demo", description=__doc__.splitlines()[0])
    p.add_argument("--start-via", choices=["tag", "http"], default="tag", help="How to start the migration.")
    p.add_argument(
        "--deletion-mode",
        choices=["after-validation", "never", "after-approval"],
        default="after-validation",
        help="What happens to the source image (after-approval: the demo approves when asked).",
    )
    p.add_argument("--clock", choices=["real", "virtual"], default="real", help="virtual: no waiting at all.")
    p.add_argument("--keep-running", action="store_true", help="Leave the emulator and devhost running at the end.")
    p.add_argument("--timeout", type=float, default=180.0, help="Give up after this many seconds.")
    p.add_argument(
        "--json",
        action="store_true",
        help="Print the result as one JSON document on stdout (the live view goes to stderr), for scripts.",
    )
    return p.parse_args(argv)


class Display:
    """The live view: phase checklist, per-region progress bars, last message."""

    def __init__(self, phases: list[Phase]) -> None:
        self.phases = phases
        self.progress = Progress(
            TextColumn("  {task.description:<10}"),
            BarColumn(bar_width=36),
            TextColumn("{task.percentage:>3.0f}%  {task.fields[state]}"),
        )
        self.tasks: dict[str, TaskID] = {}
        self.status: dict[str, Any] = {}
        self.started = time.monotonic()

    def update(self, status: dict[str, Any]) -> None:
        self.status = status
        custom = status.get("customStatus") or {}
        for region, info in (custom.get("regions") or {}).items():
            if region not in self.tasks:
                self.tasks[region] = self.progress.add_task(region, total=100, state="")
            self.progress.update(self.tasks[region], completed=info.get("progress", 0), state=info.get("state", ""))

    def render(self) -> Group:
        custom = self.status.get("customStatus") or {}
        phase = custom.get("phase") or (self.status.get("output") or {}).get("phase") or "starting"
        names = [p.value for p in self.phases]
        current = names.index(phase) if phase in names else -1
        steps = Text("  ")
        for i, step in enumerate(self.phases):
            style = "green" if i < current or phase == "done" else "bold yellow" if i == current else "dim"
            steps.append(("✔ " if i < current or phase == "done" else "• ") + step.value, style=style)
            steps.append("  ")
        elapsed = time.monotonic() - self.started
        head = Text.assemble(
            ("Migration ", "bold"),
            (str(self.status.get("instanceId", "…")), "cyan"),
            f"  {self.status.get('runtimeStatus', 'Pending')}  {elapsed:5.1f}s",
        )
        parts: list[Any] = [head, steps]
        if self.tasks:
            parts += [Text("  Replication:"), self.progress]
        if custom.get("message"):
            parts.append(Text(f"  {custom['message']}", style="dim"))
        return Group(*parts)


def outcome_rows(output: dict[str, Any]) -> list[tuple[str, str]]:
    checks = output.get("validation") or []
    rows = [
        ("Outcome", str(output.get("outcome", "?"))),
        ("Definition", str(output.get("definitionId"))),
        ("Version", str(output.get("versionId"))),
        ("Regions", ", ".join(f"{r}: {s}" for r, s in (output.get("regions") or {}).items()) or "-"),
        ("Validation", "\n".join(f"{'✔' if c['passed'] else '✘'} {c['name']} {c.get('reason') or ''}" for c in checks)),
        ("Source deleted", "yes" if output.get("sourceDeleted") else f"no ({output.get('sourceKeptReason')})"),
    ]
    if output.get("error"):
        rows.append(("Error", f"{output['error']['code']}: {output['error']['message']}"))
    seconds = output.get("phaseSeconds") or {}
    rows.append(("Phase times", ", ".join(f"{k} {v:.0f}s" for k, v in seconds.items())))
    return rows


def outcome_table(output: dict[str, Any]) -> Table:
    table = Table(title="Migration result", show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in outcome_rows(output):
        table.add_row(name, value)
    return table


def print_outcome(output: dict[str, Any], console: Console) -> None:
    """A table on a terminal; plain ``name: value`` lines elsewhere (CI logs, pipes), where rich would wrap the
    resource IDs at 80 columns and they could no longer be copied."""
    if console.is_terminal:
        console.print(outcome_table(output))
        return
    print("Migration result", file=console.file)
    for name, value in outcome_rows(output):
        lines = value.splitlines() or [""]
        print(f"  {name}: {lines[0]}", file=console.file)
        for line in lines[1:]:
            print(f"  {'':{len(name)}}  {line}", file=console.file)
    console.file.flush()


def console_url(stack: LocalStack) -> str:
    return f"{stack.host.base_url}/api/console"


def start(stack: LocalStack, args: argparse.Namespace, console: Console) -> str:
    if args.start_via == "http":
        body = {
            "sourceImageId": IMAGE,
            "galleryId": GALLERY_ID,
            "targetRegions": [{"name": "westus2", "replicaCount": 1}, {"name": "eastus", "replicaCount": 2}],
            "deletionMode": args.deletion_mode,
        }
        console.print(f"[bold]POST[/] {stack.host.base_url}/api/migrations")
        response = stack.host.call("POST", "migrations", json=body)
        if response.status_code != 202:
            raise SystemExit(f"starting over HTTP failed: {response.status_code} {response.text}")
        return str(response.json()["id"])
    tags = {"migrate-to-gallery": GALLERY_NAME, "migrate-regions": REGIONS, "migrate-delete-source": args.deletion_mode}
    console.print(f"[bold]Tagging[/] {IMAGE}")
    console.print(f"        {tags}  (azure-mgmt-resource, Tags API merge)")
    stack.resources(SUBSCRIPTION).tags.begin_update_at_scope(
        IMAGE, {"operation": "Merge", "properties": {"tags": tags}}
    ).result()
    return migration_instance_id(ImageId.parse(IMAGE))


def follow(stack: LocalStack, instance_id: str, args: argparse.Namespace, console: Console) -> dict[str, Any]:
    phases = [p for p in PHASES if p != Phase.AWAITING_APPROVAL or args.deletion_mode == "after-approval"]
    if args.deletion_mode == "never":
        phases.remove(Phase.DELETING_SOURCE)
    display = Display(phases)
    approved = False
    seen_phase = ""
    deadline = time.monotonic() + args.timeout
    with Live(display.render(), console=console, refresh_per_second=8, transient=False) as live:
        while time.monotonic() < deadline:
            status = stack.host.status(instance_id)
            if status is not None:
                display.update(status)
                live.update(display.render())
                phase = (status.get("customStatus") or {}).get("phase")
                if phase and phase != seen_phase:
                    seen_phase = phase
                    live.console.print(f"  [dim]{time.monotonic() - display.started:5.1f}s[/]  phase → [bold]{phase}")
                if phase == "awaiting-approval" and not approved:
                    response = stack.host.call("POST", f"migrations/{instance_id}/approve")
                    approved = response.status_code == 202
                    live.console.print(f"  approved deletion: POST /api/migrations/{instance_id}/approve")
                if status.get("runtimeStatus") in ("Completed", "Failed", "Terminated"):
                    return status
            time.sleep(0.25)
    raise SystemExit(f"the migration did not finish within {args.timeout:.0f}s")


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # with --json, stdout carries the JSON document only; soft_wrap: long resource IDs stay on one line (copyable)
    console = Console(stderr=args.json, soft_wrap=True)
    console.rule("[bold]Managed image → Azure Compute Gallery: local demo")
    started = time.monotonic()
    # "fast": LROs and version updates finish at once (Azure: about 5 s per image, 150 s per version update, 113 s
    # per version delete), so the real-clock demo shows the whole workflow in well under a minute.
    stack = LocalStack(
        clock=args.clock, emulator_profile="fast", emulator_config=DEMO_EMULATOR_CONFIG, settings=DEMO_APP_SETTINGS
    )
    try:
        with console.status("starting the ARM emulator and the Functions devhost…"):
            stack.start()
        console.print(f"ARM emulator  {stack.arm.info['armEndpoint']}  (HTTPS, managed identity, {args.clock} clock)")
        console.print(f"Devhost       {stack.host.base_url}  (function_app.py, Durable Functions)")
        console.print(f"Console       {console_url(stack)}  (function key: {stack.host.function_key})")
        instance_id = start(stack, args, console)
        status = follow(stack, instance_id, args, console)
        output = status.get("output")
        if not isinstance(output, dict):
            console.print(f"[red]orchestration {status.get('runtimeStatus')}: {output}")
            return 1
        console.print()
        print_outcome(output, console)
        console.print(f"Wall time: {time.monotonic() - started:.1f}s")
        if args.json:
            document = {"instanceId": instance_id, "runtimeStatus": status.get("runtimeStatus"), "output": output}
            print(json.dumps(document, indent=2), flush=True)
        if args.keep_running:
            console.print(
                f"\nStill running. Open the console: {console_url(stack)} (function key: {stack.host.function_key})"
                f"\nOr try:\n  curl -H 'x-functions-key: {stack.host.function_key}' "
                f"{stack.host.base_url}/api/migrations/{instance_id}\nStop with Ctrl-C."
            )
            while True:
                time.sleep(3600)
        wanted_deleted = args.deletion_mode != "never"
        ok = output.get("outcome") == "succeeded" and bool(output.get("sourceDeleted")) == wanted_deleted
        if not ok:
            console.print(f"[red]Demo failed: {output.get('error') or output.get('sourceKeptReason')}")
            console.print(stack.logs())
        return 0 if ok else 1
    except KeyboardInterrupt:
        console.print("\ninterrupted; stopping the servers")
        return 130
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(run())
