"""The benchmark's batch row runs: ``python -m bench.batch`` on a few images (correctness only, never speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localrun.processes import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_batch_row_migrates_every_image_once_within_the_cap(tmp_path: Path) -> None:
    output = tmp_path / "batch.json"
    command = [sys.executable, "-m", "bench.batch", "--migrations", "4", "--cap", "2", "--output", str(output)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    section = json.loads(output.read_text())["sections"]["batch"]
    assert section["data"]["allSucceededOnce"] is True
    assert section["data"]["scenario"] == "batch"
    (concurrency,) = [t for t in section["tables"] if t["key"] == "batch-concurrency"]
    assert concurrency["rows"] == [[2, 2]]
    assert output.with_suffix(".md").exists()
