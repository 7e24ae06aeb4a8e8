"""Limits the real host enforces while it replays an orchestrator's reply; each breach fails the orchestration
with the host's own text (``Orchestrator function '<name>' failed: <text>``), as on Azure.

Sources (Azure/azure-functions-durable-extension, ``src/WebJobs.Extensions.DurableTask/``):

- custom status: ``OutOfProcOrchestrationShim.ScheduleDurableTaskEvents`` calls ``SetCustomStatus`` before it
  replays the actions; ``DurableOrchestrationContext.SetCustomStatus`` serializes with
  ``MessagePayloadDataConverter.Serialize(value, 16)``, which throws ``ArgumentException`` when the compact JSON is
  over 16 KB counted in UTF-16 (``(int)(Encoding.Unicode.GetByteCount(json) / 1024.0) > 16``). The status keeps
  its previous value.
- timers: for replies in schema V1/V2, ``InvokeAPIFromAction`` calls ``ThrowIfInvalidTimerLengthForStorageProvider``:
  Azure Storage allows at most 6 days (``AzureStorageDurabilityProvider.MaximumDelayTime``,
  ``ValidateDelayTime``). V3 replies are split by the SDK (the devhost sends the durations that enable it).
- retry options: ``CallDurableTaskFunctionAsync`` validates ``FirstRetryInterval`` and ``MaxRetryInterval`` against
  the same 6 days.
- sub-orchestration instance IDs: ``CallDurableTaskFunctionAsync`` refuses one that starts with ``@`` (entity IDs).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

CUSTOM_STATUS_MAX_KB = 16
MAX_DELAY = timedelta(days=6)
SCHEMA_V3 = 2  # the reply's ``schemaVersion`` for V3


def custom_status_error(value: Any) -> str | None:
    """The host's refusal of a custom status over 16 KB (UTF-16), or None."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    size_kb = int(len(text.encode("utf-16-le")) / 1024.0)
    if size_kb <= CUSTOM_STATUS_MAX_KB:
        return None
    return (
        f"The UTF-16 size of the JSON-serialized payload must not exceed {CUSTOM_STATUS_MAX_KB} KB. "
        f"The current payload size is {size_kb:,} KB."
    )


def _delay_error(parameter: str) -> str:
    days = f"{MAX_DELAY.total_seconds() / 86400:g}"
    return (
        f"The Azure Storage provider supports a maximum of {days} days for time-based delays (Parameter '{parameter}')"
    )


def timer_error(fire_at: datetime, now: datetime, schema: int | None) -> str | None:
    """A V1/V2 timer further away than Azure Storage allows, or None."""
    if (schema or 0) >= SCHEMA_V3 or fire_at - now <= MAX_DELAY:
        return None
    return _delay_error("fireAt")


def retry_error(options: dict[str, Any] | None) -> str | None:
    """Retry intervals longer than Azure Storage allows, or None."""
    for key, parameter in (
        ("maxRetryIntervalInMilliseconds", "MaxRetryInterval"),
        ("firstRetryIntervalInMilliseconds", "FirstRetryInterval"),
    ):
        value = (options or {}).get(key)
        if value is not None and timedelta(milliseconds=int(value)) > MAX_DELAY:
            return _delay_error(parameter)
    return None


def sub_orchestration_id_error(instance_id: str | None) -> str | None:
    if instance_id is not None and instance_id.startswith("@"):
        return "instanceId (Parameter 'Orchestration instance ids must not start with @')"
    return None
