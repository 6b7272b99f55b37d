from __future__ import annotations

from fastapi.testclient import TestClient


def test_unknown_path_answers_the_error_shape(client: TestClient) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "No such path."}


def test_wrong_method_answers_the_error_shape(client: TestClient) -> None:
    response = client.delete("/healthz")
    assert response.status_code == 405
    body = response.json()
    assert body["error"] == "method_not_allowed"
    assert isinstance(body["detail"], str)


def test_validation_errors_name_the_fields(client: TestClient) -> None:
    response = client.post("/v1/auth/token", data={"username": "a@b.c"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert isinstance(body["detail"], str) and "password" in body["detail"]
    assert any(field["field"].endswith("password") for field in body["fields"])


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}


def test_metrics_count_requests_per_route_template(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'ticketing_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "ticketing_http_request_duration_seconds_bucket" in text


def test_an_oversized_body_is_refused_before_parsing(client: TestClient) -> None:
    response = client.post(
        "/v1/fares/quote",
        content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
