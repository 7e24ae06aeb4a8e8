"""Client functions: the HTTP API and the Event Grid tag trigger. Each module has its own blueprint."""

from triggers import event_grid, http_api

__all__ = ["event_grid", "http_api"]
