"""The unit of work a clearing use case runs in: the `Caller` it acts for and one transaction's ports (built by
entrypoints/unit_of_work.py on PostgreSQL, adapters/memory.py in tests)."""

from __future__ import annotations

from dataclasses import dataclass

from services.clearing.service_layer.ports import Months, Obligations, Statements
from shared.caller import Caller


@dataclass(frozen=True)
class ClearingContext:
    caller: Caller
    obligations: Obligations
    months: Months
    statements: Statements
