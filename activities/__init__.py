"""Activities: one ARM step each, idempotent (Durable runs them at least once).

The migration's activities register on the shared :data:`bp`; the fleet's (``inventory``, ``batch_items``) on their own.
"""

from activities import batch_items, boot_test, definition, inventory, outcome, planning, source, validation, version
from activities.blueprint import bp

blueprints = (bp, inventory.bp, batch_items.bp)

__all__ = [
    "batch_items",
    "blueprints",
    "boot_test",
    "bp",
    "definition",
    "inventory",
    "outcome",
    "planning",
    "source",
    "validation",
    "version",
]
