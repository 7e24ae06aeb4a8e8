"""Problem details (RFC 9457) responses: every client error says what is wrong, in JSON."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

PROBLEM_TYPE = "https://github.com/image-gallery-migrator/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> func.HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/problem+json", headers=headers)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json", headers=headers)
