"""The emulator's default timings, fitted to what Azure took in the vendored recordings.

Every long-running operation of the recordings reports ``startTime`` and ``endTime`` in its status body, so its
duration is exact (not bounded by the poll interval). This module classifies each one (gallery or definition
write, managed-image write, version create, version update with or without new regions, version delete), fits
the emulator's timing model and prints the fit with its residuals:

    python -m tests.recordings.timings

Model of a version create or of an update that adds regions (each new region in parallel; the operation ends
with the slowest): ``queued + secondsPerGiB * GiB * (1 + replicaFactor * (replicas - 1))``. The recordings hold
one image size (30 + 10 GiB), so they cannot separate a fixed part from a per-GiB part by regression; the fixed
part is taken from the updates that add no region (they replicate nothing and take 150.2 s both times), the
per-GiB time from the single-replica creates (median: one of five took 438.5 s, the others 420.6-423.3 s), the
replica factor from the one three-replica region.
tests/recordings/test_timings.py keeps emulator/settings.py's defaults equal to this fit.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulator.core.ids import region
from tests.recordings import cassette


@dataclass(frozen=True)
class Sample:
    recording: str
    index: int  # the interaction that started the operation
    kind: str  # gallery | image | version-create | version-update-regions | version-update | version-delete
    seconds: float
    gib: int = 0
    replicas: int = 0  # of the slowest new region (its regionalReplicaCount)
    source: str = "image"  # what a version was built from: image | vm | version

    @property
    def label(self) -> str:
        return f"{self.recording.removeprefix('test_')} #{self.index}"


@dataclass(frozen=True)
class Fit:
    gallery_seconds: float  # median gallery/definition write (Azure: 0.1-0.2 s)
    image_seconds: float
    version_delete_seconds: float
    version_update_seconds: float  # an update that replicates nothing; also the fixed part of a replication
    seconds_per_gib: float
    replica_factor: float

    def predict(self, s: Sample) -> float | None:
        if s.kind == "gallery":
            return self.gallery_seconds
        if s.kind == "image":
            return self.image_seconds
        if s.kind == "version-delete":
            return self.version_delete_seconds
        if s.kind == "version-update":
            return self.version_update_seconds
        if s.source != "image":
            return None  # only managed-image sources are emulated and fitted
        return self.version_update_seconds + self.seconds_per_gib * s.gib * (1 + self.replica_factor * (s.replicas - 1))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text))


def _regions(body: Any) -> dict[str, int]:
    """Target regions of a version body (request or answer): region key -> replica count."""
    pp = ((body or {}).get("properties") or {}).get("publishingProfile") or {}
    default = int(pp.get("replicaCount") or 1)
    return {region(t["name"]): int(t.get("regionalReplicaCount") or default) for t in pp.get("targetRegions") or []}


def _size(body: Any) -> int:
    storage = ((body or {}).get("properties") or {}).get("storageProfile") or {}
    disks = [storage.get("osDiskImage") or {}, *(storage.get("dataDiskImages") or [])]
    return sum(int(d.get("sizeInGB") or 0) for d in disks)


def samples() -> list[Sample]:
    found: list[Sample] = []
    for name in cassette.names():
        rec = cassette.load(name)
        started: dict[str, cassette.Interaction] = {}
        versions: dict[str, Any] = {}  # version path -> the last answer seen (regions and size)
        for i in rec.interactions:
            body = i.body
            if i.method == "GET" and isinstance(body, dict) and body.get("type", "").endswith("images/versions"):
                versions[i.path.lower()] = body
            op = i.started_operation()
            if op and i.method in ("PUT", "PATCH", "DELETE") and "/providers/Microsoft.Compute/" in i.path:
                started[op] = i
            done = started.get(i.operation_id or "")
            if done is None or not isinstance(body, dict) or not body.get("endTime"):
                continue
            del started[i.operation_id or ""]
            seconds = (_time(body["endTime"]) - _time(body["startTime"])).total_seconds()
            found.append(_classify(name, done, seconds, versions, rec))
    return [s for s in found if s.kind]


def _classify(
    name: str, write: cassette.Interaction, seconds: float, versions: dict[str, Any], rec: cassette.Recording
) -> Sample:
    path = write.path.lower()
    kind = ""
    if "/images/" in path and "/versions/" in path:
        later = next(
            (
                i.body
                for i in rec.interactions[write.index :]
                if i.path.lower() == path
                and i.method == "GET"
                and isinstance(i.body, dict)
                and "storageProfile" in i.body.get("properties", {})
            ),
            None,
        )
        request = json.loads(write.request_body) if write.request_body else {}
        source = ((request.get("properties") or {}).get("storageProfile") or {}).get("source") or {}
        origin = "version" if "/versions/" in str(source.get("id")) else "image"
        if source.get("virtualMachineId"):
            origin = "vm"
        before = versions.get(path)
        if write.method == "DELETE":
            kind = "version-delete"
        elif before is None:
            new = _regions(request)
            return Sample(name, write.index, "version-create", seconds, _size(later), max(new.values()), origin)
        else:
            old, new = _regions(before), _regions(request)
            added = {k: n for k, n in new.items() if k not in old}
            if added:
                return Sample(name, write.index, "version-update-regions", seconds, _size(before), max(added.values()))
            kind = "version-update"
    elif "/galleries/" in path:
        kind = "gallery"
    elif "/images/" in path:
        kind = "image"
    return Sample(name, write.index, kind, seconds)


def fit(found: list[Sample] | None = None) -> Fit:
    found = samples() if found is None else found

    def of(*kinds: str) -> list[Sample]:
        return [s for s in found if s.kind in kinds and s.source == "image"]

    fixed = statistics.fmean(s.seconds for s in of("version-update"))
    single = [s for s in of("version-create", "version-update-regions") if s.replicas == 1]
    per_gib = statistics.median((s.seconds - fixed) / s.gib for s in single)  # one slow outlier (438.5 s)
    multi = [s for s in of("version-create", "version-update-regions") if s.replicas > 1]
    factor = statistics.fmean(((s.seconds - fixed) / (per_gib * s.gib) - 1) / (s.replicas - 1) for s in multi)
    return Fit(
        gallery_seconds=statistics.median(s.seconds for s in of("gallery")),
        image_seconds=statistics.fmean(s.seconds for s in of("image")),
        version_delete_seconds=statistics.fmean(s.seconds for s in of("version-delete")),
        version_update_seconds=fixed,
        seconds_per_gib=per_gib,
        replica_factor=factor,
    )


def table(found: list[Sample] | None = None) -> str:
    found = samples() if found is None else found
    model = fit(found)
    lines = [
        "| operation (recording #interaction) | GiB | replicas | Azure (s) | model (s) | residual (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in sorted(found, key=lambda s: (s.kind, s.label)):
        predicted = model.predict(s)
        kind = s.kind if s.source == "image" else f"{s.kind} from a {s.source} (not emulated, not fitted)"
        size = f"{s.gib}" if s.gib else ""
        replicas = f"{s.replicas}" if s.replicas else ""
        model_text = f"{predicted:.1f}" if predicted is not None else "-"
        residual = f"{s.seconds - predicted:+.1f}" if predicted is not None else "-"
        lines.append(f"| {kind} ({s.label}) | {size} | {replicas} | {s.seconds:.1f} | {model_text} | {residual} |")
    lines += [
        "",
        f"Fit: gallery/definition writes {model.gallery_seconds:.1f} s (median); managed-image writes "
        f"{model.image_seconds:.1f} s; version delete {model.version_delete_seconds:.1f} s (mean); version update "
        f"without new regions {model.version_update_seconds:.1f} s = queued part of a replication; "
        f"{model.seconds_per_gib:.2f} s per GiB per region (median); each extra replica adds "
        f"{model.replica_factor * 100:.1f} % to a region's copy time.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
