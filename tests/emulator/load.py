"""A focused load of the emulator alone: many image versions replicating at once, read while they replicate, tagged,
then completed by the clock. Measures requests per second and the emulator's CPU per phase, with and without
``--state``; used by ``test_load.py`` (correctness under load) and by hand for before/after comparisons:

    .venv/bin/python -m tests.emulator.load --versions 200 [--in-memory] [--source OTHER_CHECKOUT]

``--source`` runs the emulator package of another checkout (e.g. ``git archive`` of an older commit) with the same
load. One client, keep-alive HTTPS, raw REST (the SDK's own cost is not the emulator's).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from emulator.control import ControlError, EmulatorControl
from localrun.processes import REPO_ROOT, ServerProcess
from tests.emulator.conftest import DEMO_SEED, GALLERY, IMAGE_ID, RG_ID
from tests.emulator.helpers import definition_body, version_body

API = "2025-03-03"
TAGS_API = "2025-04-01"
DEFINITION = f"{RG_ID}/providers/Microsoft.Compute/galleries/{GALLERY}/images/load"
REPLICATION_SECONDS = 3600
READ_ROUNDS = 3


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class LoadResult:
    versions: int
    persistent: bool
    phases: list[Phase] = field(default_factory=list)
    writes: int = 0  # answered writes (ARM and control plane) that change stored state
    persistence: dict[str, Any] = field(default_factory=dict)  # the emulator's /health "persistence", if it has one
    state_bytes: int = 0
    consistent_after_kill: bool | None = None

    def table(self) -> str:
        mode = "--state" if self.persistent else "in memory"
        lines = [f"{self.versions} versions, {mode}", "phase | requests | s | req/s | emulator CPU ms/req"]
        for p in self.phases:
            ms = 1000 * p.cpu_seconds / p.requests if p.requests else 0.0
            lines.append(f"{p.name} | {p.requests} | {p.seconds:.2f} | {p.per_second:.0f} | {ms:.2f}")
        if self.persistent:
            lines.append(f"state directory: {self.state_bytes / 1e6:.2f} MB; persistence: {self.persistence}")
        return "\n".join(lines)


class Client:
    """Raw ARM REST with a managed-identity token, one keep-alive session."""

    def __init__(self, info: dict[str, Any]):
        self.base = str(info["armEndpoint"])
        self.verify = str(info["caBundle"])
        self.session = requests.Session()
        token = self.session.get(
            str(info["identityEndpoint"]),
            params={"api-version": "2019-08-01", "resource": "https://management.azure.com/"},
            headers={"X-IDENTITY-HEADER": str(info["identityHeader"])},
            verify=self.verify,
            timeout=30,
        ).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, api: str = API, expect: tuple[int, ...] = (200,)) -> Any:
        resp = self.session.request(
            method, f"{self.base}{path}", params={"api-version": api}, json=body, verify=self.verify, timeout=60
        )
        if resp.status_code not in expect:
            raise AssertionError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    def get_version(self, version_id: str) -> dict[str, Any]:
        resp = self.session.get(
            f"{self.base}{version_id}",
            params={"api-version": API, "$expand": "ReplicationStatus"},
            verify=self.verify,
            timeout=60,
        )
        assert resp.status_code == 200, resp.text[:300]
        return dict(resp.json())


def seed_document(versions: int) -> dict[str, Any]:
    """The demo seed's image, once per version (a source in use by a version in flight cannot feed another)."""
    demo = json.loads(DEMO_SEED.read_text())
    image = next(r for r in demo["resources"] if r["id"] == IMAGE_ID)
    return {"resources": [{**copy.deepcopy(image), "id": f"{IMAGE_ID}-{i}"} for i in range(versions)]}


