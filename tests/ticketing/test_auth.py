from __future__ import annotations

import jwt
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import TEST_SECRET
from ticketing import auth
from ticketing.app import create_app
from ticketing.db import SessionFactory
from ticketing.errors import ApiError
from ticketing.settings import Settings
from ticketing.users import Role


def make_user(db: Session, email: str, password: str, role: Role) -> None:
    auth.create_user(db, email=email, password=password, role=role, now=auth.utc_now())
    db.commit()


def login(client: TestClient, email: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post("/v1/auth/token", data={"username": email, "password": password})
    return response.status_code, response.json()


def test_a_user_logs_in_and_gets_a_jwt_with_their_role(db: Session, client: TestClient) -> None:
    make_user(db, "Ana@Example.org", "correct horse", Role.finance)

    status, body = login(client, "ana@example.ORG", "correct horse")

    assert status == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    claims = jwt.decode(str(body["access_token"]), options={"verify_signature": False})
    assert claims["role"] == "finance"
    assert claims["email"] == "Ana@Example.org"


def test_wrong_password_and_unknown_email_look_the_same(db: Session, client: TestClient) -> None:
    make_user(db, "bo@example.org", "correct horse", Role.rider)

    wrong = login(client, "bo@example.org", "wrong horse")
    unknown = login(client, "nobody@example.org", "correct horse")

    assert (
        wrong
        == unknown
        == (
            401,
            {"error": "invalid_credentials", "detail": "The email or password is not correct."},
        )
    )


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    db: Session, client: TestClient
) -> None:
    make_user(db, "cy@example.org", "correct horse", Role.rider)
    for _ in range(5):
        assert login(client, "cy@example.org", "guess")[0] == 401

    status, body = login(client, "cy@example.org", "correct horse")

    assert status == 429
    assert body["error"] == "account_locked"


def test_a_success_resets_the_failure_count(db: Session, client: TestClient) -> None:
    make_user(db, "di@example.org", "correct horse", Role.rider)
    for _ in range(4):
        login(client, "di@example.org", "guess")
    assert login(client, "di@example.org", "correct horse")[0] == 200
    for _ in range(4):
        login(client, "di@example.org", "guess")
    assert login(client, "di@example.org", "correct horse")[0] == 200


def test_duplicate_email_is_refused_case_insensitively(db: Session) -> None:
    make_user(db, "eve@example.org", "correct horse", Role.rider)
    try:
        auth.create_user(
            db, email="EVE@example.org", password="another one", role=Role.rider, now=auth.utc_now()
        )
    except ApiError as exc:
        assert exc.status == 409
    else:
        raise AssertionError("a second account with the same email was created")


def test_tampered_and_foreign_tokens_are_refused(db: Session, client: TestClient) -> None:
    make_user(db, "fay@example.org", "correct horse", Role.admin)
    _, body = login(client, "fay@example.org", "correct horse")
    token = str(body["access_token"])
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "another-key-of-enough-length-000000", headers={"kid": "jwt-1"})

    key = client.app.state.jwt_key  # type: ignore[attr-defined]
    keys = {key.kid: key}
    assert auth.verify_token(token, keys).role == "admin"
    for bad in (forged, token[:-2] + "xx", "not-a-jwt"):
        try:
            auth.verify_token(bad, keys)
        except ApiError as exc:
            assert exc.status == 401
        else:
            raise AssertionError("a bad token was accepted")


def test_tokens_signed_before_a_key_rotation_stay_valid_until_they_expire(
    db: Session, settings: Settings, engine: Engine, session_factory: SessionFactory
) -> None:
    make_user(db, "rot@example.org", "correct horse", Role.rider)
    old_app = create_app(settings, engine=engine, session_factory=session_factory)
    with TestClient(old_app) as old_client:
        old_token = login(old_client, "rot@example.org", "correct horse")[1]["access_token"]

    rotated = settings.model_copy(
        update={
            "jwt_secret": SecretStr("n" * 43),
            "jwt_key_id": "jwt-2",
            "jwt_previous_keys": SecretStr(f"jwt-1={TEST_SECRET}"),
        }
    )
    new_app = create_app(rotated, engine=engine, session_factory=session_factory)
    dropped = rotated.model_copy(update={"jwt_previous_keys": None})
    after_expiry = create_app(dropped, engine=engine, session_factory=session_factory)

    headers = {"Authorization": f"Bearer {old_token}"}
    with TestClient(new_app) as client:
        assert client.get("/v1/riders/me", headers=headers).status_code == 200
        new_token = login(client, "rot@example.org", "correct horse")[1]["access_token"]
        assert jwt.get_unverified_header(str(new_token))["kid"] == "jwt-2"
    with TestClient(after_expiry) as client:
        assert client.get("/v1/riders/me", headers=headers).status_code == 401
