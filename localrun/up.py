"""``make up``: a local cloud for your own tools. Starts the ARM emulator and the Functions devhost serving
``function_app.py`` (demo seed, real clock), keeps them running until Ctrl-C, and prints (and writes to
``<state>/env.sh``, to ``source``) what a client needs: the ARM endpoint, the CA bundle, the managed-identity endpoint
and header, the subscription, the function key and the API base URL, and the ``az cloud register`` /
``az login --identity`` lines that point the Azure CLI at it.

State lives in ``--state-dir`` (default ``.state/up``) and survives a restart: the emulator's resources, operations
and secrets (so the identity header in ``env.sh`` stays valid), the devhost's Durable history, and the Azure CLI
profile (``AZURE_CONFIG_DIR``, so your own ``~/.azure`` is never touched). Delete the directory to start afresh.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from localrun.demo import DEMO_APP_SETTINGS, DEMO_EMULATOR_CONFIG, IMAGE, SUBSCRIPTION
from localrun.processes import REPO_ROOT
from localrun.stack import LocalStack

CLOUD_NAME = "ArmEmulator"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m localrun up", description=__doc__.splitlines()[0])
    p.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".state" / "up", help="Where state is kept.")
    p.add_argument("--arm-port", type=int, default=7080, help="Emulator port (0: any free port).")
    p.add_argument("--host-port", type=int, default=7071, help="Devhost port (0: any free port).")
    p.add_argument("--clock", choices=["real", "virtual"], default="real", help="virtual: time moves when told.")
    p.add_argument(
        "--azure-timings",
        action="store_true",
        help="Keep the emulator's Azure-calibrated timings (minutes per replication) instead of the demo's seconds.",
    )
    return p.parse_args(argv)


def client_env(stack: LocalStack, state_dir: Path) -> dict[str, str]:
    info = stack.arm.info
    return {
        "ARM_ENDPOINT": str(info["armEndpoint"]),
        "REQUESTS_CA_BUNDLE": str(info["caBundle"]),
        "SSL_CERT_FILE": str(info["caBundle"]),
        "IDENTITY_ENDPOINT": str(info["identityEndpoint"]),
        "IDENTITY_HEADER": str(info["identityHeader"]),
        "AZURE_CONFIG_DIR": str(state_dir / "azure-cli"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
        "MIGRATOR_API": f"{stack.host.base_url}/api",
        "MIGRATOR_FUNCTION_KEY": stack.host.function_key,
        "MIGRATOR_CONSOLE": f"{stack.host.base_url}/api/console",  # the operator console; paste the key above
        "EMULATOR_CONTROL": str(info["controlUrl"]),
        "DEMO_IMAGE_ID": IMAGE,
    }


def az_login_lines() -> list[str]:
    """Register the emulator as a cloud (re-running updates it), select it, log in with its managed identity."""
    return [
        f'az cloud register -n {CLOUD_NAME} --endpoint-resource-manager "$ARM_ENDPOINT" >/dev/null 2>&1 || '
        f'az cloud update -n {CLOUD_NAME} --endpoint-resource-manager "$ARM_ENDPOINT" >/dev/null',
        f"az cloud set -n {CLOUD_NAME}",
        "az login --identity --output none",
    ]


def env_file(values: dict[str, str]) -> str:
    lines = [
        "# Written by `make up`: `source` it in the shell where you run az, the SDKs or curl against the local cloud.",
        "# REQUESTS_CA_BUNDLE / SSL_CERT_FILE trust the emulator's CA only: use another shell for the internet.",
        *(f"export {k}={shlex.quote(v)}" for k, v in values.items()),
    ]
    return "\n".join(lines) + "\n"


def banner(values: dict[str, str], env_path: Path) -> str:
    width = max(len(k) for k in values)
    rows = [f"  {k:<{width}}  {v}" for k, v in values.items()]
    return "\n".join(
        [
            "Local cloud is up (Ctrl-C stops it; state is kept in " + str(env_path.parent) + ")",
            *rows,
            "",
            f"Use it from a shell:  source {env_path}",
            *(f"  {line}" for line in az_login_lines()),
            '  az tag update --operation merge --resource-id "$DEMO_IMAGE_ID" --tags migrate-to-gallery=demo_gallery',
            '  az tag list --resource-id "$DEMO_IMAGE_ID" -o table     # migration-status, migration-id, ...',
            '  curl -s -H "x-functions-key: $MIGRATOR_FUNCTION_KEY" "$MIGRATOR_API/migrations"',
        ]
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C and a plain `kill` both stop the servers cleanly (a shell's background job ignores SIGINT by default).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    state_dir = args.state_dir.resolve()
    stack = LocalStack(
        clock=args.clock,
        # the demo's seconds (replication scaled down, "fast" writes), or everything as Azure times it
        emulator_profile="azure" if args.azure_timings else "fast",
        emulator_config=None if args.azure_timings else DEMO_EMULATOR_CONFIG,
        settings=DEMO_APP_SETTINGS,
        state_dir=state_dir,
        emulator_port=args.arm_port,
        devhost_port=args.host_port,
    )
    try:
        stack.start()
        values = client_env(stack, state_dir)
        env_path = state_dir / "env.sh"
        env_path.write_text(env_file(values) + "\n".join(f"# {line}" for line in az_login_lines()) + "\n")
        print(banner(values, env_path), flush=True)
        while True:
            for process in (stack.emulator_process, stack.devhost_process):
                if process is not None and process.proc is not None and process.proc.poll() is not None:
                    print(f"{process.module} exited ({process.proc.returncode}):\n{process.log_tail(40)}", flush=True)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping the emulator and the devhost (state kept)", flush=True)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(run())
