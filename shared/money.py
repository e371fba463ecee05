"""Money at the boundary: a JSON string with exactly two decimals, a `Decimal` inside, numeric(16,2) in SQL."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MONEY_PATTERN = r"^-?[0-9]{1,14}\.[0-9]{2}$"
_MONEY_RE = re.compile(MONEY_PATTERN, re.ASCII)
AMOUNT_PATTERN = r"^[0-9]{1,14}\.[0-9]{2}$"
"""An amount a province asks for (ingress): never negative; at most 14 digits before the point, as numeric(16,2)."""
CENT = Decimal("0.01")
LARGEST = Decimal("99999999999999.99")
"""The largest numeric(16,2)."""


def parse_money(value: Any) -> Decimal:
    """Accept only the wire form ("2000.00"); floats and ints are refused, never rounded."""
    if isinstance(value, Decimal):
        if not value.is_finite() or abs(value) > LARGEST:
            raise ValueError("money is a finite amount of at most 14 digits before the point")
        if value != value.quantize(CENT):
            raise ValueError("money has more than two decimals")
        return value.quantize(CENT)
    if not isinstance(value, str):
        raise ValueError('money must be a string with exactly two decimals, e.g. "2000.00"')
    if not _MONEY_RE.fullmatch(value):  # fullmatch: `$` alone also matches before a trailing newline
        raise ValueError('money must be a string with exactly two decimals, e.g. "2000.00"')
    return Decimal(value)


def parse_amount(value: Any) -> Decimal:
    """Money a province asks to move or records: as `parse_money`, and never negative."""
    amount = parse_money(value)
    if amount < 0 or (isinstance(value, str) and value.startswith("-")):  # "-0.00" too
        raise ValueError("an amount is never negative")
    return amount


def format_money(value: Decimal) -> str:
    return f"{value.quantize(CENT):.2f}"


Money = Annotated[
    Decimal,
    BeforeValidator(parse_money),
    PlainSerializer(format_money, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["2000.00"]}),
]
"""Yuan with two decimals; serialised as a string."""


Amount = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    PlainSerializer(format_money, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["2000.00"]}),
]
"""Money in an ingress message: yuan with two decimals, never negative, within numeric(16,2)."""
