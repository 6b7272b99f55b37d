"""Schemathesis against the committed OpenAPI document: every operation, each called as
the role it is meant for, with generated input. Nothing may answer 5xx, and every
answer must match what the document promises."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from ticketing.settings import Settings

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
ROLE_OF_PREFIX = (("/v1/admin/", "admin"), ("/v1/finance/", "finance"), ("/v1/riders/me", "rider"))
EXAMPLES = int(os.environ.get("TICKETING_FUZZ_EXAMPLES", "25"))


schema = schemathesis.openapi.from_path(COMMITTED)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # With a webhook secret, the Stripe webhook is fuzzed through its signature check.
    return settings.model_copy(update={"stripe_webhook_secret": SecretStr("whsec_" + "f" * 32)})


@pytest.fixture
def served(app: FastAPI, client: TestClient) -> FastAPI:
    """The app under test, started (`client` runs its start-up: card key, tariff)."""
    return app


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_survives_generated_input(
    case: schemathesis.Case[Any], served: FastAPI, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    headers = {}
    for prefix, role in ROLE_OF_PREFIX:
        if case.path.startswith(prefix):
            headers = auth_headers(role)
    # Each test has its own app (its own rolled-back database): call that one.
    response = case.call(app=served, headers=headers)
    case.validate_response(
        response,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
