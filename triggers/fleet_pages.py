"""A batch's report and a plan's rows, one page at a time, read from where they are kept (``migration.inventory``,
``migration.batch``, ``orchestrators/plan_migrations.py``).

A page is ``top`` rows of the inventory, in image-ID order; its ``continuationToken`` is the offset of the next row.

- Batch report: the header from the batch (its output once it ended, else its input and custom status), the rows
  from the inventory and the outputs of the items of that slice, read with at most two instance queries (items are
  numbered in blocks of 1,000 that share an ID prefix). Readable while the batch runs: an image whose migration
  has not ended is ``queued`` or ``running``.
- Plan: the header is the plan's output; the rows of planned images are in the outputs of the ``plan_chunk``
  instances of that slice (100 images each).

Either way a page costs the same at row 10 and at row 9,990.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import azure.durable_functions as df

from activities.durable_instances import MAX_PAGE, instance_page
from migration.batch import ITEM_BLOCK, BatchLedger, item_block_prefix, report_header, report_rows
from migration.forecast import PLAN_CHUNK, chunk_instance_id, left_out_row
from migration.inventory import inventory_instance_id
from migration.status import ACTIVE_RUNTIME_STATUSES
from triggers.http_api import decoded


class ReportNotReady(Exception):
    """The batch is still listing its images: there is nothing to report yet."""


@dataclass(frozen=True)
class ReportPage:
    header: dict[str, Any]
    rows: list[dict[str, Any]]
    offset: int
    next_offset: int | None


def _runtime(status: df.DurableOrchestrationStatus) -> str:
    return status.runtime_status.name if status.runtime_status else "Unknown"


async def header_of(client: df.DurableOrchestrationClient, status: df.DurableOrchestrationStatus) -> dict[str, Any]:
    """The report header; :class:`ReportNotReady` while the batch lists its images."""
    runtime = _runtime(status)
    output = decoded(status.output)
    if runtime == "Completed" and isinstance(output, dict):
        return output
    batch_id = str(status.instance_id)
    with_input = await client.get_status(batch_id, show_input=True)
    data = decoded(with_input.input_) if with_input else None
    if not isinstance(data, dict) or "ledger" not in data:
        if runtime in ACTIVE_RUNTIME_STATUSES:
            raise ReportNotReady(batch_id)
        error = {"code": f"Orchestration{runtime}", "message": str(output or runtime)[:2000]}
        return {"id": batch_id, "status": "failed", "counts": {}, "started": 0, "error": error}
    ledger = BatchLedger.model_validate(data["ledger"])
    custom = decoded(status.custom_status)
    if isinstance(custom, dict) and custom.get("batchId") == batch_id:  # fresher than the input within a round
        ledger.state = str(custom.get("state") or ledger.state)
    header = report_header(batch_id, data, ledger, finished_at=None)
    if isinstance(custom, dict):
        for key in ("counts", "finishedByPhase", "started"):
            if key in custom:
                header[key] = custom[key]
    if runtime not in ACTIVE_RUNTIME_STATUSES:  # the batch orchestration itself failed or was terminated
        header["status"] = "failed"
        header["error"] = {"code": f"Orchestration{runtime}", "message": str(output or runtime)[:2000]}
    return header


async def _entries(client: df.DurableOrchestrationClient, fleet_id: str) -> list[dict[str, Any]]:
    status = await client.get_status(inventory_instance_id(fleet_id))
    inventory = decoded(status.output) if status and status.runtime_status else None
    return list(inventory.get("entries") or []) if isinstance(inventory, dict) else []


async def _items(client: df.DurableOrchestrationClient, batch_id: str, qs: list[int]) -> dict[int, dict[str, Any]]:
    """The Durable status of the items ``qs`` (those that exist), by ``q``."""
    found: dict[int, dict[str, Any]] = {}
    for block in sorted({q // ITEM_BLOCK for q in qs}):
        token: str | None = None
        while True:
            page = await instance_page(
                client, prefix=item_block_prefix(batch_id, block), top=MAX_PAGE, continuation=token
            )
            for status in page.statuses:
                q = int(str(status.instance_id).rsplit("-", 1)[1])
                found[q] = {
                    "runtimeStatus": _runtime(status),
                    "output": decoded(status.output),
                    "customStatus": decoded(status.custom_status),
                }
            token = page.continuation
            if token is None:
                break
    return found


async def report_page(
    client: df.DurableOrchestrationClient, status: df.DurableOrchestrationStatus, *, offset: int, top: int
) -> ReportPage:
    """Rows ``offset`` to ``offset + top`` of the report; ``ValueError`` when ``offset`` is past its end."""
    header = await header_of(client, status)
    batch_id = str(status.instance_id)
    entries = await _entries(client, batch_id)
    if offset > len(entries):
        raise ValueError(f"offset {offset} is past the report's {len(entries)} rows")
    page = entries[offset : offset + top]
    items = await _items(client, batch_id, [int(e["q"]) for e in page if "q" in e])
    ended = None if _runtime(status) in ACTIVE_RUNTIME_STATUSES else str(header.get("status"))
    rows = report_rows(page, items, started=int(header.get("started") or 0), ended=ended)
    following = offset + len(page)
    return ReportPage(header, rows, offset, following if following < len(entries) else None)


async def plan_page(
    client: df.DurableOrchestrationClient, plan_id: str, *, offset: int, top: int
) -> tuple[list[dict[str, Any]], int | None]:
    """Rows ``offset`` to ``offset + top`` of a completed plan and the offset of the next page (None at the end);
    ``ValueError`` when ``offset`` is past its end."""
    entries = await _entries(client, plan_id)
    if offset > len(entries):
        raise ValueError(f"offset {offset} is past the plan's {len(entries)} rows")
    page = entries[offset : offset + top]
    chunks: dict[int, list[Any]] = {}
    for chunk in sorted({int(e["q"]) // PLAN_CHUNK for e in page if "q" in e}):
        status = await client.get_status(chunk_instance_id(plan_id, chunk))
        output = decoded(status.output) if status else None
        chunks[chunk] = list(output.get("rows") or []) if isinstance(output, dict) else []
    rows = []
    for entry in page:
        if "q" not in entry:
            rows.append(left_out_row(entry).model_dump(mode="json", by_alias=True))
            continue
        planned = chunks.get(int(entry["q"]) // PLAN_CHUNK) or []
        index = int(entry["q"]) % PLAN_CHUNK
        rows.append(
            planned[index]
            if index < len(planned)
            else left_out_row(_unplanned(entry)).model_dump(mode="json", by_alias=True)
        )
    following = offset + len(page)
    return rows, following if following < len(entries) else None


def _unplanned(entry: dict[str, Any]) -> dict[str, Any]:
    """An image the plan did not reach (it failed before): reported as failed, saying so."""
    message = "not planned: the plan ended before reaching this image"
    return {**entry, "error": {"code": "NotPlanned", "message": message}}
