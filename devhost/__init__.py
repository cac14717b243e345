"""devhost: run a Function App locally with nothing but Python.

A development tool, never deployed: it serves the app's HTTP triggers like `func start`
and runs its orchestrations, activities and entities with the azure-functions-durable
engine over durabletask's in-memory backend. `func start` remains the reference.

This package is a copy of the `devhost/` component of the dafx-func template, where it is
developed and tested. Edit it there and copy it again rather than here; `__version__`
says which release of it this is.
"""

__version__ = "2.2.3"
