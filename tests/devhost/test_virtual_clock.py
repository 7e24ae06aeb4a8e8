"""The virtual clock: it adopts the clock-sync server's now at start and advances it before firing timers.

The emulator is built elsewhere; here a tiny fake control endpoint records the calls. The test against the
real emulator runs only once ``emulator/__main__.py`` exists.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from devhost.client import DevhostClient
from localrun.processes import REPO_ROOT, ServerProcess
from tests.devhost.conftest import devhost_args

EMULATOR_START = "2030-01-01T00:00:00Z"


class FakeClockSync:
    """``GET/POST {url}/clock`` like the emulator's control API, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.now = EMULATOR_START
        self.loop = asyncio.new_event_loop()
        self.url = ""

    async def get_clock(self, _: web.Request) -> web.Response:
        self.calls.append(("GET", None))
        return web.json_response({"mode": "virtual", "now": self.now})

    async def post_clock(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("POST", body))
        self.now = max(self.now, body["advanceTo"])
        return web.json_response({"now": self.now})

    def start(self) -> None:
        app = web.Application()
        app.add_routes([web.get("/_emulator/clock", self.get_clock), web.post("/_emulator/clock", self.post_clock)])
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/_emulator"
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def fake_sync() -> Iterator[FakeClockSync]:
    fake = FakeClockSync()
    fake.start()
    yield fake
    fake.stop()


def test_clock_sync_adopts_the_emulator_time_and_advances_it_first(fake_sync: FakeClockSync) -> None:
    with ServerProcess("devhost", devhost_args("--in-memory", "--clock-sync", fake_sync.url)) as process:
        dh = DevhostClient(process.info)
        assert dh.clock()["now"] == "2030-01-01T00:00:00.000000Z"
        assert fake_sync.calls[0] == ("GET", None)
        status = dh.wait(dh.start("approval", 2))
        assert status["createdTime"] == "2030-01-01T00:00:00Z"
        assert status["output"]["at"] == "2030-01-01T02:00:00+00:00"  # context.current_utc_datetime
        advances = [body["advanceTo"] for method, body in fake_sync.calls if method == "POST"]
        assert advances[-1] == "2030-01-01T02:00:00.000000Z"
        assert fake_sync.now == "2030-01-01T02:00:00.000000Z"


def test_manual_advance_and_hold(dh: DevhostClient) -> None:
    before = dh.clock()
    held = dh.clock(auto_advance=False)
    assert held["autoAdvance"] is False
    instance_id = dh.start("approval", 1)
    dh.wait_until(instance_id, lambda s: (s["customStatus"] or {}).get("phase") == "waiting")
    moved = dh.clock(advance_by=3600)
    assert moved["now"] > before["now"]
    status = dh.wait(instance_id)
    assert status["customStatus"] == {"phase": "timed-out"}


def test_virtual_time_persists_across_restarts(tmp_path: Path) -> None:
    args = devhost_args("--state", str(tmp_path))
    with ServerProcess("devhost", args) as process:
        dh = DevhostClient(process.info)
        dh.wait(dh.start("approval", 5))
        after_timer = dh.clock()["now"]
    with ServerProcess("devhost", args) as process:
        assert DevhostClient(process.info).clock()["now"] == after_timer


def test_a_held_start_keeps_timers_from_firing_until_released(tmp_path: Path) -> None:
    """A test that restarts the host while it holds time: ``--hold-clock`` starts held, so the restarted host
    cannot jump past a timer before the test is ready."""
    args = devhost_args("--state", str(tmp_path))
    with ServerProcess("devhost", args) as process:
        dh = DevhostClient(process.info)
        dh.clock(auto_advance=False)
        instance_id = dh.start("approval", 60)
        dh.wait_until(instance_id, lambda s: s["runtimeStatus"] == "Running")
    with ServerProcess("devhost", [*args, "--hold-clock"]) as process:
        dh = DevhostClient(process.info)
        assert dh.clock()["autoAdvance"] is False
        time.sleep(0.5)  # ten idle grace periods: a free clock would have fired the 60 s timer by now
        assert (dh.status(instance_id) or {}).get("runtimeStatus") == "Running"
        dh.clock(auto_advance=True)
        assert dh.wait(instance_id)["customStatus"] == {"phase": "timed-out"}


@pytest.mark.skipif(not (REPO_ROOT / "emulator" / "__main__.py").exists(), reason="the emulator is not merged yet")
def test_with_the_real_emulator(tmp_path: Path) -> None:
    with ServerProcess("emulator", ["--in-memory", "--clock", "virtual", "--port", "0", "--silent"]) as emulator:
        control = emulator.info["controlUrl"]
        env = {"SSL_CERT_FILE": emulator.info["caBundle"], "REQUESTS_CA_BUNDLE": emulator.info["caBundle"]}
        args = devhost_args("--in-memory", "--clock-sync", control)
        with ServerProcess("devhost", args, env={**os.environ, **env}) as devhost:
            dh = DevhostClient(devhost.info)
            status = dh.wait(dh.start("approval", 3))
            assert status["customStatus"] == {"phase": "timed-out"}
            import requests

            theirs = requests.get(f"{control}/clock", verify=emulator.info["caBundle"], timeout=10).json()["now"]
            assert theirs.replace("Z", "")[:19] == dh.clock()["now"][:19]
