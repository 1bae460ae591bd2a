"""OpenAPI for POST /predict: the body is parsed by hand (bounded, strict, fast), so its schema
is declared here, inlined from the same pydantic models that validate it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .request_model import ErrorResponse, PredictRequest, PredictResponse

JSON = "application/json"


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with every `$defs` reference replaced by its definition."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(definitions[reference.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _content(model: type[BaseModel]) -> dict[str, Any]:
    schema = {"schema": inline_schema(model)}
    return {JSON: schema}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _content(ErrorResponse)}


PREDICT_OPENAPI: dict[str, Any] = {
    "requestBody": {"required": True, "content": _content(PredictRequest)},
    "responses": {
        "200": {
            "description": "One prediction per instance, in order.",
            "content": _content(PredictResponse),
        },
        "400": _error("A value breaks the feature contract; each field path and reason listed."),
        "413": _error("The body or the number of instances is over the limit."),
        "415": _error("The body is not application/json."),
        "503": _error("Non-finite model output, circuit breaker open, or out of memory; retry."),
    },
}
