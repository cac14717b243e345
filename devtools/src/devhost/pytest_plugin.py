"""The pytest plugin ``devhost`` (registered through the ``pytest11`` entry point).

It keeps the garbage collector off what collection imported. The Agent Framework, the
Functions libraries and gRPC leave about 90,000 tracked objects that live until the process
ends; without this, every full collection walks them again, in every test process.
"""

from __future__ import annotations

import gc

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.freeze()
