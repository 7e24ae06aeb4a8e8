"""The blueprint every activity registers on; ``function_app.py`` registers it with the app."""

import azure.durable_functions as df

bp = df.Blueprint()
