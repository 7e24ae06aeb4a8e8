"""Orchestrators: pure control flow (``migrate_image``; the fleet's ``plan_migrations``, ``migrate_batch``, its
``batch_inventory`` and its per-image ``migrate_batch_item``)."""

from orchestrators import batch_inventory, batch_item, migrate_batch, migrate_image, plan_migrations

blueprints = (migrate_image.bp, plan_migrations.bp, migrate_batch.bp, batch_inventory.bp, batch_item.bp)

__all__ = ["batch_inventory", "batch_item", "blueprints", "migrate_batch", "migrate_image", "plan_migrations"]
