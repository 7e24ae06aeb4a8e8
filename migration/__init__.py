"""The migration domain: request model, naming and version rules, tag contract, plans, checks and errors.

Pure Python (pydantic only): no Azure SDK, no I/O, no clock. Activities gather facts from ARM and hand them
here; the orchestrator asks here for every decision. A test enforces the "no Azure imports" rule.

Modules: ``request`` (the one request type), ``resource_ids``, ``versions``, ``regions``, ``tags``,
``events``, ``instance_ids``, ``source`` (preflight), ``definitions``, ``plan``, ``replication`` (wait
schedule), ``validation``, ``deletion`` (guards), ``status`` (custom status, output, summary), ``settings``,
``errors``.
"""
