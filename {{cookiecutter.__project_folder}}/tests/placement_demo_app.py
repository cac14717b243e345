"""The placement demo workflow as a Function App, for ``python -m devhost --app``."""

from tests.placement_demo import create_app

app = create_app()
