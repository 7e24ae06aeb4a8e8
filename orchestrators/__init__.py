"""Orchestrators: pure control flow (``migrate_image``; the fleet's ``plan_migrations`` and its ``plan_chunk``,
``migrate_batch`` and its per-image ``migrate_batch_item``, and their ``fleet_inventory``)."""

from orchestrators import batch_item, fleet_inventory, migrate_batch, migrate_image, plan_migrations

blueprints = (migrate_image.bp, plan_migrations.bp, migrate_batch.bp, fleet_inventory.bp, batch_item.bp)

__all__ = ["batch_item", "blueprints", "fleet_inventory", "migrate_batch", "migrate_image", "plan_migrations"]
