"""Pacing: spreading many migrations' ARM traffic over time, deterministically (orchestrators may use it)."""

from __future__ import annotations

import hashlib


def start_delay(instance_id: str, spread_seconds: int) -> int:
    """Seconds to wait before a migration's first ARM call: a stable pseudo-random slot in ``[0, spread]``.

    Hundreds of images tagged at once (a script, a policy) would otherwise all read ARM in the same minute; the
    slot depends only on the instance ID, so every replay computes the same wait."""
    if spread_seconds <= 0:
        return 0
    digest = hashlib.sha256(instance_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % (spread_seconds + 1)
