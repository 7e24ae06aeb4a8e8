"""Azure Functions entry point: creates the Durable Functions app and registers every blueprint. Wiring only."""

import azure.durable_functions as df
import azure.functions as func

import activities
import console
import entities
import orchestrators
import triggers

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (
    *orchestrators.blueprints,
    *activities.blueprints,
    *entities.blueprints,
    *triggers.blueprints,
    *console.blueprints,
):
    app.register_functions(blueprint)
