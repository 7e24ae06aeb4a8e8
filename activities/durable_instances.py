"""Listing Durable instances page by page, for the HTTP API and the fleet activities.

The Python SDK's ``get_status_by`` reads one page of the Durable HTTP API's instance query and drops the
``x-ms-continuation-token`` header that says more exist (azure-functions-durable 1.7.0), so every list built on
it silently stopped at the host's default page of 100. Here the same query (``GET {rpcBaseUrl}instances/`` with
``instanceIdPrefix``, ``runtimeStatus``, ``top``; Durable Functions HTTP API, "Get all instances status") is
followed through its continuation tokens, or handed back one page at a time with the token to continue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

CONTINUATION_HEADER = "x-ms-continuation-token"
MAX_PAGE = 1000
# What may travel back to the host in a header: printable ASCII, bounded (tokens are base64 or JSON text).
_TOKEN_RE = re.compile(r"[\x21-\x7e]{1,4096}")
_NO_TOKEN = ("", "null")  # some backends send the literal "null" on the last page


class ListingRefused(Exception):
    """The host refused the query (for example a continuation token it did not issue)."""


@dataclass(frozen=True)
class InstancePage:
    statuses: list[DurableOrchestrationStatus]
    continuation: str | None  # None: this was the last page


def valid_token(token: str) -> bool:
    return bool(_TOKEN_RE.fullmatch(token))


async def instance_page(
    client: df.DurableOrchestrationClient,
    *,
    prefix: str,
    runtime_statuses: Iterable[str] = (),
    top: int = 100,
    continuation: str | None = None,
) -> InstancePage:
    """One page (at most ``top``) of the instances whose ID starts with ``prefix``, inputs left out."""
    base = client._orchestration_bindings.rpc_base_url  # the SDK's own base URL for this query
    if not base:
        raise ListingRefused("the durable client binding has no rpcBaseUrl")
    query = {"instanceIdPrefix": prefix, "top": str(max(1, min(top, MAX_PAGE))), "showInput": "false"}
    statuses = ",".join(runtime_statuses)
    if statuses:
        query["runtimeStatus"] = statuses
    headers = {CONTINUATION_HEADER: continuation} if continuation else {}
    if continuation and not valid_token(continuation):
        raise ListingRefused("the continuation token has characters a token never has")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}instances/?{urlencode(query)}", headers=headers) as response,
    ):
        if response.status != 200:
            raise ListingRefused(f"the instance query answered {response.status}: {(await response.text())[:200]}")
        body = await response.json(content_type=None)
        token = response.headers.get(CONTINUATION_HEADER, "")
    items = [DurableOrchestrationStatus.from_json(item) for item in body or []]
    return InstancePage(items, None if token in _NO_TOKEN else token)


async def all_instances(
    client: df.DurableOrchestrationClient, *, prefix: str, runtime_statuses: Iterable[str] = ()
) -> list[DurableOrchestrationStatus]:
    """Every matching instance, all pages."""
    wanted = list(runtime_statuses)
    found: list[DurableOrchestrationStatus] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = await instance_page(client, prefix=prefix, runtime_statuses=wanted, top=MAX_PAGE, continuation=token)
        found += page.statuses
        if page.continuation is None:
            return found
        if page.continuation in seen:  # never stop silently: a list that ends early is the bug this module fixes
            raise ListingRefused("the instance query handed out the same continuation token twice")
        seen.add(page.continuation)
        token = page.continuation
