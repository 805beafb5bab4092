"""The API's operations as the OpenAPI schema lists them, for tests that must cover every route (a new route is
covered, or makes a test fail, without anyone remembering to add it)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "put", "patch", "post", "delete")


@functools.cache
def published_schema() -> dict:
    """The document `/api/schema/` serves (the same generator), made once per process; it reads no database."""
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(openapi: dict) -> Iterator[tuple[str, str, dict]]:
    """(path template, METHOD, operation) for every operation."""
    for path, item in openapi["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method.upper(), item[method]


def object_routes(openapi: dict) -> dict[str, list[str]]:
    """Every path with an `{id}`-style parameter, with its methods."""
    routes: dict[str, list[str]] = {}
    for path, method, _ in operations(openapi):
        if "{" in path:
            routes.setdefault(path, []).append(method)
    return routes


def list_routes(openapi: dict) -> list[str]:
    """Every GET that answers the paginated envelope."""
    found = []
    for path, method, operation in operations(openapi):
        if method == "GET":
            content = operation["responses"].get("200", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            if ref.rsplit("/", 1)[-1].startswith("Paginated"):
                found.append(path)
    return found


def scheme(operation: dict) -> str | None:
    """`jwtAuth`, `ApiKeyAuth`, or None for a public operation."""
    for requirement in operation.get("security") or []:
        for name in requirement:
            return name
    return None


def resolve(openapi: dict, node: dict) -> dict:
    while "$ref" in node:
        node = openapi["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def json_request_schema(openapi: dict, operation: dict) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return resolve(openapi, schema) if schema else None


def fill_strings(openapi: dict, node: dict, text: str, depth: int = 0) -> Any:
    """A value for NODE whose every string, at any depth, is TEXT (numbers 1, booleans false)."""
    node = resolve(openapi, node)
    if depth > 6:
        return None
    for combinator in ("oneOf", "anyOf", "allOf"):
        if node.get(combinator):
            return fill_strings(openapi, node[combinator][0], text, depth + 1)
    kind = node.get("type", "object" if "properties" in node else "string")
    if kind == "object":
        properties = {
            name: fill_strings(openapi, prop, text, depth + 1)
            for name, prop in node.get("properties", {}).items()
            if not prop.get("readOnly")
        }
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not properties:
            properties[text] = fill_strings(openapi, extra, text, depth + 1)
        return properties
    if kind == "array":
        return [fill_strings(openapi, node.get("items", {}), text, depth + 1)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return text


def request_fields_with_format(openapi: dict, fmt: str) -> list[str]:
    """`METHOD path: location` of every request body property and parameter declared with `format: FMT`."""
    found: list[str] = []

    def walk(node: Any, where: str, seen: frozenset) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                if name not in seen:
                    walk(openapi["components"]["schemas"][name], f"{where}/{name}", seen | {name})
                return
            if node.get("format") == fmt and not node.get("readOnly"):
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}", seen)
        elif isinstance(node, list):
            for value in node:
                walk(value, where, seen)

    for path, method, operation in operations(openapi):
        for parameter in operation.get("parameters", []):
            walk(parameter.get("schema", {}), f"{method} {path}: parameter {parameter['name']}", frozenset())
        for content in operation.get("requestBody", {}).get("content", {}).values():
            walk(content.get("schema", {}), f"{method} {path}: body", frozenset())
    return found


def readback_path(openapi: dict, template: str) -> str:
    """The nearest route at or above TEMPLATE that answers GET: where an object's owner sees what became of it."""
    candidate = template
    while "get" not in openapi["paths"].get(candidate, {}):
        candidate = candidate.rstrip("/").rsplit("/", 1)[0] + "/"
    return candidate
