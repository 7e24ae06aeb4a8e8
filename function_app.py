"""Azure Functions entry point: creates the Durable Functions app and registers every blueprint. Wiring only."""

import azure.durable_functions as df
import azure.functions as func

import activities
import orchestrators
from activities import inventory
from orchestrators import migrate_batch, plan_migrations
from triggers import event_grid, fleet_api, http_api

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(orchestrators.bp)
app.register_functions(activities.bp)
app.register_functions(http_api.bp)
app.register_functions(event_grid.bp)
app.register_functions(plan_migrations.bp)
app.register_functions(migrate_batch.bp)
app.register_functions(inventory.bp)
app.register_functions(fleet_api.bp)
