"""Durable entities: the app-wide ARM budget (one entity per subscription)."""

from entities import arm_budget

blueprints = (arm_budget.bp,)

__all__ = ["arm_budget", "blueprints"]
