"""Reading what anyone may have written: every function here is total over its input.

A record's bytes can hold invalid UTF-8, JSON escapes of lone surrogates (which Python decodes into strings
that cannot be encoded again), NUL characters (which PostgreSQL text and jsonb refuse), numbers that
overflow to infinity, or nesting deep enough to exhaust the interpreter's recursion. None of that may reach
a handler, a stored answer or a dead-letter record: it is found here, before, and described in words that
are themselves safe to store and publish.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.identity import redact_text

MAX_DEPTH = 32
"""Deeper JSON than any message of the contract (a few levels) is refused before anything walks it."""

_TRAILING_DIGITS = re.compile(r"[0-9Xx]+$")


def clean_text(text: str, limit: int = 4000, cut: bool = False) -> str:
    """Text fit for any store and any encoder: lone surrogates replaced, NUL shown as \\0, at most `limit`
    characters, ID numbers masked, also one cut in two by the limit or, with `cut`, by whoever cut the text."""
    safe = text.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\\0")
    if len(safe) > limit:
        safe, cut = safe[:limit], True
    if cut:
        safe = _TRAILING_DIGITS.sub(lambda m: "*" * len(m.group(0)), safe) + "..."
    return redact_text(safe)


def sanitize(value: Any) -> Any:
    """A copy of a parsed JSON value that any encoder and store accepts: strings cleaned (lone surrogates,
    NULs), infinities and NaN as strings, containers deeper than MAX_DEPTH replaced by a note. Iterative."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 1)]
    while stack:
        item, into, at, level = stack.pop()
        if isinstance(item, dict | list) and level > MAX_DEPTH:
            into[at] = f"(nested deeper than {MAX_DEPTH} levels)"
        elif isinstance(item, dict):
            copy: dict[str, Any] = {}
            into[at] = copy
            for k, v in item.items():
                key = clean_text(str(k), 200)
                copy[key] = None
                stack.append((v, copy, key, level + 1))
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            into[at] = items
            stack.extend((v, items, i, level + 1) for i, v in enumerate(item))
        elif isinstance(item, str):
            into[at] = item.encode("utf-8", errors="replace").decode("utf-8").replace("\x00", "\\0")
        elif (isinstance(item, float) and item != item) or item in (float("inf"), float("-inf")):
            into[at] = repr(item)
        else:
            into[at] = item
    return root[0]


def _scan(value: Any) -> str | None:
    """Too deep, or a NUL in a string or a key: found without recursion."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "text with a NUL character"
        elif isinstance(item, dict | list):
            if level > MAX_DEPTH:
                return f"nested more than {MAX_DEPTH} levels deep"
            if isinstance(item, dict):
                stack.extend((k, level) for k in item)
                stack.extend((v, level + 1) for v in item.values())
            else:
                stack.extend((v, level + 1) for v in item)
    return None


def unfit(value: Any) -> str | None:
    """Why a parsed JSON value cannot be processed or stored as it is, or None when it can."""
    problem = _scan(value)
    if problem:
        return problem
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return "text with a lone surrogate (not UTF-8)"
    except (ValueError, RecursionError, TypeError):
        return "a number out of range (infinity or not a number)"
    return None


def parse(raw: bytes) -> tuple[Any, str | None]:
    """(the JSON value, why it cannot be processed as it is, or None). The value is None when the bytes are not
    JSON at all; it is there, but unfit, when it holds what `unfit` finds (so its sender can still be read)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        return None, f"nested more than {MAX_DEPTH} levels deep"
    except (ValueError, UnicodeDecodeError) as exc:
        return None, clean_text(f"not JSON: {exc}", 300)
    return value, unfit(value)
