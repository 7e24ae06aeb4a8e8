"""The operator console: one page and its static assets, served by the function app itself (``GET /api/console``).

The page talks only to the app's documented HTTP API (``docs/openapi.yaml``) with the function key the operator
enters once per browser session; it holds no data of its own, so the page and its assets are anonymous.
"""

from console import page

blueprints = (page.bp,)

__all__ = ["blueprints", "page"]
