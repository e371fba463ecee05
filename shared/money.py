"""Money at the boundary: a JSON string with exactly two decimals, a `Decimal` inside, numeric(16,2) in SQL."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MONEY_PATTERN = r"^-?[0-9]{1,14}\.[0-9]{2}$"
_MONEY_RE = re.compile(MONEY_PATTERN)
CENT = Decimal("0.01")


def parse_money(value: Any) -> Decimal:
    """Accept only the wire form ("2000.00"); floats and ints are refused, never rounded."""
    if isinstance(value, Decimal):
        if value != value.quantize(CENT):
            raise ValueError("money has more than two decimals")
        return value.quantize(CENT)
    if not isinstance(value, str):
        raise ValueError('money must be a string with exactly two decimals, e.g. "2000.00"')
    if not _MONEY_RE.match(value):
        raise ValueError('money must be a string with exactly two decimals, e.g. "2000.00"')
    return Decimal(value)


def format_money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["2000.00"]}),
]
"""Yuan with two decimals; serialised as a string."""
