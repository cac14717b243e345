"""DevHost as a context manager: serving inside the block, stopped and port freed after it."""

from __future__ import annotations

import pytest
import requests

from .conftest import serving


def test_leaving_the_with_block_stops_the_host() -> None:
    with serving("cli", "function_app") as host:
        url = f"{host.base_url}/ping"
        assert requests.get(url, timeout=10).text == "pong"
        assert host.running

    assert not host.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
