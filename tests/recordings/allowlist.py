"""The allow-list: differences from Azure that the emulator keeps, each with the reason (``allowlist.yaml``).

An entry names a recording, the interactions it covers (indexes and ranges, e.g. ``[24, "43-51"]``) and
patterns (regular expressions, searched in the difference text); every entry must still be needed, so the
list cannot outlive the differences it explains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ALLOWLIST = Path(__file__).with_name("allowlist.yaml")


@dataclass
class Entry:
    recording: str
    interactions: frozenset[int]
    patterns: tuple[re.Pattern[str], ...]
    reason: str
    used: bool = field(default=False, compare=False)


def _indexes(spec: list[int | str]) -> frozenset[int]:
    found: set[int] = set()
    for item in spec:
        if isinstance(item, int):
            found.add(item)
        else:
            low, _, high = str(item).partition("-")
            found.update(range(int(low), int(high or low) + 1))
    return frozenset(found)


class AllowList:
    def __init__(self, path: Path = ALLOWLIST) -> None:
        raw = yaml.safe_load(path.read_text()) or []
        self.entries = [
            Entry(
                recording=e["recording"],
                interactions=_indexes(e["interactions"]),
                patterns=tuple(re.compile(p) for p in e["differences"]),
                reason=" ".join(str(e["reason"]).split()),
            )
            for e in raw
        ]
        for entry in self.entries:
            if not entry.reason or not entry.patterns or not entry.interactions:
                raise ValueError(f"allow-list entry for {entry.recording} needs interactions, differences, reason")

    def explain(self, recording: str, index: int, difference: str) -> str | None:
        """The reason this difference is accepted, or None."""
        for entry in self.entries:
            if (
                entry.recording == recording
                and index in entry.interactions
                and any(p.search(difference) for p in entry.patterns)
            ):
                entry.used = True
                return entry.reason
        return None

    def unused(self, recording: str) -> list[Entry]:
        return [e for e in self.entries if e.recording == recording and not e.used]
