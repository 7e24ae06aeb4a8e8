"""The product app's functions, indexed once per test process (``get_functions()`` may be called only once per
app object, as the Python worker does)."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def functions() -> list[Any]:
    import function_app

    return list(function_app.app.get_functions())
