"""Settlement fixtures: one real localstripe process per test session, emptied per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settlement.stripe_gateway import StripeGateway
from tests.settlement.localstripe_server import API_KEY, flush, running_localstripe


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    with running_localstripe() as url:
        yield url


@pytest.fixture
def localstripe(localstripe_url: str) -> str:
    flush(localstripe_url)
    return localstripe_url


@pytest.fixture
def stripe_gateway(localstripe: str) -> StripeGateway:
    # localstripe rejects the `created` filter on balance transactions: filter here.
    return StripeGateway(api_key=API_KEY, api_base=localstripe, filter_balance_by_date=False)
