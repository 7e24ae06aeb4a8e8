"""The operator console with 200 running migrations (issue 14): time to render, requests per minute per open
console, and whether the page stays smooth.

``python -m bench.console [--migrations N] [--window S] [--no-save]`` starts the emulator and the devhost on the
virtual clock, starts N migrations over ``POST /api/migrations`` and holds the clock so they all sit in the
replicating phase, then opens ``/api/console`` in headless Chromium (Playwright, Debian's ``chromium``) with the
product's own refresh settings and measures, each over the same wall-clock window:

- **busy**: the virtual clock moves 2 minutes every 5 s of wall time (24x real time), so the list changes whenever
  a migration polls ARM for its replication progress (on its own predicted schedule, not at every refresh);
- **idle**: nothing changes (the back-off at work);
- **baseline**: the same page and the same idle stack with the back-off switched off (a fixed poll at the base
  interval: what a naive live page does), the ratio's denominator;
- **hidden**: the tab is hidden (no refresh expected).

Render times are the page's own ``performance.measure`` entries around each list render; long tasks (> 50 ms on
the main thread, the browser's "jank" signal) come from a ``PerformanceObserver``. Results go to
``bench/results/console.json`` and its Markdown twin.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from playwright.sync_api import Page, Request, Response, expect, sync_playwright
from rich.console import Console

from bench import results
from bench.tables import Table
from bench.world import bench_stack
from localrun.stack import LocalStack
from tests.console.conftest import DESKTOP, start_chromium
from tests.e2e.world import GALLERY, gallery, image, image_id, seed_document

OUTPUT = results.LATEST.with_name("console.json")
PRODUCT_BASE_MS = 4000  # console/static/live.js DEFAULTS.baseMs
OBSERVE = """
window.__longTasks = [];
new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); })
  .observe({type: "longtask", buffered: true});
"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__.splitlines()[0])
    p.add_argument("--migrations", type=int, default=200)
    p.add_argument("--window", type=float, default=60.0, help="wall seconds per measured window")
    p.add_argument("--no-save", action="store_true")
    return p.parse_args(argv)


def start_migrations(stack: LocalStack, count: int) -> None:
    names = [f"img-{i:03d}" for i in range(count)]
    stack.arm.seed(seed_document(gallery(), *(image(n) for n in names)))
    stack.arm.configure({"replication": {"fixedSeconds": 6 * 3600, "queuedSeconds": 30}})
    stack.host.clock(auto_advance=False)
    for name in names:
        body = {"sourceImageId": image_id(name), "galleryId": GALLERY, "deletionMode": "never"}
        response = stack.host.call("POST", "migrations", json=body)
        assert response.status_code == 202, response.text
    # Small clock steps: the emulator throttles a burst like ARM does, and the SDK's and Durable's retries of a
    # 429 wait on timers; 6-hour replications stay far from done meanwhile.
    phases: dict[str, int] = {}
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        summaries = stack.host.call("GET", "migrations?top=1000").json()["value"]
        phases = {}
        for summary in summaries:
            phases[str(summary.get("phase"))] = phases.get(str(summary.get("phase")), 0) + 1
        if sum(phases.get(p, 0) for p in ("None", "preflight", "definition", "version")) == 0:
            return  # every migration is replicating (or ended: the table says how many run)
        stack.host.clock(advance_by=10)
        time.sleep(1)
    raise TimeoutError(f"the migrations did not all reach the replicating phase: {phases}")


class Recorder:
    """Every request the page sends (when) and the size of each list response."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []
        self.sizes: list[int] = []

    def request(self, request: Request) -> None:
        self.seen.append((time.monotonic(), request.url))

    def response(self, response: Response) -> None:
        if response.url.split("?", 1)[0].endswith("/api/migrations"):
            self.sizes.append(len(response.body()))


def list_gets(requests: list[tuple[float, str]], since: float) -> int:
    return sum(1 for at, url in requests if at >= since and url.split("?")[0].endswith("/api/migrations"))


def window(page: Page, seconds: float, *, tick: Any = None) -> float:
    """Wait ``seconds`` of wall time inside Playwright (so request events are delivered); returns the start."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if tick is not None:
            tick()
        page.wait_for_timeout(5000 if tick is not None else 1000)
    return started


