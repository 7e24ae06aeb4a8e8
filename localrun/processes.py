"""Start our local servers (emulator, devhost) as real child processes and wait until they are ready.

Each server accepts ``--port 0`` (pick a free port) and ``--ready-file PATH``: once it listens, it writes a
JSON document there describing how to reach it. Tests, the demo and the benchmarks all start servers through
:class:`ServerProcess`, so "ready" means the same thing everywhere and no caller polls ports or parses logs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class ServerStartError(RuntimeError):
    """The server exited or did not become ready in time; the message carries its log tail."""


class ServerProcess:
    """One server child process: ``python -m <module> <args> --ready-file <tmp>``.

    ``info`` is the parsed ready-file once :meth:`start` returns. Output goes to ``log_path`` so a failing test
    can show it, and so a chatty server never blocks on a full pipe.
    """

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        *,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path = REPO_ROOT,
        startup_timeout: float = 30.0,
    ) -> None:
        self.module = module
        self.args = list(args)
        self.env = env
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{module}-"))
        self.log_path = log_path or self._tmp / "server.log"
        self.ready_file = self._tmp / "ready.json"
        self.info: dict[str, Any] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        self.ready_file.unlink(missing_ok=True)
        env = dict(os.environ)
        env.update(self.env or {})
        env.setdefault("PYTHONUNBUFFERED", "1")
        cmd = [sys.executable, "-m", self.module, *self.args, "--ready-file", str(self.ready_file)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"{self.module} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.ready_file.exists():
                try:
                    self.info = json.loads(self.ready_file.read_text())
                    return self
                except json.JSONDecodeError:
                    pass  # written but not yet complete
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(f"{self.module} not ready after {self.startup_timeout}s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash: no cleanup runs in the child."""
        if self.running():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time."""
        if not self.running():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
