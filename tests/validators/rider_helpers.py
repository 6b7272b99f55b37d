"""A rider account over HTTP: sign up, log in, and the headers that carry the token."""

from __future__ import annotations

from fastapi.testclient import TestClient


def rider_headers(
    client: TestClient, email: str, password: str = "a long secret"
) -> dict[str, str]:
    created = client.post("/v1/riders", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    token = client.post("/v1/auth/token", data={"username": email, "password": password}).json()[
        "access_token"
    ]
    return {"Authorization": f"Bearer {token}"}
