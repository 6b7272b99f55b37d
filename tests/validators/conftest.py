from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.validators.devices import TestDevice


@pytest.fixture
def device(db: Session, client: TestClient) -> TestDevice:
    test_device = TestDevice()
    test_device.register(db)
    db.commit()
    return test_device


def devices_pem(device: TestDevice) -> str:
    return str(device.registration()["public_key"])


@pytest.fixture
def post_taps(client: TestClient, device: TestDevice) -> Callable[..., Any]:
    def post(*taps: dict[str, Any], token: str | None = None) -> list[dict[str, Any]]:
        response = client.post(
            "/v1/devices/taps", json={"taps": list(taps)}, headers=device.headers(token)
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    return post
