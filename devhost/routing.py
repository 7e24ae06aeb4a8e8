"""HTTP trigger route templates (ASP.NET Core syntax, as Functions uses): literals, ``{name}``, ``{name?}``,
``{name:constraint}``, ``{name=default}`` and catch-all ``{*name}``; literals match case-insensitively and the
most specific template wins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
    "alpha": r"[A-Za-z]+",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
}
_PARAM = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\?)?(?:=([^}]*))?\}$")


@dataclass(frozen=True)
class Route:
    template: str
    regex: re.Pattern[str]
    literals: int
    params: int
    catch_all: bool
    defaults: tuple[tuple[str, str], ...]
    target: Any
    methods: frozenset[str]  # empty = every method

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path)
        if found is None:
            return None
        values = dict(self.defaults)
        values.update({k: v for k, v in found.groupdict().items() if v is not None})
        return values


def compile_route(template: str, target: Any, methods: list[str] | None) -> Route:
    segments = [s for s in template.strip("/").split("/") if s]
    pattern, literals, params, catch_all, defaults = "", 0, 0, False, []
    for segment in segments:
        param = _PARAM.match(segment)
        if param is None:
            pattern += "/" + re.escape(segment)
            literals += 1
            continue
        star, name, constraint, optional, default = param.groups()
        params += 1
        if default is not None:
            defaults.append((name, default))
        if star:
            catch_all = True
            pattern += f"(?:/(?P<{name}>.*))?"
            continue
        body = _CONSTRAINTS.get((constraint or "").lower(), r"[^/]+")
        piece = f"/(?P<{name}>{body})"
        pattern += f"(?:{piece})?" if optional or default is not None else piece
    regex = re.compile(f"^{pattern}/?$", re.IGNORECASE)
    verbs = frozenset(m.upper() for m in methods or [])
    return Route(template, regex, literals, params, catch_all, tuple(defaults), target, verbs)


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, template: str, target: Any, methods: list[str] | None) -> None:
        self.routes.append(compile_route(template, target, methods))
        self.routes.sort(key=lambda r: (r.catch_all, -r.literals, r.params))

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.methods and method.upper() not in route.methods:
                continue
            values = route.match(path)
            if values is not None:
                return route, values
        return None
