"""Hypothesis strategies for the JSON Schema subset tools.contracts generates (pydantic's output: $ref, anyOf,
const, enum, type, pattern, format, lengths, bounds, items, properties, required, additionalProperties). The
library for this, hypothesis-jsonschema 0.23.1, fails on objects with hypothesis 6.170 ('many' object has no
attribute 'more'), so this small one stands in."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """What a producer may send under `schema` (every required property; optional ones sometimes)."""
    root = root or schema
    if "$ref" in schema:
        return st.deferred(lambda: from_schema(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(s, root) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "string":
        return _string(schema)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), root), max_size=4)
    if kind == "object" or "properties" in schema:
        return _object(schema, root)
    return st.none() | st.booleans() | st.integers() | st.text(max_size=8)  # {}: anything


def _string(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "date-time":
        return st.datetimes(timezones=_ZONES).map(lambda d: d.isoformat())
    if fmt == "date":
        return st.dates().map(lambda d: d.isoformat())
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if "pattern" in schema:
        found = st.from_regex(schema["pattern"], fullmatch=True)
        return found.filter(lambda s: low <= len(s) and (high is None or len(s) <= high))
    return st.text(min_size=low, max_size=high if high is not None else 20)


def _object(schema: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        extra = schema.get("additionalProperties", {})
        values = from_schema(extra, root) if isinstance(extra, dict) else st.none()
        return st.dictionaries(st.text(max_size=8), values, max_size=3)
    required = set(schema.get("required", []))
    fields = {k: from_schema(v, root) for k, v in properties.items() if k in required}
    optional = {k: from_schema(v, root) for k, v in properties.items() if k not in required}
    return st.fixed_dictionaries(fields, optional=optional)
