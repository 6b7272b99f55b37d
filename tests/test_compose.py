from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def load() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_defines_the_services_the_readme_promises() -> None:
    services = load()["services"]
    assert {"postgres", "api", "settle", "localstripe"} <= set(services)


def test_postgres_has_a_healthcheck_and_the_api_waits_for_it() -> None:
    services = load()["services"]
    assert "test" in services["postgres"]["healthcheck"]
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_api_migrates_before_serving_against_postgres() -> None:
    api = load()["services"]["api"]
    command = " ".join(api["command"]) if isinstance(api["command"], list) else api["command"]
    assert command.index("db upgrade") < command.index("serve")
    assert api["environment"]["TICKETING_DATABASE_URL"].startswith("postgresql")
