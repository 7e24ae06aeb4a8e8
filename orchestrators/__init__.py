"""Orchestrators: pure control flow. Importing this package registers them on :data:`bp`."""

from orchestrators.migrate_image import bp

__all__ = ["bp"]
