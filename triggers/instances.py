"""Every Durable instance matching a query, page by page.

The Python SDK's ``get_status_by`` sends one request, and the extension answers one page of at most 100 instances
(its default page size) with an ``x-ms-continuation-token`` header that the SDK drops
(Azure/azure-functions-durable-python#580). So with more than 100 migrations the list APIs (and the console on
them) missed some. This follows the token on the same endpoint, with the SDK's own URL and status parsing.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import azure.durable_functions as df
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.RpcManagementOptions import RpcManagementOptions

CONTINUATION = "x-ms-continuation-token"
MAX_PAGES = 1000  # 100,000 instances; a token that never ends is a host bug, not a reason to loop forever


async def all_statuses(
    client: df.DurableOrchestrationClient,
    *,
    runtime_status: list[df.OrchestrationRuntimeStatus] | None = None,
    instance_id_prefix: str | None = None,
) -> list[DurableOrchestrationStatus]:
    options = RpcManagementOptions(runtime_status=runtime_status, instance_id_prefix=instance_id_prefix)
    url = options.to_url(client._orchestration_bindings.rpc_base_url)
    found: list[DurableOrchestrationStatus] = []
    token: str | None = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(MAX_PAGES):
            async with session.get(url, headers={CONTINUATION: token} if token else {}) as response:
                if response.status != 200:
                    raise RuntimeError(f"listing instances failed: HTTP {response.status} {await response.text()}")
                page: list[dict[str, Any]] = await response.json(content_type=None) or []
                following = response.headers.get(CONTINUATION)
            found += [DurableOrchestrationStatus.from_json(item) for item in page]
            if not following or following == token:
                return found
            token = following
    raise RuntimeError(f"listing instances did not end after {MAX_PAGES} pages")
