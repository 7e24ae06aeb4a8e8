"""Function keys, as the Functions host has them: a master key, a default host key, and system keys.

``authLevel`` FUNCTION accepts the default key or the master key, ADMIN only the master key, and the extension
webhooks (``/runtime/webhooks/durabletask``, ``/runtime/webhooks/eventgrid``) their system key or the master
key. A key comes in the ``x-functions-key`` header (read first, any case) or the ``code`` query parameter.
Keys persist in ``<state>/keys.json`` (created on first start); settings ``DEVHOST_MASTER_KEY``,
``DEVHOST_FUNCTION_KEY``, ``DEVHOST_EVENTGRID_KEY`` and ``DEVHOST_DURABLETASK_KEY`` override them.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KEYS_FILE = "keys.json"
HEADER = "x-functions-key"
OVERRIDES = {
    "master": "DEVHOST_MASTER_KEY",
    "function": "DEVHOST_FUNCTION_KEY",
    "eventgrid": "DEVHOST_EVENTGRID_KEY",
    "durabletask": "DEVHOST_DURABLETASK_KEY",
}


@dataclass(frozen=True)
class HostKeys:
    master: str
    function: str  # the "default" host function key
    eventgrid: str  # system key "eventgrid_extension"
    durabletask: str  # system key "durabletask_extension"

    def allows(self, presented: str | None, level: str) -> bool:
        """Does ``presented`` satisfy ``level`` (anonymous, function, admin, eventgrid, durabletask)?"""
        level = level.lower()
        if level == "anonymous":
            return True
        if not presented:
            return False
        accepted = {"function": [self.function], "admin": [], "eventgrid": [self.eventgrid]}
        accepted["durabletask"] = [self.durabletask]
        candidates = [self.master, *accepted.get(level, [])]
        return any(hmac.compare_digest(presented.encode(), key.encode()) for key in candidates)


def load_keys(state_dir: Path | None) -> HostKeys:
    stored: dict[str, str] = {}
    path = None if state_dir is None else state_dir / KEYS_FILE
    if path is not None and path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
    values = {name: stored.get(name) or _new_key() for name in OVERRIDES}
    if path is not None and values != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2), encoding="utf-8")
        path.chmod(0o600)
    for name, setting in OVERRIDES.items():
        values[name] = os.environ.get(setting) or values[name]
    return HostKeys(**values)


def presented_key(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The key a request presents, as the host reads it (AuthenticationLevelHandler.GetAuthorizationKeyInfoAsync):
    the ``x-functions-key`` header when present (header names are case-insensitive; an empty header means no key,
    it does not fall back), else the ``code`` query parameter."""
    for name, value in headers.items():
        if name.lower() == HEADER:
            return value
    return query.get("code")


def _new_key() -> str:
    return secrets.token_urlsafe(40)
