"""Activities: one ARM step each, idempotent (Durable runs them at least once).

Importing this package registers every activity on :data:`bp`.
"""

from activities import boot_test, definition, outcome, planning, source, validation, version
from activities.blueprint import bp

__all__ = ["boot_test", "bp", "definition", "outcome", "planning", "source", "validation", "version"]
