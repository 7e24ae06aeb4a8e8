"""Orchestrators: pure control flow (``migrate_image``; the fleet's ``plan_migrations`` and ``migrate_batch``)."""

from orchestrators import migrate_batch, migrate_image, plan_migrations

blueprints = (migrate_image.bp, plan_migrations.bp, migrate_batch.bp)

__all__ = ["blueprints", "migrate_batch", "migrate_image", "plan_migrations"]
