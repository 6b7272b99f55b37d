"""The command line as a new user meets it: a fresh directory, no configuration."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.processes import CLI, serving
from ticketing.cli import app


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETING_")}
    env.update(extra)
    return env


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def served_here(cwd: Path, **env: str) -> AbstractContextManager[str]:
    """`ticketing serve` in `cwd` with no configuration but `env`."""
    return serving(clean_env(**env), cwd / "serve.log", cwd=cwd)


def test_serve_in_an_empty_directory_keeps_data_and_secrets_across_restarts(
    tmp_path: Path,
) -> None:
    with served_here(tmp_path) as base:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/readyz").status_code == 200
        assert httpx.get(f"{base}/v1/devices/card-keys").json()["keys"]
    secret = (tmp_path / "ticketing-data" / "secrets" / "jwt_secret").read_text()
    added = run(
        tmp_path,
        "users",
        "add",
        "--email",
        "fin@example.org",
        "--password",
        "long enough",
        "--role",
        "finance",
    )
    assert added.returncode == 0, added.stderr

    with served_here(tmp_path) as base:
        login = httpx.post(
            f"{base}/v1/auth/token", data={"username": "fin@example.org", "password": "long enough"}
        )
        assert login.status_code == 200
        wrong = httpx.post(
            f"{base}/v1/auth/token", data={"username": "fin@example.org", "password": "nope"}
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_credentials"
    assert (tmp_path / "ticketing-data" / "secrets" / "jwt_secret").read_text() == secret
    assert (tmp_path / "ticketing.db").exists()


def test_production_without_secrets_refuses_to_start_and_names_the_setting(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, "serve", TICKETING_ENV="production")
    assert result.returncode == 2
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"] == "invalid_settings"
    assert "TICKETING_JWT_SECRET" in error["detail"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["db", "upgrade"],
        ["users", "add"],
        ["devices", "add"],
        ["devices", "revoke"],
        ["keys", "rotate"],
        ["keys", "retire"],
        ["tariff", "load"],
        ["fare", "quote"],
        ["openapi", "export"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_a_duplicate_user_is_a_json_error(tmp_path: Path) -> None:
    args = (
        "users",
        "add",
        "--email",
        "a@example.org",
        "--password",
        "long enough",
        "--role",
        "rider",
    )
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert run(tmp_path, *args).returncode == 0
    again = run(tmp_path, *args)
    assert again.returncode == 2
    assert json.loads(again.stderr)["error"] == "email_taken"
