"""devhost: the dafx-func development tools, one versioned package (``dafx-devhost``).

It serves a Function App locally with nothing but Python (``devhost`` or ``python -m
devhost``): the app's HTTP triggers as ``func start`` serves them, and its orchestrations,
activities and entities on the azure-functions-durable engine over durabletask's in-memory
backend. It also carries the project's development commands (``devhost new-workflow``,
``devhost generate``, ``devhost local-settings``) and a pytest plugin. It is never deployed.

The dafx-func template develops and tests it, and bakes it into each project as a wheel
under ``devtools/``. ``CHANGELOG.md`` beside its source lists each release.
"""

__version__ = "3.2.0"
