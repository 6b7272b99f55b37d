"""The pages' session cookie and the CSRF tokens of their forms.

The session cookie holds the user's access token (the same JWT the API issues, through
the shell's `app.state.issue_user_token`), verified on every request with the shell's
`app.state.verify_user_token`: no server-side session store, and logging out is
forgetting the cookie. The cookie is HttpOnly (no script reads it), SameSite=Lax (not
sent on cross-site form posts) and Secure, except on plain http to a loopback address,
which is how a developer runs `ticketing serve` on 127.0.0.1 (a browser would drop a
Secure cookie over http there); any other host, production's included, gets Secure.

CSRF: every form carries a token that is an HMAC, under a key of the shell's
(`app.state.web_csrf_key`), of the session cookie's value; a cross-site page can neither
read the cookie nor compute the HMAC (the signed double-submit pattern). Before logging
in, the token is bound to a random login nonce kept in its own short-lived cookie, so
the login form is protected too (no logging a victim into the attacker's account).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response

from validators.web import Principal

SESSION_COOKIE = "ticketing_session"
LOGIN_COOKIE = "ticketing_login"
LOGIN_NONCE_SECONDS = 60 * 60
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class CsrfRefused(Exception):
    """The form's token does not belong to this browser's session."""


@dataclass(frozen=True, slots=True)
class WebSession:
    principal: Principal | None
    token: str | None  # the session cookie's value, when it verified
    nonce: str  # the login nonce (a fresh one when the browser had none)
    fresh_nonce: bool
    csrf: str


def cookie_secure(request: Request) -> bool:
    """Secure everywhere but plain http on a loopback address (development)."""
    return not (request.url.scheme == "http" and request.url.hostname in LOOPBACK)


def _key(request: Request) -> bytes:
    key: bytes = request.app.state.web_csrf_key
    return key


def _mac(request: Request, purpose: str, value: str) -> str:
    digest = hmac.digest(_key(request), f"{purpose}:{value}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def principal_of(request: Request, token: str | None) -> Principal | None:
    if not token:
        return None
    verify: Callable[[str], Principal] = request.app.state.verify_user_token
    try:
        return verify(token)
    # The shell's verifier raises its own error type, which this package cannot name;
    # whatever it raises, the cookie does not open a session.
    except Exception:
        return None


def open_session(request: Request) -> WebSession:
    token = request.cookies.get(SESSION_COOKIE)
    principal = principal_of(request, token)
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = len(nonce) < 16
    if fresh:
        nonce = secrets.token_urlsafe(24)
    if principal is not None and token is not None:
        return WebSession(principal, token, nonce, fresh, _mac(request, "session", token))
    return WebSession(None, None, nonce, fresh, _mac(request, "login", nonce))


def check_csrf(request: Request, submitted: str) -> None:
    """Raise CsrfRefused unless `submitted` is this browser's token (session, else login)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and principal_of(request, token) is not None:
        expected = _mac(request, "session", token)
    else:
        nonce = request.cookies.get(LOGIN_COOKIE)
        if not nonce:
            raise CsrfRefused
        expected = _mac(request, "login", nonce)
    if not submitted or not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise CsrfRefused


def keep_nonce(request: Request, response: Response, session: WebSession) -> None:
    if session.fresh_nonce and session.principal is None:
        response.set_cookie(
            LOGIN_COOKIE,
            session.nonce,
            max_age=LOGIN_NONCE_SECONDS,
            path="/web",
            httponly=True,
            secure=cookie_secure(request),
            samesite="lax",
        )


def start(request: Request, response: Response, token: str) -> None:
    """Log in: the access token becomes the session cookie (a browser-session cookie;
    the token's own expiry ends the session server-side)."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/web",
        httponly=True,
        secure=cookie_secure(request),
        samesite="lax",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/web")


def end(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/web",
        httponly=True,
        secure=cookie_secure(request),
        samesite="lax",
    )
