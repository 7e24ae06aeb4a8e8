"""The whole product running locally: the ARM emulator, the devhost serving ``function_app.py``, wired together.

One composition root for the demo, the end-to-end tests and the benchmarks, so all three run the same thing:

1. start the emulator (HTTPS, managed identity, optional seed/config/role);
2. write the devhost's ``local.settings.json`` pointing the app at it (ARM endpoint, identity endpoint and
   header, CA bundle) plus any setting overrides;
3. start the devhost (its virtual clock synced to the emulator's);
4. subscribe the app's Event Grid trigger to the emulator's events (with a filter, e.g. the deployment
   template's).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from azure.core.credentials import AccessToken, TokenCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from devhost.client import DevhostClient
from emulator.control import EmulatorControl
from emulator.identity import principal_id_for
from localrun.processes import REPO_ROOT, ServerProcess

DEMO_SEED = REPO_ROOT / "emulator" / "seeds" / "demo.json"
EVENT_FUNCTION = "on_image_tagged"
APP_CLIENT_ID = "00000000-0000-0000-0000-00000000a99a"  # the app's (user-assigned) managed identity
USER_CLIENT_ID = "00000000-0000-0000-0000-00000000b0b0"  # a platform engineer, for the demo's own ARM calls
# The platform engineer may have tag-started migrations delete their source (ALLOWED_TAG_PRINCIPALS), as a real
# deployment would list its image owners; tests override it to act as other principals.
USER_PRINCIPAL_ID = principal_id_for(USER_CLIENT_ID)
# The app's process-wide cache, emptied by the devhost's reset so tests sharing one host do not share lookups.
RESET_HOOK = "activities.lookups:forget_gallery_lookups"


class IdentityEndpointCredential:
    """``TokenCredential`` over the App Service managed-identity protocol (api-version 2019-08-01)."""

    def __init__(self, endpoint: str, header: str, ca_bundle: str, client_id: str) -> None:
        self.endpoint, self.header, self.ca_bundle, self.client_id = endpoint, header, ca_bundle, client_id
        self._cached: dict[str, AccessToken] = {}

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        resource = scopes[0].removesuffix("/.default")
        token = self._cached.get(resource)
        if token is not None and token.expires_on > time.time() + 300:
            return token
        response = requests.get(
            self.endpoint,
            params={"api-version": "2019-08-01", "resource": resource, "client_id": self.client_id},
            headers={"X-IDENTITY-HEADER": self.header},
            verify=self.ca_bundle,
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        token = AccessToken(body["access_token"], int(body["expires_on"]))
        self._cached[resource] = token
        return token


class LocalStack:
    def __init__(
        self,
        *,
        clock: str = "virtual",
        seed: Path | None = DEMO_SEED,
        emulator_profile: str = "azure",
        emulator_config: Mapping[str, Any] | None = None,
        settings: Mapping[str, str] | None = None,
        event_filter: Mapping[str, Any] | None = None,
        state_dir: Path | None = None,
        emulator_args: list[str] | None = None,
        devhost_args: list[str] | None = None,
        subscribe_events: bool = True,
        persist_emulator: bool = True,
        emulator_port: int = 0,
        devhost_port: int = 0,
        reset_hooks: tuple[str, ...] = (RESET_HOOK,),
    ) -> None:
        self.clock = clock
        self.seed = seed
        # "azure": Azure's headers and timings (the emulator's default); "fast": see emulator/settings.PROFILES
        self.emulator_profile = emulator_profile
        self.emulator_config = dict(emulator_config or {})
        self.settings = dict(settings or {})
        self.event_filter = dict(event_filter or {})
        self._own_dir = state_dir is None
        self.dir = state_dir or Path(tempfile.mkdtemp(prefix="localstack-"))
        self.emulator_args = list(emulator_args or [])
        self.devhost_args = list(devhost_args or [])
        # () for an app that has none (a benchmark running an older commit of the app)
        self.reset_hooks = reset_hooks
        self.subscribe_events = subscribe_events
        # In memory, the emulator does not write its state file (benchmarks; restarts then lose ARM state).
        self.persist_emulator = persist_emulator
        self.emulator_port, self.devhost_port = emulator_port, devhost_port  # 0: any free port
        self.emulator_process: ServerProcess | None = None
        self.devhost_process: ServerProcess | None = None
        self.arm: EmulatorControl
        self.host: DevhostClient

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.start_emulator()
        self.start_devhost()
        if self.subscribe_events:
            self.subscribe()
        return self

    def start_emulator(self) -> None:
        where = (
            ["--state", str(self.dir / "emulator")]
            if self.persist_emulator
            else ["--in-memory", "--certs-dir", str(self.dir / "certs")]
        )
        args = ["--port", str(self.emulator_port), "--clock", self.clock, "--profile", self.emulator_profile, *where]
        args += self.emulator_args
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        if self.emulator_config:
            config_file = self.dir / "emulator-config.json"
            config_file.write_text(json.dumps(self.emulator_config))
            args += ["--config", str(config_file)]
        self.emulator_process = ServerProcess("emulator", args, log_path=self.dir / "emulator.log").start()
        self.arm = EmulatorControl(self.emulator_process.info)

    def app_settings(self) -> dict[str, str]:
        info = self.arm.info
        values = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "ARM_ENDPOINT": str(info["armEndpoint"]),
            "AZURE_CLIENT_ID": APP_CLIENT_ID,
            "ALLOWED_TAG_PRINCIPALS": USER_PRINCIPAL_ID,
            **self.arm.client_env(),
        }
        values.update(self.settings)
        return values

    def start_devhost(self, *, hold_clock: bool = False) -> None:
        settings_file = self.dir / "local.settings.json"
        settings_file.write_text(json.dumps({"IsEncrypted": False, "Values": self.app_settings()}, indent=2))
        args = [
            "--app",
            str(REPO_ROOT),
            "--port",
            str(self.devhost_port),
            "--state",
            str(self.dir / "devhost"),
            "--settings",
            str(settings_file),
            "--clock",
            self.clock,
            "--control-endpoints",  # the stack's users (demo, tests, benchmarks) read stats and move the clock
            *(arg for hook in self.reset_hooks for arg in ("--reset-hook", hook)),  # a reset also empties caches
            *(["--clock-sync", str(self.arm.info["controlUrl"])] if self.clock == "virtual" else []),
            *(["--hold-clock"] if hold_clock else []),
            *self.devhost_args,
        ]
        self.devhost_process = ServerProcess(
            "devhost", args, log_path=self.dir / "devhost.log", env=self.arm.client_env()
        ).start()
        self.host = DevhostClient(self.devhost_process.info)

    def restart_devhost(self, *, crash: bool = True, hold_clock: bool = False) -> None:
        """Kill -9 (or stop) the devhost and start it again on the same durable state (``hold_clock``: with virtual
        time held from the start, so no timer can fire before the caller is ready)."""
        assert self.devhost_process is not None
        if crash:
            self.devhost_process.kill()
        else:
            self.devhost_process.stop()
        self.start_devhost(hold_clock=hold_clock)
        if self.subscribe_events:
            self.subscribe()  # the webhook moved with the new port

    def restart_emulator(self, *, crash: bool = False) -> None:
        """Stop (or kill -9) the emulator and start it again on the same state and the same port, so the app's
        ARM endpoint and the devhost's clock sync stay valid."""
        process = self.emulator_process
        assert process is not None
        port = str(self.arm.info["armEndpoint"]).rsplit(":", 1)[1]
        if crash:
            process.kill()
        else:
            process.stop()
        process.args[process.args.index("--port") + 1] = port
        process.start()
        self.arm = EmulatorControl(process.info)

    def event_webhook(self) -> str:
        info = self.host.info
        return f"{info['baseUrl']}/runtime/webhooks/eventgrid?functionName={EVENT_FUNCTION}&code={info['eventGridKey']}"

    def subscribe(self) -> dict[str, Any]:
        return self.arm.subscribe(self.event_webhook(), filter=self.event_filter, name="image-migration")

    def stop(self) -> None:
        for process in (self.devhost_process, self.emulator_process):
            if process is not None:
                process.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- a user's view of ARM -------------------------------------------------------------------------------
    def user_credential(self, client_id: str = USER_CLIENT_ID) -> TokenCredential:
        """A user's credential (the platform engineer by default): tokens from the emulator's identity endpoint for
        another client ID, whose principal is ``emulator.identity.principal_id_for(client_id)``.

        Built on the same App Service protocol the app's ``DefaultAzureCredential`` uses, but without reading the
        process environment, so tests can talk to several emulators (each with its own CA) side by side."""
        info = self.arm.info
        return IdentityEndpointCredential(
            str(info["identityEndpoint"]), str(info["identityHeader"]), str(info["caBundle"]), client_id
        )

    def compute(self, subscription_id: str, client_id: str = USER_CLIENT_ID) -> ComputeManagementClient:
        return ComputeManagementClient(
            self.user_credential(client_id),
            subscription_id,
            base_url=str(self.arm.info["armEndpoint"]),
            connection_verify=str(self.arm.info["caBundle"]),
        )

    def resources(self, subscription_id: str, client_id: str = USER_CLIENT_ID) -> ResourceManagementClient:
        return ResourceManagementClient(
            self.user_credential(client_id),
            subscription_id,
            base_url=str(self.arm.info["armEndpoint"]),
            connection_verify=str(self.arm.info["caBundle"]),
        )

    def logs(self) -> str:
        parts = []
        for process in (self.emulator_process, self.devhost_process):
            if process is not None:
                parts.append(f"--- {process.module} ---\n{process.log_tail(80)}")
        return "\n".join(parts)
