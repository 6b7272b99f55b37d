"""The OpenAPI document says what the API really answers on errors.

FastAPI documents validation failures with its own `HTTPValidationError` shape; ours is
the one error body of every 4xx/5xx, so the document is rewritten to name it, and the
errors every operation can give are listed on each operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "snake_case code"},
        "detail": {"type": "string", "description": "a sentence for people"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
COMMON_ERRORS = {
    "400": "Bad request",
    "401": "Missing or invalid credentials",
    "403": "Not allowed for this role",
    "404": "Not found",
    "409": "Conflict",
    "413": "Request body too large",
    "422": "Invalid input",
    "429": "Too many requests",
    "503": "Temporarily unavailable",
}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = ERROR_SCHEMA
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status, description in COMMON_ERRORS.items():
                    existing = responses.get(status, {})
                    responses[status] = {
                        "description": existing.get("description", description),
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
