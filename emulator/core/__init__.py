"""Cross-cutting pieces of the emulator: errors, resource IDs, state, long-running operations, routing."""
