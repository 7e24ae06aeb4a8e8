"""Replication progress curves: the share of a region's copy reported done after a share of its copy time.

The recordings (``third_party/azure-recordings``) give each replication's start and end only: no read of
``$expand=ReplicationStatus`` during a copy, so the shape in between is not observed. The fitted model is a queue
(``queuedSeconds``, 0 % reported) then a copy whose time grows linearly with the image's size ("linear" below).
The other curves are what the app's predictor (``migration/replication.py``, which extrapolates the rate between
two reads) does not assume, so its polling economy is also judged against them:

- ``linear``: progress grows evenly (the default);
- ``slow-start``: slow at first, fast at the end (cubic), so an early rate predicts completion far too late;
- ``stall-burst``: evenly to 30 %, stuck there until 80 % of the time, then a burst to 100 %;
- ``jump``: 0 % until done, then 100 % (no progress to extrapolate from).

Every curve starts at 0 and reaches 100 % exactly at the end of the copy time, so the terminal time is the same.
"""

from __future__ import annotations

from typing import Literal

CurveName = Literal["linear", "slow-start", "stall-burst", "jump"]
CURVES: tuple[CurveName, ...] = ("linear", "slow-start", "stall-burst", "jump")
STALL_AT, STALL_FROM, STALL_UNTIL = 0.30, 0.30, 0.80


def share_done(curve: str, share_of_time: float) -> float:
    """Progress in [0, 1] after ``share_of_time`` in [0, 1] of the copy."""
    x = max(0.0, min(1.0, share_of_time))
    if curve == "slow-start":
        return x**3
    if curve == "stall-burst":
        if x < STALL_FROM:
            return x * STALL_AT / STALL_FROM
        if x < STALL_UNTIL:
            return STALL_AT
        return STALL_AT + (1.0 - STALL_AT) * (x - STALL_UNTIL) / (1.0 - STALL_UNTIL)
    if curve == "jump":
        return 1.0 if x >= 1.0 else 0.0
    return x


def share_of_time(curve: str, progress: float) -> float:
    """The first share of the copy time at which ``progress`` in [0, 1] is reached (the inverse of share_done)."""
    low, high = 0.0, 1.0
    for _ in range(50):  # bisection: the curves are non-decreasing
        middle = (low + high) / 2
        if share_done(curve, middle) >= progress:
            high = middle
        else:
            low = middle
    return high
