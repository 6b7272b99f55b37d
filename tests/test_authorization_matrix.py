"""Every operation against every kind of caller: the expected status in each cell.

The routes come from the app itself, so a new endpoint is covered the day it is added;
one whose path has no audience below fails the test until someone decides who may call it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from ticketing import auth

PUBLIC = {
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/riders"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/v1/fares/quote"),
    ("GET", "/v1/devices/card-keys"),
    # Authenticated by Stripe's signature, not a token.
    ("POST", "/v1/webhooks/stripe"),
    # The card itself is the credential (rate-limited).
    ("POST", "/v1/cards/history"),
}
DEVICE = {("POST", "/v1/devices/taps"), ("GET", "/v1/devices/deny-list")}
AUDIENCES: list[tuple[str, set[str]]] = [
    (r"^/v1/admin/", {"admin"}),
    (r"^/v1/finance/", {"finance", "admin"}),
    (r"^/v1/riders/me", {"rider"}),
]
ROLES = ("rider", "finance", "admin")
SAMPLE_PARAMS = {"day": "2026-11-26"}

Headers = Callable[[str], dict[str, str]]


def operations(client: TestClient) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and route.include_in_schema:
            found.extend((method, route.path) for method in sorted(route.methods or ()))
    return found


def audience(method: str, path: str) -> set[str] | str:
    if (method, path) in PUBLIC:
        return "public"
    if (method, path) in DEVICE:
        return "device"
    for pattern, roles in AUDIENCES:
        if re.match(pattern, path):
            return roles
    raise AssertionError(f"{method} {path}: no audience declared in this test")


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMS.get(m.group(1), "unknown-id"), path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    status: int = client.request(method, concrete(path), **kwargs).status_code
    return status


def bad_tokens(client: TestClient) -> dict[str, str]:
    key = client.app.state.jwt_key  # type: ignore[attr-defined]
    now = auth.utc_now()
    claims = {
        "sub": "1",
        "email": "x@example.org",
        "role": "admin",
        "iss": auth.ISSUER,
        "aud": auth.AUDIENCE,
        "iat": int((now - timedelta(hours=2)).timestamp()),
        "exp": int((now - timedelta(hours=1)).timestamp()),
    }
    expired = jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid})
    fresh = claims | {"exp": int((now + timedelta(hours=1)).timestamp())}
    foreign = jwt.encode(fresh, b"z" * 32, algorithm="HS256", headers={"kid": key.kid})
    return {"expired": expired, "signed-by-another-key": foreign, "garbage": "not.a.jwt"}


def test_every_operation_has_a_declared_audience(client: TestClient) -> None:
    for method, path in operations(client):
        audience(method, path)


def test_protected_operations_refuse_missing_and_bad_tokens(client: TestClient) -> None:
    tokens = bad_tokens(client)
    for method, path in operations(client):
        if audience(method, path) == "public":
            continue
        assert call(client, method, path, {}) == 401, (method, path, "no token")
        for name, token in tokens.items():
            status = call(client, method, path, {"Authorization": f"Bearer {token}"})
            assert status == 401, (method, path, name)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_operations(
    client: TestClient, auth_headers: Headers, role: str
) -> None:
    headers = auth_headers(role)
    for method, path in operations(client):
        allowed = audience(method, path)
        status = call(client, method, path, headers)
        assert status < 500, (method, path, role, status)
        if allowed == "device":
            assert status == 401, (method, path, role)  # a person's token is no device token
        elif allowed != "public" and role not in allowed:
            assert status == 403, (method, path, role, status)
        elif allowed != "public":
            assert status not in (401, 403), (method, path, role, status)
