"""Command-line configuration, parsed once into a frozen object (Azurite's BlobConfiguration idea)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from emulator.settings import PROFILES, Settings, for_profile


def default_certs_dir() -> Path:
    """A stable per-user cache, so the CA a client trusts does not change between in-memory runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "arm-emulator" / "certs"


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 7080
    state_dir: Path | None = None
    certs_dir: Path = field(default_factory=default_certs_dir)
    seeds: tuple[Path, ...] = ()
    webhooks: tuple[str, ...] = ()
    clock: str = "real"
    log_requests: bool = False
    ready_file: Path | None = None
    settings: Settings = field(default_factory=Settings)
    roles: tuple[Path, ...] = ()
    silent: bool = False

    @property
    def in_memory(self) -> bool:
        return self.state_dir is None


def parse_args(argv: Sequence[str] | None = None) -> Config:
    p = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Local Azure Resource Manager emulator for managed images, galleries, tags and scale sets.",
    )
    p.add_argument("--host", default="127.0.0.1", help="Optional. Address to listen on (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=7080, help="Optional. Port (default 7080; 0 picks a free port).")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--state", type=Path, help="Optional. Directory for persistent state and certificates.")
    where.add_argument("--in-memory", action="store_true", help="Optional. Keep state in memory (the default).")
    p.add_argument(
        "--certs-dir",
        type=Path,
        default=None,
        help=f"Optional. Where the CA and server certificate live when --in-memory (default {default_certs_dir()}).",
    )
    p.add_argument("--seed", action="append", type=Path, default=[], help="Optional, repeatable. Seed document.")
    p.add_argument(
        "--eventgrid-webhook",
        action="append",
        default=[],
        help="Optional, repeatable. Deliver every resource event to this URL (no filter).",
    )
    p.add_argument(
        "--clock",
        choices=("real", "virtual"),
        default="real",
        help="Optional. 'virtual': time moves only through POST /_emulator/clock.",
    )
    p.add_argument("--log-requests", action="store_true", help="Optional. Print one access-log line per request.")
    p.add_argument("--ready-file", type=Path, help="Optional. Write connection details (JSON) here once listening.")
    p.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default="azure",
        help="Optional. Named settings: 'azure' (default: Azure's headers and timings) or 'fast' (writes a client "
        "waits for within one call finish at the next request).",
    )
    p.add_argument("--config", type=Path, help="Optional. Settings file (JSON, applied over the profile).")
    p.add_argument(
        "--tags-event-subject",
        choices=("resource", "tags-resource"),
        help="Optional. Subject of Tags-API events: the resource ID, or it + "
        "/providers/Microsoft.Resources/tags/default.",
    )
    p.add_argument(
        "--role",
        action="append",
        type=Path,
        default=[],
        help="Optional, repeatable. RBAC-lite role: ARM roleDefinition JSON or {actions, notActions}.",
    )
    p.add_argument(
        "--record-bodies", action="store_true", help="Optional. Keep request and response bodies in the request log."
    )
    p.add_argument("--silent", action="store_true", help="Optional. Print nothing but errors.")
    a = p.parse_args(argv)
    settings = for_profile(a.profile)
    if a.config:
        settings = settings.merged(json.loads(a.config.read_text()))
    if a.tags_event_subject:
        settings.eventgrid.tags_event_subject = a.tags_event_subject
    if a.record_bodies:
        settings.record_bodies = True
    certs = a.certs_dir or (a.state / "certs" if a.state else default_certs_dir())
    return Config(
        host=a.host,
        port=a.port,
        state_dir=a.state,
        certs_dir=certs,
        seeds=tuple(a.seed),
        webhooks=tuple(a.eventgrid_webhook),
        clock=a.clock,
        log_requests=a.log_requests,
        ready_file=a.ready_file,
        settings=settings,
        roles=tuple(a.role),
        silent=a.silent,
    )
