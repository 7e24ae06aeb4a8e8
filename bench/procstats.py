"""CPU time and peak memory of the server processes during a benchmark (psutil on their PIDs).

CPU is the process's user + system time consumed between ``start`` and ``stop``. Peak memory is the larger of
the resident set sampled every ``interval`` seconds and, on Linux, the kernel's high-water mark (``VmHWM`` in
``/proc/PID/status``, the peak resident set since the process started), so a short spike between samples is
not missed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil


@dataclass(frozen=True)
class ProcessUsage:
    name: str
    pid: int
    cpu_seconds: float
    peak_rss_mib: float


def high_water_mark_bytes(pid: int) -> int | None:
    """Linux's peak resident set size of ``pid`` (``VmHWM``), or None where /proc does not provide it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


class ProcessMonitor:
    """``with ProcessMonitor({"devhost": pid, ...}) as monitor: ...`` then ``monitor.usage()``."""

    def __init__(self, pids: dict[str, int], *, interval: float = 0.1) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval = interval
        self.peak_rss: dict[str, int] = dict.fromkeys(pids, 0)
        self.cpu_start: dict[str, float] = {}
        self.cpu_end: dict[str, float] = {}
        self.wall_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="process-monitor", daemon=True)
        self._started = 0.0

    def __enter__(self) -> ProcessMonitor:
        self.cpu_start = {name: _cpu(p) for name, p in self.processes.items()}
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.wall_seconds = time.perf_counter() - self._started
        self._stop.set()
        self._thread.join()
        self._take_sample()
        self.cpu_end = {name: _cpu(p) for name, p in self.processes.items()}

    def _take_sample(self) -> None:
        for name, process in self.processes.items():
            try:
                self.peak_rss[name] = max(self.peak_rss[name], int(process.memory_info().rss))
            except psutil.Error:
                continue

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._take_sample()

    def usage(self) -> list[ProcessUsage]:
        out = []
        for name, process in self.processes.items():
            peak = max(self.peak_rss[name], high_water_mark_bytes(process.pid) or 0)
            out.append(
                ProcessUsage(
                    name=name,
                    pid=process.pid,
                    cpu_seconds=round(self.cpu_end[name] - self.cpu_start[name], 2),
                    peak_rss_mib=round(peak / 2**20, 1),
                )
            )
        return out
