"""A browser's view of the pages for TestClient tests: its cookies, and the CSRF token
that each page's forms carry."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response

from tests.validators.rider_helpers import rider_headers

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has no form token"
    return found.group(1)


def web_login(browser: TestClient, email: str, password: str) -> Response:
    form = browser.get("/web/login")
    response: Response = browser.post(
        "/web/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form)},
        follow_redirects=False,
    )
    return response


def rider_account(api: TestClient, email: str, password: str = "a long secret") -> dict[str, str]:
    """A rider signed up through the API; returns the API headers (to link cards)."""
    return rider_headers(api, email, password)
