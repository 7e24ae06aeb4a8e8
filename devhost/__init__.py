"""Local Azure Functions + Durable host for the v2 Python app (``python -m devhost``); see devhost/README.md."""

from devhost.client import DevhostClient, DevhostError

__all__ = ["DevhostClient", "DevhostError"]
