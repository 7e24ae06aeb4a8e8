"""Client functions: the HTTP API (migrations; plans and batches) and the Event Grid tag trigger."""

from triggers import event_grid, fleet_api, http_api

blueprints = (http_api.bp, event_grid.bp, fleet_api.bp)

__all__ = ["blueprints", "event_grid", "fleet_api", "http_api"]
