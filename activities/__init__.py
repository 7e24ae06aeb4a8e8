"""Activities: one ARM step each, idempotent (Durable runs them at least once).

The migration's activities register on the shared :data:`bp`; the fleet's (``inventory``) on their own.
"""

from activities import (
    boot_test,
    definition,
    inventory,
    outcome,
    planning,
    scale_sets,
    source,
    validation,
    version,
)
from activities.blueprint import bp

blueprints = (bp, inventory.bp)

__all__ = [
    "blueprints",
    "boot_test",
    "bp",
    "definition",
    "inventory",
    "outcome",
    "planning",
    "scale_sets",
    "source",
    "validation",
    "version",
]
