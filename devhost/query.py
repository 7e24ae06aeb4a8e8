"""Query-string parsing with the extension's (.NET) semantics: lenient, an unparsable value means "absent"."""

from __future__ import annotations

from devhost import history as h
from devhost.history import OrchestrationStatus


def parse_bool(value: str | None, default: bool) -> bool:
    """.NET ``bool.TryParse``: true/false in any case, anything else means the default."""
    if value is None:
        return default
    text = value.strip().lower()
    return {"true": True, "false": False}.get(text, default)


def parse_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def parse_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def parse_time(value: str | None) -> str | None:
    """A client time filter in the stored (sortable) format, or None when absent or unparsable."""
    if not value:
        return None
    try:
        return h.format_timestamp(h.parse_timestamp(value))
    except ValueError:
        return None


def parse_statuses(values: list[str]) -> list[str]:
    """``runtimeStatus`` filters: comma lists of enum names (or numbers); unknown names are ignored."""
    out: list[str] = []
    for value in values:
        for item in value.split(","):
            name = item.strip()
            if name.isdigit() and int(name) in OrchestrationStatus._value2member_map_:
                out.append(OrchestrationStatus(int(name)).name)
            elif name in OrchestrationStatus.__members__:
                out.append(name)
    return out
