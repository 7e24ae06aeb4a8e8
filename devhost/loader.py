"""Load ``function_app.py`` the way the Python worker does for the v2 programming model (contract §6.1).

Import the script (``PYTHON_SCRIPT_FILE_NAME`` overrides the name), find the single ``FunctionRegister`` (a
``DFApp`` is one), call ``get_functions()`` exactly once, and index what it returns: HTTP routes, Event Grid
functions, orchestrators, activities and entities by their Durable names (binding ``orchestration``/``activity``/
``entityName`` value, else the function name; matched case-insensitively like the extension).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from azure.functions import FunctionRegister

SCRIPT_SETTING = "PYTHON_SCRIPT_FILE_NAME"
DEFAULT_SCRIPT = "function_app.py"


class FunctionLoadError(RuntimeError):
    """The worker's ``FunctionLoadError`` text: ``cannot load the <name> function: <reason>``."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"cannot load the {function_name} function: {message}")


@dataclass
class FunctionSpec:
    """One indexed function: its name, trigger binding, other bindings, and how to call its Python code."""

    name: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    func: Any
    is_async: bool
    requires_context: bool

    @property
    def trigger_type(self) -> str:
        return str(self.trigger["type"])

    @property
    def durable_name(self) -> str:
        trigger = self.trigger
        return str(trigger.get("orchestration") or trigger.get("activity") or trigger.get("entityName") or self.name)

    def input_bindings(self, binding_type: str) -> list[dict[str, Any]]:
        return [b for b in self.bindings if b["type"] == binding_type and b["direction"] == "IN"]


@dataclass
class FunctionIndex:
    functions: list[FunctionSpec] = field(default_factory=list)
    orchestrators: dict[str, FunctionSpec] = field(default_factory=dict)  # lower-cased durable name
    activities: dict[str, FunctionSpec] = field(default_factory=dict)
    entities: dict[str, FunctionSpec] = field(default_factory=dict)
    event_grid: dict[str, FunctionSpec] = field(default_factory=dict)  # lower-cased function name
    http: list[FunctionSpec] = field(default_factory=list)

    # The engine's Catalog protocol.
    def activity(self, name: str) -> str | None:
        spec = self.activities.get(name.lower())
        return None if spec is None else spec.durable_name

    def orchestrator(self, name: str) -> str | None:
        spec = self.orchestrators.get(name.lower())
        return None if spec is None else spec.durable_name

    def entity(self, name: str) -> str | None:
        spec = self.entities.get(name.lower())
        return None if spec is None else spec.durable_name

    def activity_names(self) -> list[str]:
        return [spec.durable_name for spec in self.activities.values()]

    def entity_names(self) -> list[str]:
        return [spec.durable_name for spec in self.entities.values()]

    def orchestrator_names(self) -> list[str]:
        return [spec.durable_name for spec in self.orchestrators.values()]


def load_app(app_dir: Path) -> FunctionIndex:
    """Import the app's script and index its functions."""
    script = app_dir / os.environ.get(SCRIPT_SETTING, DEFAULT_SCRIPT)
    if not script.is_file():
        raise FileNotFoundError(f"{script} not found: the v2 programming model needs a {script.name} in --app")
    root = str(app_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)  # the worker puts the script root first, so the app's packages import
    module_name = script.stem
    spec = importlib.util.spec_from_file_location(module_name, script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    registers = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    if len(registers) != 1:
        raise RuntimeError(f"{script.name} must define exactly one FunctionApp/DFApp, found {len(registers)}")
    return index_functions(registers[0].get_functions())


def index_functions(functions: list[Any]) -> FunctionIndex:
    index = FunctionIndex()
    for fn in functions:
        spec = _describe(fn)
        index.functions.append(spec)
        kind = spec.trigger_type
        if kind == "orchestrationTrigger":
            # The DFApp handle is always ``handle(context)``, so another context_name fails the binding check
            # in _describe with the worker's own message (contract §6.2).
            index.orchestrators[spec.durable_name.lower()] = spec
        elif kind == "activityTrigger":
            index.activities[spec.durable_name.lower()] = spec
        elif kind == "entityTrigger":
            index.entities[spec.durable_name.lower()] = spec
        elif kind == "eventGridTrigger":
            index.event_grid[spec.name.lower()] = spec
        elif kind == "httpTrigger":
            index.http.append(spec)
    return index


def _describe(fn: Any) -> FunctionSpec:
    name = fn.get_function_name()
    bindings = json.loads(fn.get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["type"].endswith("Trigger"))
    user = fn.get_user_function()
    params = set(inspect.signature(user).parameters)
    bound = {b["name"] for b in bindings if b["name"] != "$return"}
    requires_context = "context" in params and "context" not in bound
    declared = params - {"context"} if requires_context else params
    if declared - bound:
        raise FunctionLoadError(
            name, f"the following parameters are declared in Python but not in function.json: {declared - bound!r}"
        )
    if bound - declared:
        raise FunctionLoadError(
            name, f"the following parameters are declared in function.json but not in Python: {bound - declared!r}"
        )
    return FunctionSpec(
        name=name,
        trigger=trigger,
        bindings=bindings,
        func=user,
        is_async=inspect.iscoroutinefunction(user),
        requires_context=requires_context,
    )


def load_hook(spec: str) -> Callable[[], object]:
    """``module:function`` of the loaded app (its directory is on ``sys.path`` once :func:`load_app` ran)."""
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"a hook is MODULE:FUNCTION, not {spec!r}")
    hook = getattr(importlib.import_module(module_name), function_name)
    if not callable(hook):
        raise ValueError(f"{spec} is not callable")
    return cast(Callable[[], object], hook)
