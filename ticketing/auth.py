"""Passwords, access tokens and login throttling for people (devices sign their own JWTs).

Access tokens are HS256 JWTs with a `kid`, so the signing key can rotate: the keys that
verify are the current one plus retired ones still inside their tokens' lifetime.
Failed logins are counted in the database, not in memory, so every worker sees them.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from ticketing.errors import ApiError
from ticketing.users import Role, User, as_utc, email_key, find_by_email

ISSUER = "ticketing"
AUDIENCE = "ticketing-users"

_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown email as slow as for a known one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    secret: bytes


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    email: str
    role: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


def derive_key(secret: bytes, kid: str) -> SigningKey:
    # One configured secret, a distinct key per purpose: a JWT key never doubles as another.
    return SigningKey(
        kid, hmac.new(secret, b"ticketing jwt " + kid.encode(), hashlib.sha256).digest()
    )


def verification_keys(
    current: SigningKey, previous: str | None, *, decode: Callable[[str], bytes]
) -> dict[str, SigningKey]:
    """The current key plus the previous ones ("kid=secret,..."), by kid."""
    keys = {current.kid: current}
    for item in (previous or "").split(","):
        kid, sep, secret = item.strip().partition("=")
        if not sep or not kid or not secret:
            continue
        if kid == current.kid:
            raise ValueError(f"previous JWT key {kid} has the current key's id")
        keys[kid] = derive_key(decode(secret), kid)
    return keys


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def issue_token(user: User, key: SigningKey, *, lifetime: timedelta, now: datetime) -> IssuedToken:
    assert user.id is not None
    claims = {
        "sub": str(user.id),
        "email": user.email,
        "role": user.role,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.kid})
    return IssuedToken(token, int(lifetime.total_seconds()))


def verify_token(token: str, keys: dict[str, SigningKey]) -> TokenClaims:
    """Claims of a valid token, else ApiError 401 (the reason stays vague on purpose)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise jwt.InvalidTokenError("unknown kid")
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        return TokenClaims(int(claims["sub"]), str(claims["email"]), str(claims["role"]))
    except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
        raise ApiError(
            401,
            "invalid_token",
            "The access token is missing, expired or not valid.",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc


def create_user(session: Session, *, email: str, password: str, role: Role, now: datetime) -> User:
    if "@" not in email or len(email) > 320:
        raise ApiError(422, "invalid_email", "The email address is not valid.")
    if len(password) < 8:
        raise ApiError(422, "weak_password", "The password must have at least 8 characters.")
    if find_by_email(session, email) is not None:
        raise ApiError(409, "email_taken", "An account with this email already exists.")
    user = User(
        email=email.strip(),
        email_key=email_key(email),
        password_hash=hash_password(password),
        role=role.value,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    max_failures: int
    lock: timedelta


def authenticate(
    session: Session, *, email: str, password: str, policy: LoginPolicy, now: datetime
) -> User | ApiError:
    """The user whose password this is, or the error to answer.

    The error is returned, not raised: the failure count it updated must be committed by
    the request, which rolls back on exceptions.
    """
    user = find_by_email(session, email)
    if user is None:
        _verify(_DUMMY_HASH, password)
        return _bad_credentials()
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        retry = int((as_utc(user.locked_until) - now).total_seconds()) + 1
        return ApiError(
            429,
            "account_locked",
            "Too many failed logins; try again later.",
            headers={"Retry-After": str(retry)},
        )
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= policy.max_failures:
            user.locked_until = now + policy.lock
            user.failed_logins = 0
        session.add(user)
        session.flush()
        return _bad_credentials()
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
        session.add(user)
        session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _bad_credentials() -> ApiError:
    return ApiError(
        401,
        "invalid_credentials",
        "The email or password is not correct.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
