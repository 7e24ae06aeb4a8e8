"""What "the emulator answered like Azure" means for one interaction (pure functions, unit-tested).

Compared: the status code; which long-running-operation headers are present; the JSON body's key paths (values
are not compared, so ids, dates, etags, GUIDs and sizes may differ); the values of enum-like keys
(provisioning and replication states, OS type/state, Hyper-V generation, storage types, region names); and for
errors the error code. ``etag`` keys are left out (ARM's ETags are not emulated; see emulator/README.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

LRO_HEADERS = ("azure-asyncoperation", "location", "retry-after")
ENUM_KEYS = frozenset(
    {
        "provisioningState",
        "status",
        "state",
        "aggregatedState",
        "osState",
        "osType",
        "hyperVGeneration",
        "architecture",
        "storageAccountType",
        "replicationMode",
        "location",
        "region",
        "caching",
        "hostCaching",
    }
)
IGNORED_KEYS = frozenset({"etag"})
_REGION_LISTS = ("targetRegions[].name",)  # region names that are not under an enum-named key


@dataclass(frozen=True)
class Exchange:
    """One answer: status, response headers (lower-case names) and the JSON body (None when empty)."""

    status: int
    headers: dict[str, str]
    body: Any


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON document; list items share one path (``a.b[].c``)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            if key in IGNORED_KEYS:
                continue
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, f"{prefix}[]")
    return paths


def enum_values(value: Any, prefix: str = "") -> dict[str, list[str]]:
    """Enum-like values by key path, each path's values sorted (list order is not compared)."""
    found: dict[str, list[str]] = defaultdict(list)

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{path}.{key}" if path else key
                if isinstance(child, str) and (key in ENUM_KEYS or child_path.endswith(_REGION_LISTS)):
                    found[child_path].append(child)
                else:
                    walk(child, child_path)
        elif isinstance(node, list):
            for child in node:
                walk(child, f"{path}[]")

    walk(value, prefix)
    return {path: sorted(values) for path, values in found.items()}


def _outermost(paths: set[str]) -> list[str]:
    """Only the top of each missing subtree (``a`` rather than ``a``, ``a.b``, ``a.b.c``)."""

    def parents(path: str) -> list[str]:
        cut = [i for i, ch in enumerate(path) if ch == "." or path.startswith("[]", i)]
        return [path[:i] for i in cut if i]

    return sorted(p for p in paths if not any(q in paths for q in parents(p)))


def error_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("code"))
    return None


def differences(azure: Exchange, emulator: Exchange) -> list[str]:
    """How the emulator's answer differs from Azure's; empty when it matches."""
    found: list[str] = []
    if azure.status != emulator.status:
        found.append(f"status: Azure {azure.status}, emulator {emulator.status}")
    for header in LRO_HEADERS:
        if (header in azure.headers) != (header in emulator.headers):
            has = "Azure" if header in azure.headers else "the emulator"
            found.append(f"header {header}: only {has} sends it")
    if azure.status >= 400 or emulator.status >= 400:
        a, e = error_code(azure.body), error_code(emulator.body)
        if a != e:
            found.append(f"error code: Azure {a}, emulator {e}")
        return found
    if (azure.body is None) != (emulator.body is None):
        kinds = ["none" if body is None else "JSON" for body in (azure.body, emulator.body)]
        found.append(f"body: Azure {kinds[0]}, emulator {kinds[1]}")
        return found
    a_paths, e_paths = key_paths(azure.body), key_paths(emulator.body)
    found += [f"key missing: {p}" for p in _outermost(a_paths - e_paths)]
    found += [f"key extra: {p}" for p in _outermost(e_paths - a_paths)]
    a_enums, e_enums = enum_values(azure.body), enum_values(emulator.body)
    for path in sorted(set(a_enums) & set(e_enums)):
        if a_enums[path] != e_enums[path]:
            found.append(f"value {path}: Azure {a_enums[path]}, emulator {e_enums[path]}")
    return found
