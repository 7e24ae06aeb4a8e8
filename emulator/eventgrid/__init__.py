"""Event Grid for ARM resource events: event shapes, subscription filters, and at-least-once webhook delivery."""
