"""The product app with a ``migrate_image`` that ends at once: the batch-engine benchmark's app script.

Loaded by the devhost instead of ``function_app.py`` (app setting ``PYTHON_SCRIPT_FILE_NAME``), it registers every
blueprint of the product except the real ``migrate_image`` and a stand-in under the same name that returns a
succeeded outcome in its first episode. The batch (and, for the "before" rows, the design it replaced, copied from
git next to this script) then runs exactly as shipped, through the devhost's real replay, while each migration
costs one episode: what is measured is the batch engine, not the migrations.
"""

import azure.durable_functions as df
import azure.functions as func

import activities
import orchestrators
import triggers
from orchestrators import migrate_image as real_migrate_image

try:  # the ARM budget's entity; the "before" design's tree (from git) predates it and asks no budget
    import entities

    entity_blueprints = list(entities.blueprints)
except ImportError:
    entity_blueprints = []

stand_in = df.Blueprint()


@stand_in.orchestration_trigger(context_name="context")
def migrate_image(context: df.DurableOrchestrationContext) -> dict[str, object]:
    request = context.get_input()["request"]
    stamp = context.current_utc_datetime.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "outcome": "succeeded",
        "phase": "done",
        "sourceImageId": request["source_image_id"],
        "sourceDeleted": False,
        "sourceKeptReason": "batch-engine benchmark: no migration ran",
        "startedAt": stamp,
        "finishedAt": stamp,
    }


app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (*orchestrators.blueprints, *activities.blueprints, *entity_blueprints, *triggers.blueprints):
    if blueprint is not real_migrate_image.bp:
        app.register_functions(blueprint)
app.register_functions(stand_in)
