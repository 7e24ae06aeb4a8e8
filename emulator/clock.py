"""The emulator's clock: real (wall time) or virtual (moves only when told, never backwards).

Every time-dependent state (LRO completion, replication progress) is derived from timestamps and this clock, so a
virtual advance moves it deterministically and a restart resumes it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

logger = logging.getLogger(__name__)


def iso(t: datetime) -> str:
    """ISO-8601 in UTC with a trailing Z, as ARM writes times."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Clock:
    def __init__(self, mode: str, start: datetime | None = None):
        if mode not in ("real", "virtual"):
            raise ValueError(f"clock mode must be 'real' or 'virtual', not {mode!r}")
        self.mode = mode
        self._virtual = start or datetime.now(UTC)

    @property
    def virtual(self) -> bool:
        return self.mode == "virtual"

    def now(self) -> datetime:
        return self._virtual if self.virtual else datetime.now(UTC)

    def advance_to(self, t: datetime) -> datetime:
        """Move a virtual clock forward to ``t``; a time in the past leaves it where it is (monotonic)."""
        if not self.virtual:
            raise ValueError("the clock is real; start the emulator with --clock virtual to move it")
        if t > self._virtual:
            self._virtual = t
            logger.debug("virtual clock advanced to %s", iso(t))
        return self._virtual

    def advance_by(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("advanceBy must not be negative: the clock never goes back")
        return self.advance_to(self._virtual + timedelta(seconds=seconds))

    def to_json(self) -> dict[str, str]:
        return {"mode": self.mode, "now": iso(self.now())}

    def restore(self, saved: str | None) -> None:
        """Resume a persisted virtual clock (never moving it backwards)."""
        if saved and self.virtual:
            self._virtual = parse_iso(saved)
