"""Paged lists for the HTTP API: ``?top=`` and ``?continuationToken=`` in, one page and the way on out.

A page follows the host's own pages (``activities.durable_instances``) until it holds ``top`` items; the token to
continue is the host's, handed back as it is and checked before it is handed to the host again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import azure.durable_functions as df
import azure.functions as func

from activities.durable_instances import MAX_PAGE, ListingRefused, instance_page, valid_token
from triggers.problems import json_response, problem

DEFAULT_PAGE = 100


def page_request(
    req: func.HttpRequest, *, token_pattern: str | None = None
) -> tuple[int, str | None, func.HttpResponse | None]:
    """``?top=`` (1..1000, default 100) and ``?continuationToken=`` of a list request, or a 400 problem. The token is
    the host's (checked by :func:`valid_token`) unless ``token_pattern`` says what this API's own tokens look like."""
    top_text = req.params.get("top")
    top = DEFAULT_PAGE
    if top_text is not None:
        if not re.fullmatch(r"[0-9]{1,4}", top_text) or not 1 <= int(top_text) <= MAX_PAGE:
            return 0, None, problem(400, "Invalid Page Size", f"top must be a whole number from 1 to {MAX_PAGE}")
        top = int(top_text)
    token = req.params.get("continuationToken") or None
    if token is not None and not (valid_token(token) if token_pattern is None else re.fullmatch(token_pattern, token)):
        return 0, None, problem(400, "Invalid Continuation Token", "continuationToken is not one this API returned")
    return top, token, None


async def listed(
    req: func.HttpRequest,
    client: df.DurableOrchestrationClient,
    *,
    prefix: str,
    runtime_statuses: list[str],
    keep: Callable[[Any], bool] | None = None,
) -> tuple[list[df.DurableOrchestrationStatus], str | None, func.HttpResponse | None]:
    """Up to ``top`` instances (those ``keep`` accepts), following the host's pages, and the token to continue
    with (None at the end): a list is never cut short without saying so."""
    top, token, error = page_request(req)
    if error is not None:
        return [], None, error
    found: list[df.DurableOrchestrationStatus] = []
    try:
        while len(found) < top:
            page = await instance_page(
                client, prefix=prefix, runtime_statuses=runtime_statuses, top=top - len(found), continuation=token
            )
            found += [s for s in page.statuses if keep is None or keep(s)]
            token = page.continuation
            if token is None:
                break
    except ListingRefused:
        if not req.params.get("continuationToken"):
            raise
        return [], None, problem(400, "Invalid Continuation Token", "continuationToken is not one this API returned")
    return found, token, None


def list_document(req: func.HttpRequest, items: list[dict[str, Any]], token: str | None) -> func.HttpResponse:
    """``{"value", "count", "continuationToken", "nextLink"}``: items newest first within the page."""
    items.sort(key=lambda item: str(item.get("createdTime") or ""), reverse=True)
    document: dict[str, Any] = {"value": items, "count": len(items), "continuationToken": token}
    if token is not None:
        document["nextLink"] = next_link(req, token)
    return json_response(document)


def next_link(req: func.HttpRequest, token: str) -> str:
    """This request's URL with ``continuationToken`` set to ``token`` (keys never go in links)."""
    query = {k: v for k, v in req.params.items() if k not in ("code", "continuationToken")}
    return req.url.split("?", 1)[0] + "?" + urlencode({**query, "continuationToken": token})
