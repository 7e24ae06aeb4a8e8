"""The one place that builds Azure SDK clients: credential, ARM endpoint, retry policy, error translation.

Every activity gets its clients from here, so the same code reaches Azure or the local emulator depending
only on app settings (``ARM_ENDPOINT``, ``AZURE_CLOUD``; ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` come from
the platform). Clients and the credential are cached per process: token acquisition and connection pools are
reused across activity invocations.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from migration.errors import ArmRequestFailed, MigrationError, PermissionDenied, TagLimitReached, TransientArmError
from migration.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


@functools.cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


@functools.cache
def credential() -> TokenCredential:
    client_id = settings().azure_client_id or None
    # Only the managed identity is used for ARM (locally the emulator serves the same managed-identity protocol):
    # developer and environment credentials are excluded so a stray secret in app settings is never picked up.
    # Every flag is explicit: explicit flags win over AZURE_TOKEN_CREDENTIALS (azure-identity's
    # process_credential_exclusions), and the broker credential (WAM's signed-in account) is in the chain by default.
    return DefaultAzureCredential(
        managed_identity_client_id=client_id,
        exclude_managed_identity_credential=False,
        exclude_broker_credential=True,
        exclude_interactive_browser_credential=True,
        exclude_environment_credential=True,
        exclude_workload_identity_credential=True,
        exclude_shared_token_cache_credential=True,
        exclude_cli_credential=True,
        exclude_developer_cli_credential=True,
        exclude_powershell_credential=True,
        exclude_visual_studio_code_credential=True,
    )


@functools.cache
def own_identity() -> frozenset[str]:
    """The app identity's object ID and client ID (lower case), to recognise its own writes in Event Grid events.

    Read from the claims of its own ARM access token (``oid``, ``appid``/``azp``), so a system-assigned identity,
    whose IDs no setting names, is recognised too. The token comes from the platform's identity endpoint and is
    only decoded, not verified: nothing here is trusted from a third party."""
    ids = {settings().azure_client_id}
    token = credential().get_token(settings().arm_scope).token
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        ids |= {str(claims.get(name) or "") for name in ("oid", "appid", "azp")}
    except (IndexError, ValueError, AttributeError):
        logger.warning("the managed identity's token is not a JWT: only AZURE_CLIENT_ID identifies the app's writes")
    return frozenset(i.lower() for i in ids if i)


def _client_kwargs() -> dict[str, object]:
    cfg = settings()
    return {
        "base_url": cfg.resolved_arm_endpoint,
        "credential_scopes": [cfg.arm_scope],
        "retry_total": cfg.arm_retry_total,
        "retry_backoff_factor": cfg.arm_retry_backoff_seconds,
        "retry_backoff_max": cfg.arm_retry_backoff_max_seconds,
        "polling_interval": 5,
    }


@functools.cache
def compute(subscription_id: str) -> ComputeManagementClient:
    return ComputeManagementClient(credential(), subscription_id, **_client_kwargs())  # type: ignore[arg-type]


@functools.cache
def resources(subscription_id: str) -> ResourceManagementClient:
    return ResourceManagementClient(credential(), subscription_id, **_client_kwargs())  # type: ignore[arg-type]


def arm_error_code(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", "") or "")


@contextmanager
def arm_errors(doing: str) -> Iterator[None]:
    """Translate Azure SDK errors into domain errors, naming what we were doing.

    404s pass through untouched (callers decide whether absence is fine); 403 becomes PermissionDenied (ARM's
    message names the missing action); throttling/5xx/connection problems that outlived the SDK's own retries
    become TransientArmError (the orchestrator retries those with durable timers); anything else is final.
    """
    try:
        yield
    except (ResourceNotFoundError, MigrationError):
        raise
    except ClientAuthenticationError as exc:
        raise PermissionDenied(f"{doing}: authentication failed: {exc.message}") from exc
    except HttpResponseError as exc:
        status = exc.status_code or 0
        code = arm_error_code(exc)
        message = f"{doing}: {code or status}: {_clean(exc)}"
        if status == 403 or code in ("AuthorizationFailed", "LinkedAuthorizationFailed"):
            raise PermissionDenied(message) from exc
        if code == "TooManyTags":
            raise TagLimitReached(message) from exc
        if status in TRANSIENT_STATUS:
            raise TransientArmError(message) from exc
        raise ArmRequestFailed(message) from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise TransientArmError(f"{doing}: {type(exc).__name__}: {exc}") from exc


def _clean(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    text = str(getattr(error, "message", "") or exc.message or exc.reason or "")
    return " ".join(text.split())[:500]


def wait_for(read: Callable[[], T], done: Callable[[T], bool], *, what: str, timeout: float = 300.0) -> T:
    """Poll the resource itself until ``done`` (a short write's completion: a definition, a PATCH, a delete).

    Deliberately not the SDK poller: that follows the operation-status URL
    (``/subscriptions/{id}/providers/Microsoft.Compute/locations/{loc}/...``), which ARM authorizes at subscription
    scope, so a role assigned on resource groups only would get 403 on the poll after the write succeeded. Reading
    the resource needs nothing beyond the read action the app already has."""
    deadline = time.monotonic() + timeout
    interval = 1.0
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TransientArmError(f"{what} did not finish within {timeout:.0f} s")
        time.sleep(interval)
        interval = min(interval * 2, 10.0)
