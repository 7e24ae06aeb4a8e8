"""Call user functions the way the Python worker does: sync ones on thread pools, async ones on ONE loop.

The SDK keeps a module-global aiohttp session bound to the first loop that used it (contract §5.6), so all
async functions share one long-lived event loop running in its own thread, as the real worker's loop does.
It is not the host's HTTP loop: a function that blocks cannot stall the host, and a function calling the
host's own HTTP API cannot deadlock it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func

from devhost.loader import FunctionSpec

log = logging.getLogger(__name__)


class InvocationContext(func.Context):
    """``func.Context`` for functions that declare a ``context`` parameter that is not a binding."""

    def __init__(self, function_name: str, function_directory: str, invocation_id: str) -> None:
        self._function_name = function_name
        self._function_directory = function_directory
        self._invocation_id = invocation_id
        self._thread_local = threading.local()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        return self._thread_local  # type: ignore[return-value]  # the worker hands out an instance too

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return None  # no distributed tracing locally

    @property
    def retry_context(self) -> Any:
        return None  # no host retry policies locally


class Invoker:
    def __init__(self, *, app_dir: str, http_threads: int, activity_threads: int, orchestrator_threads: int) -> None:
        self.app_dir = app_dir
        self.http_pool = ThreadPoolExecutor(http_threads, thread_name_prefix="function")
        self.activity_pool = ThreadPoolExecutor(activity_threads, thread_name_prefix="activity")
        self.orchestrator_pool = ThreadPoolExecutor(orchestrator_threads, thread_name_prefix="orchestrator")
        self.worker_loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.worker_loop.run_forever, name="worker-loop", daemon=True)
        self._thread.start()

    async def call(
        self,
        spec: FunctionSpec,
        args: dict[str, Any],
        *,
        pool: ThreadPoolExecutor | None = None,
        instance_id: str | None = None,
    ) -> Any:
        """Invoke and log one line (function, instance, duration, outcome); exceptions propagate."""
        invocation_id = str(uuid.uuid4())
        kwargs = dict(args)
        if spec.requires_context:
            kwargs["context"] = InvocationContext(spec.name, self.app_dir, invocation_id)
        started = time.perf_counter()
        outcome = "Succeeded"
        try:
            if spec.is_async:
                future = asyncio.run_coroutine_threadsafe(spec.func(**kwargs), self.worker_loop)
                return await asyncio.wrap_future(future)
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool or self.http_pool, functools.partial(spec.func, **kwargs))
        except BaseException:
            outcome = "Failed"
            raise
        finally:
            took = (time.perf_counter() - started) * 1000
            where = f" instance={instance_id}" if instance_id else ""
            log.info(
                "Executed 'Functions.%s' (%s, Id=%s, Duration=%.0fms)%s", spec.name, outcome, invocation_id, took, where
            )

    def close(self) -> None:
        for pool in (self.http_pool, self.activity_pool, self.orchestrator_pool):
            pool.shutdown(wait=False, cancel_futures=True)
        self.worker_loop.call_soon_threadsafe(self.worker_loop.stop)


def bind(spec: FunctionSpec, trigger_value: Any, client_binding: str) -> dict[str, Any]:
    """Keyword arguments for one call: the trigger value plus every durable client input binding (§5.1)."""
    args = {str(spec.trigger["name"]): trigger_value}
    for binding in spec.input_bindings("durableClient"):
        args[str(binding["name"])] = client_binding
    return args
