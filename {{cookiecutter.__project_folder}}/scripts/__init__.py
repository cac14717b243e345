"""The project's commands, run as ``python scripts/<name>.py``; a package so tests import them."""
