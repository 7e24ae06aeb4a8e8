"""Command line, app settings and host.json, parsed once into frozen objects (Azurite's single configuration)."""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = Path(".state") / "devhost"


@dataclass(frozen=True)
class Config:
    app_dir: Path
    host: str
    port: int
    state_dir: Path | None  # None = in memory
    settings_file: Path | None
    clock: str
    clock_sync: tuple[str, ...]
    ready_file: Path | None
    verbose: bool
    silent: bool
    idle_grace_ms: int
    control_endpoints: bool = False
    hold_clock: bool = False
    reset_hooks: tuple[str, ...] = ()  # "module:function" of the app, called by POST /_devhost/reset


@dataclass(frozen=True)
class HostSettings:
    """What the devhost reads from host.json (contract §7); everything else in it is ignored."""

    route_prefix: str
    hub_name: str
    max_activities: int
    max_orchestrators: int
    override_any_state: bool
    connection_name: str
    max_entities: int = 10
    max_entity_batch: int = 5000


def parse_args(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m devhost",
        description="Local Azure Functions + Durable host for a Python v2 app (function_app.py).",
    )
    parser.add_argument("--app", default=".", help="Optional. Directory holding function_app.py and host.json.")
    parser.add_argument("--host", default="127.0.0.1", help="Optional. Address to listen on (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=7071, help="Optional. Port (default 7071; 0 picks a free one).")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--state", help=f"Optional. Directory for durable state (default {DEFAULT_STATE_DIR}).")
    where.add_argument("--in-memory", action="store_true", help="Optional. Keep durable state in memory only.")
    parser.add_argument("--settings", help="Optional. local.settings.json file; its Values become env variables.")
    parser.add_argument("--clock", choices=["real", "virtual"], default="real", help="Optional. Durable timer clock.")
    parser.add_argument(
        "--clock-sync",
        action="append",
        default=[],
        metavar="URL",
        help="Optional, repeatable. Control URL of a server to advance with the virtual clock (the emulator's).",
    )
    parser.add_argument("--ready-file", help="Optional. Write a JSON description here once listening.")
    parser.add_argument("--verbose", action="store_true", help="Optional. Log replay decisions.")
    parser.add_argument("--silent", action="store_true", help="Optional. Log warnings and errors only.")
    parser.add_argument(
        "--idle-grace-ms",
        type=int,
        default=50,
        help="Optional. Virtual clock: idle time before advancing to the next timer (default 50 ms).",
    )
    parser.add_argument(
        "--control-endpoints",
        action="store_true",
        help="Optional. Serve /_devhost/ (stats, clock, reset) to loopback callers with the master key; "
        "off by default (not part of Azure). Tests, the demo and benchmarks turn it on.",
    )
    parser.add_argument(
        "--hold-clock",
        action="store_true",
        help="Optional. Virtual clock: start held (as POST /_devhost/clock {autoAdvance: false}), so a test that "
        "restarts the host while holding time keeps it held.",
    )
    parser.add_argument(
        "--reset-hook",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="Optional, repeatable. A function of the app (no arguments) that POST /_devhost/reset also calls, to "
        "clear the app's process-wide caches between tests sharing one host.",
    )
    args = parser.parse_args(argv)
    if args.clock_sync and args.clock != "virtual":
        parser.error("--clock-sync needs --clock virtual")
    if args.hold_clock and args.clock != "virtual":
        parser.error("--hold-clock needs --clock virtual")
    state_dir = None if args.in_memory else Path(args.state) if args.state else DEFAULT_STATE_DIR
    return Config(
        app_dir=Path(args.app).resolve(),
        host=args.host,
        port=args.port,
        state_dir=state_dir,
        settings_file=Path(args.settings) if args.settings else None,
        clock=args.clock,
        clock_sync=tuple(args.clock_sync),
        ready_file=Path(args.ready_file) if args.ready_file else None,
        verbose=args.verbose,
        silent=args.silent,
        idle_grace_ms=args.idle_grace_ms,
        control_endpoints=args.control_endpoints,
        hold_clock=args.hold_clock,
        reset_hooks=tuple(args.reset_hook),
    )


def apply_settings(path: Path | None) -> dict[str, str]:
    """Export the settings file's ``Values`` as environment variables, before the app is imported.

    As with Core Tools, a variable already set in the environment wins (and a warning says so).
    """
    if path is None:
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("IsEncrypted"):
        raise ValueError(f"{path}: encrypted settings are not supported (IsEncrypted must be false)")
    values = {str(k): "" if v is None else str(v) for k, v in (document.get("Values") or {}).items()}
    for key, value in values.items():
        if key in os.environ:
            log.warning("Skipping '%s' from %s as it's already defined in the environment", key, path.name)
            continue
        os.environ[key] = value
    return values


def read_host_json(app_dir: Path) -> HostSettings:
    path = app_dir / "host.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    extensions = document.get("extensions") or {}
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}
    cores = os.cpu_count() or 1
    prefix = http.get("routePrefix", "api")
    return HostSettings(
        route_prefix=str(prefix).strip("/"),
        hub_name=str(durable.get("hubName") or os.environ.get("WEBSITE_SITE_NAME") or "TestHubName"),
        max_activities=int(durable.get("maxConcurrentActivityFunctions") or 10 * cores),
        max_orchestrators=int(durable.get("maxConcurrentOrchestratorFunctions") or 10 * cores),
        override_any_state=str(durable.get("overridableExistingInstanceStates", "")).lower() == "anystate",
        # DFX AzureStorageDurabilityProviderFactory defaults outside the Consumption plan (there: 10 and 50).
        max_entities=int(durable.get("maxConcurrentEntityFunctions") or 10 * cores),
        max_entity_batch=int(durable.get("maxEntityOperationBatchSize") or 5000),
        connection_name="Storage",  # what the extension puts in management URLs (connection=Storage)
    )
