from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    """Another client of the same app, as a browser on https (so Secure cookies flow)."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client
