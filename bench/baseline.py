"""The reference a user would otherwise pick: the Azure SDK's long-running-operation poller.

``ComputeManagementClient(...).gallery_image_versions.begin_create_or_update(...).result()`` is what
``az sig image-version create`` and ``New-AzGalleryImageVersion`` wait with: poll the operation at the service's
``Retry-After``, or at the client's ``polling_interval`` (30 s in azure-mgmt-compute) when there is none, for the
whole replication. It runs unmodified here; only its transport's ``sleep()`` is replaced, so that each wait the
poller chooses passes on the emulator's virtual clock instead of the wall clock (a 6-hour wait takes seconds).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.compute import ComputeManagementClient

from emulator.control import EmulatorControl
from localrun.stack import LocalStack

logger = logging.getLogger(__name__)


class VirtualSleepTransport(RequestsTransport):
    """A requests transport whose ``sleep`` advances the emulator's virtual clock by the same duration."""

    def __init__(self, control: EmulatorControl, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.control = control
        self.sleeps: list[float] = []

    def sleep(self, duration: float) -> None:
        self.sleeps.append(duration)
        if duration > 0:
            self.control.advance(duration)


@dataclass(frozen=True)
class BaselineCase:
    """One way the SDK poller decides how long to wait between polls."""

    name: str
    polling_interval: float | None  # None: the client's default (30 s in azure-mgmt-compute)
    description: str


# Azure's gallery service answers its long-running operations without Retry-After (recorded traffic in
# azure-cli's test recordings: Azure-AsyncOperation, no Retry-After), so the SDK polls at its default interval.
# A poller told to be twice as patient shows how the ratio moves when the reference polls less.
BASELINE_CASES = (
    BaselineCase("sdk-default", None, "no Retry-After: the client's default polling_interval (30 s)"),
    BaselineCase("interval-60s", 60.0, "polling_interval=60 (a poller twice as patient as the default)"),
)


@dataclass
class BaselineRun:
    case: BaselineCase
    version_id: str
    first_seq: int  # requests of this run have seq > first_seq
    sleeps: list[float] = field(default_factory=list)


def sdk_client(stack: LocalStack, subscription_id: str, transport: VirtualSleepTransport) -> ComputeManagementClient:
    """The same client a platform engineer's script builds, pointed at the emulator; polling_interval left default."""
    return ComputeManagementClient(
        stack.user_credential(), subscription_id, base_url=str(stack.arm.info["armEndpoint"]), transport=transport
    )


def wait_with_sdk_poller(
    stack: LocalStack, case: BaselineCase, *, subscription_id: str, version_id: str, body: dict[str, Any]
) -> BaselineRun:
    """Create the version and block in ``.result()`` until the SDK poller sees it finished.

    The emulator sends no Retry-After (its default, as Azure's gallery service sends none), so the poller's own
    interval decides every wait."""
    transport = VirtualSleepTransport(stack.arm, connection_verify=str(stack.arm.info["caBundle"]))
    client = sdk_client(stack, subscription_id, transport)
    parts = version_id.strip("/").split("/")
    group, gallery, definition, version = parts[3], parts[7], parts[9], parts[11]
    first_seq = int(stack.arm.request_summary()["lastSeq"])
    options = {} if case.polling_interval is None else {"polling_interval": case.polling_interval}
    try:
        versions: Any = client.gallery_image_versions  # ARM JSON body, as the activities send it
        versions.begin_create_or_update(group, gallery, definition, version, body, **options).result()
    finally:
        client.close()
    logger.info("SDK poller (%s) finished %s after %d sleeps", case.name, version_id, len(transport.sleeps))
    return BaselineRun(case=case, version_id=version_id, first_seq=first_seq, sleeps=transport.sleeps)
