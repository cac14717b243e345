"""devhost: run this Function App locally with nothing but Python.

A development tool, never deployed: it serves the app's HTTP triggers like `func start`
and runs its orchestrations, activities and entities with the azure-functions-durable
engine over durabletask's in-memory backend. `func start` remains the reference.
"""