def start(state: Path | None, source: Path) -> ServerProcess:
    work = Path(tempfile.mkdtemp(prefix="emulator-load-"))
    where = ["--state", str(state)] if state else ["--in-memory", "--certs-dir", str(work / "certs")]
    args = ["--port", "0", "--clock", "virtual", "--seed", str(DEMO_SEED), "--silent", *where]
    return ServerProcess("emulator", args, log_path=work / "emulator.log", cwd=source).start()


def run(versions: int, *, persistent: bool, source: Path = REPO_ROOT) -> LoadResult:
    state = Path(tempfile.mkdtemp(prefix="emulator-load-state-")) / "state" if persistent else None
    result = LoadResult(versions, persistent)
    proc = start(state, source)
    try:
        ctl = EmulatorControl(proc.info)
        ctl.configure({"replication": {"fixedSeconds": REPLICATION_SECONDS, "queuedSeconds": 30}})
        with contextlib.suppress(ControlError):  # an older checkout (--source) has no throttling to turn off
            # This measures the emulator's own throughput: hundreds of writes a second from one principal is what
            # ARM would throttle (200 tokens, 10 a second), so the token buckets are off here, explicitly.
            ctl.configure({"throttling": {"enabled": False}})
        ctl.seed(seed_document(versions))
        arm = Client(proc.info)
        cpu = psutil.Process(proc.pid)
        ids = [f"{DEFINITION}/versions/1.0.{i}" for i in range(versions)]
        images = [f"{IMAGE_ID}-{i}" for i in range(versions)]

        def phase(name: str, count: int, work: Callable[[], None]) -> None:
            before, started = cpu.cpu_times(), time.perf_counter()
            work()
            seconds, after = time.perf_counter() - started, cpu.cpu_times()
            used = (after.user + after.system) - (before.user + before.system)
            result.phases.append(Phase(name, count, seconds, used))

        arm.call("PUT", DEFINITION, definition_body(), expect=(201,))

        def put_all() -> None:
            for version, image in zip(ids, images, strict=True):
                arm.call("PUT", version, version_body(("westus2", "eastus"), source=image), expect=(201,))

        phase("PUT version", versions, put_all)
        ctl.advance(REPLICATION_SECONDS / 2)

        def read_all() -> None:
            for _ in range(READ_ROUNDS):
                for i in ids:
                    assert arm.get_version(i)["properties"]["provisioningState"] == "Creating"

        phase("GET version ?$expand", versions * READ_ROUNDS, read_all)

        def tag_all() -> None:
            tags = {"operation": "Merge", "properties": {"tags": {"migration-status": "replicating"}}}
            for image in images:
                arm.call("PATCH", f"{image}/providers/Microsoft.Resources/tags/default", tags, TAGS_API)

        phase("PATCH tags", versions, tag_all)
        ctl.advance(REPLICATION_SECONDS)
        done = [arm.get_version(i)["properties"]["provisioningState"] for i in ids]
        assert set(done) == {"Succeeded"}, done
        # seed, definition, versions, the tags; the clock moves twice (configure is not stored)
        result.writes = 1 + 1 + versions + versions + 2
        if persistent and state is not None:
            result.persistence = dict(ctl.health().get("persistence") or {})
            result.state_bytes = sum(f.stat().st_size for f in state.iterdir() if f.is_file())
            expected = (ctl.resources(), ctl.operations())
            proc.kill()
            proc = start(state, source)
            ctl = EmulatorControl(proc.info)
            result.consistent_after_kill = (ctl.resources(), ctl.operations()) == expected
    finally:
        proc.stop()
    return result


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m tests.emulator.load", description=__doc__.splitlines()[0])
    p.add_argument("--versions", type=int, default=200)
    p.add_argument("--in-memory", action="store_true", help="run without --state only")
    p.add_argument("--source", type=Path, default=REPO_ROOT, help="checkout whose emulator package to run")
    args = p.parse_args()
    for persistent in (False,) if args.in_memory else (False, True):
        print(run(args.versions, persistent=persistent, source=args.source).table(), end="\n\n")


if __name__ == "__main__":
    main()