def measure(stack: LocalStack, count: int, seconds: float) -> dict[str, Any]:
    figures: dict[str, Any] = {"migrations": count, "windowSeconds": seconds}
    with sync_playwright() as playwright:
        browser = start_chromium(playwright)
        for mode in ("product", "baseline"):
            context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
            setup = f"sessionStorage.setItem('imgmig.functionKey', {json.dumps(stack.host.function_key)});"
            if mode == "baseline":
                setup += (
                    f"sessionStorage.setItem('imgmig.refresh', '{{\"factor\": 1, \"baseMs\": {PRODUCT_BASE_MS}}}');"
                )
            context.add_init_script(setup + OBSERVE)
            page = context.new_page()
            recorder = Recorder()
            seen, sizes = recorder.seen, recorder.sizes
            page.on("request", recorder.request)
            page.on("response", recorder.response)
            opened = time.monotonic()
            page.goto(f"{stack.host.base_url}/api/console#/migrations")
            # (a locator, not wait_for_function: the page's CSP forbids evaluating strings, rightly)
            expect(page.locator("#migration-rows tr[data-id]")).to_have_count(count, timeout=180_000)
            first = time.monotonic() - opened
            if mode == "baseline":
                start = window(page, seconds)
                figures["baselinePerMinute"] = list_gets(seen, start) * 60 / seconds
                context.close()
                continue
            figures["firstRenderSeconds"] = first
            figures["responseBytes"] = max(sizes) if sizes else None
            start = window(page, seconds, tick=lambda: stack.host.clock(advance_by=120))
            figures["busyPerMinute"] = list_gets(seen, start) * 60 / seconds
            start = window(page, seconds)
            figures["idlePerMinute"] = list_gets(seen, start) * 60 / seconds
            page.evaluate(
                """() => {
                Object.defineProperty(document, "hidden", {value: true, configurable: true});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
            )
            start = window(page, min(seconds, 30.0))
            figures["hiddenPerMinute"] = list_gets(seen, start) * 60 / min(seconds, 30.0)
            renders = page.evaluate("performance.getEntriesByName('console:render-migrations').map(e => e.duration)")
            figures["renders"] = len(renders)
            figures["renderMedianMs"] = statistics.median(renders)
            figures["renderMaxMs"] = max(renders)
            long_tasks = page.evaluate("window.__longTasks")
            figures["longTasks"] = len(long_tasks)
            figures["longestTaskMs"] = max(long_tasks) if long_tasks else 0.0
            context.close()
        browser.close()
    return figures


def tables(f: dict[str, Any]) -> list[Table]:
    render = Table(
        "console-render",
        f"Console with {f['migrations']} running migrations: rendering (headless Chromium, 1280x800)",
        ["figure", "value"],
    )
    render.add("first render: navigation to every row shown (s)", round(f["firstRenderSeconds"], 2))
    render.add("list render, median (ms)", round(f["renderMedianMs"], 1))
    render.add("list render, slowest (ms)", round(f["renderMaxMs"], 1))
    render.add("long tasks > 50 ms during the run", f["longTasks"])
    render.add("longest main-thread task (ms)", round(f["longestTaskMs"], 1))
    render.add("GET /api/migrations body (bytes)", f["responseBytes"])
    requests = Table(
        "console-requests",
        "Requests per minute per open console (GET /api/migrations)",
        ["state", "per minute", "ratio to a fixed poll"],
    )
    base = f["baselinePerMinute"] or 1.0
    requests.add("baseline: fixed poll at the base interval, idle", round(f["baselinePerMinute"], 1), 1.0)
    requests.add(
        "busy: virtual time at 24x, the list changes as migrations poll ARM",
        round(f["busyPerMinute"], 1),
        round(f["busyPerMinute"] / base, 2),
    )
    requests.add("idle: nothing changes (back-off)", round(f["idlePerMinute"], 1), round(f["idlePerMinute"] / base, 2))
    requests.add("hidden tab", round(f["hiddenPerMinute"], 1), round(f["hiddenPerMinute"] / base, 2))
    requests.notes.append(f"Each state measured over {f['windowSeconds']:.0f} s of wall time (hidden: at most 30 s).")
    return [render, requests]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    started = time.monotonic()
    with bench_stack() as stack:  # the product's default settings, like the other benchmarks
        with console.status(f"starting {args.migrations} migrations…"):
            start_migrations(stack, args.migrations)
        running = stack.host.call("GET", "migrations?status=Running&top=1000").json()["count"]
        console.print(f"{running} of {args.migrations} migrations running (replicating)")
        with console.status("measuring the console…"):
            figures = measure(stack, args.migrations, args.window)
    made = tables(figures)
    seconds = time.monotonic() - started
    path = None if args.no_save else OUTPUT
    results.publish(console, "console", "bench.console", argv, made, figures, seconds=seconds, path=path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
