"""Gallery image version names: ``Major.Minor.Patch``, each part a non-negative 32-bit integer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from migration.errors import InvalidRequest

INT32_MAX = 2**31 - 1
_VERSION_RE = re.compile(r"^(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,9})$", re.ASCII)
# Azure accepts leading zeros ("1.02.3"); we do too when reading what exists, but never generate them.
_LENIENT_RE = re.compile(r"^([0-9]{1,10})\.([0-9]{1,10})\.([0-9]{1,10})$", re.ASCII)


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    def bump_patch(self) -> Version:
        if self.patch < INT32_MAX:
            return Version(self.major, self.minor, self.patch + 1)
        if self.minor < INT32_MAX:
            return Version(self.major, self.minor + 1, 0)
        if self.major < INT32_MAX:
            return Version(self.major + 1, 0, 0)
        raise InvalidRequest("no version number is left after 2147483647.2147483647.2147483647")


def parse_version(text: object, *, lenient: bool = False) -> Version:
    """Parse ``Major.Minor.Patch``; raise :class:`InvalidRequest` with the rule that was broken."""
    if not isinstance(text, str):
        raise InvalidRequest(f"version must be a string like '1.0.0', got {type(text).__name__}")
    match = (_LENIENT_RE if lenient else _VERSION_RE).fullmatch(text)
    if not match:
        raise InvalidRequest(
            f"'{text[:64]}' is not a valid version: use Major.Minor.Patch with digits only, e.g. 1.0.0"
        )
    parts = tuple(int(g) for g in match.groups())
    if any(p > INT32_MAX for p in parts):
        raise InvalidRequest(f"'{text}' is not a valid version: each part must be at most {INT32_MAX}")
    return Version(*parts)


def existing_versions(names: Iterable[str]) -> list[Version]:
    """The parseable versions among names that exist in a definition (others are ignored)."""
    found = []
    for name in names:
        try:
            found.append(parse_version(name, lenient=True))
        except InvalidRequest:
            continue
    return sorted(found)


def next_version(existing: Iterable[str], *, initial: str = "1.0.0") -> Version:
    """The next free version: one patch above the highest existing, or ``initial`` when there is none."""
    versions = existing_versions(existing)
    if not versions:
        return parse_version(initial)
    return versions[-1].bump_patch()
