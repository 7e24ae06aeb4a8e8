"""Event Grid subscription filters, following ``Microsoft.EventGrid/eventSubscriptions`` ``properties.filter``:
includedEventTypes, subjectBeginsWith/EndsWith, isSubjectCaseSensitive, advancedFilters (string operators compare
without case, as Event Grid does; values of a key that is missing never match, except for the *Not* operators)."""

from __future__ import annotations

from typing import Any

OPERATORS = {
    "StringIn",
    "StringNotIn",
    "StringBeginsWith",
    "StringNotBeginsWith",
    "StringEndsWith",
    "StringNotEndsWith",
    "StringContains",
    "StringNotContains",
    "BoolEquals",
    "NumberIn",
    "NumberNotIn",
    "NumberGreaterThan",
    "NumberGreaterThanOrEquals",
    "NumberLessThan",
    "NumberLessThanOrEquals",
    "IsNullOrUndefined",
    "IsNotNull",
}
_MISSING = object()


def validate(filt: dict[str, Any]) -> None:
    for f in filt.get("advancedFilters") or []:
        if f.get("operatorType") not in OPERATORS:
            raise ValueError(f"unsupported advanced filter operatorType {f.get('operatorType')!r}")
        if not f.get("key"):
            raise ValueError("an advanced filter needs a 'key'")


def _lookup(event: dict[str, Any], key: str) -> Any:
    obj: Any = event
    for part in key.split("."):
        if isinstance(obj, dict):
            found = next((v for k, v in obj.items() if k.lower() == part.lower()), _MISSING)
            obj = found
        else:
            return _MISSING
        if obj is _MISSING:
            return _MISSING
    return obj


def _advanced(f: dict[str, Any], event: dict[str, Any]) -> bool:
    op = f["operatorType"]
    value = _lookup(event, f["key"])
    if op == "IsNullOrUndefined":
        return value is _MISSING or value is None
    if op == "IsNotNull":
        return value is not _MISSING and value is not None
    negated = "Not" in op
    if value is _MISSING or value is None:
        return negated
    values = f.get("values") if "values" in f else [f.get("value")]
    if op == "BoolEquals":
        return isinstance(value, bool) and value == f.get("value")
    if op.startswith("Number"):
        try:
            num = float(str(value))
        except (TypeError, ValueError):
            return negated
        nums = [float(str(x)) for x in values or []]
        return {
            "NumberIn": num in nums,
            "NumberNotIn": num not in nums,
            "NumberGreaterThan": num > nums[0],
            "NumberGreaterThanOrEquals": num >= nums[0],
            "NumberLessThan": num < nums[0],
            "NumberLessThanOrEquals": num <= nums[0],
        }[op]
    text = str(value).lower()
    wanted = [str(x).lower() for x in values or []]
    test = {
        "StringIn": lambda: text in wanted,
        "StringNotIn": lambda: text not in wanted,
        "StringBeginsWith": lambda: any(text.startswith(w) for w in wanted),
        "StringNotBeginsWith": lambda: not any(text.startswith(w) for w in wanted),
        "StringEndsWith": lambda: any(text.endswith(w) for w in wanted),
        "StringNotEndsWith": lambda: not any(text.endswith(w) for w in wanted),
        "StringContains": lambda: any(w in text for w in wanted),
        "StringNotContains": lambda: not any(w in text for w in wanted),
    }
    return bool(test[op]())


def matches(filt: dict[str, Any] | None, event: dict[str, Any]) -> bool:
    if not filt:
        return True
    types = filt.get("includedEventTypes")
    if types and event.get("eventType", "").lower() not in {t.lower() for t in types}:
        return False
    subject = event.get("subject", "")
    begins, ends = filt.get("subjectBeginsWith") or "", filt.get("subjectEndsWith") or ""
    if not filt.get("isSubjectCaseSensitive", False):
        subject, begins, ends = subject.lower(), begins.lower(), ends.lower()
    if not subject.startswith(begins) or not subject.endswith(ends):
        return False
    return all(_advanced(f, event) for f in filt.get("advancedFilters") or [])
