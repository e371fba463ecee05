"""The ports of the clearing service's layer: what its use cases need from storage, as Protocols. PostgreSQL
implements them in services/clearing/adapters/, memory in adapters/memory.py; tests/ports/ runs one abstract test
per port against both."""

from __future__ import annotations

from typing import Protocol

from services.clearing.domain.months import Month, MonthTotals, Statement
from services.clearing.domain.obligations import Obligation


class Obligations(Protocol):
    async def add(self, obligation: Obligation) -> bool:
        """False when it was recorded already (its item_id); refused (raises) in a closed month."""

    async def forward_period(self, setl_id: str, seq: int) -> str | None:
        """The month a payment's portion was counted in (None when it was not)."""


class Months(Protocol):
    async def closed(self) -> set[str]:
        """Every closed month."""

    async def is_closed(self, period: str) -> bool: ...

    async def share(self, period: str) -> None:
        """Recording into a month holds it shared until the transaction ends; closing holds it exclusively
        (`hold`), so no item slips into a month being closed."""

    async def get(self, period: str) -> Month:
        """The month (open when it was never closed)."""

    async def hold(self, period: str) -> Month:
        """The month, held exclusively until the transaction ends."""

    async def tally(self, period: str) -> MonthTotals:
        """What closing the month would freeze now."""

    async def save(self, month: Month) -> None:
        """A month this unit of work closed: frozen with its pair totals and one statement per region."""


class Statements(Protocol):
    async def issued(self, period: str) -> list[Statement]:
        """A closed month's statements by region, each with its lines by counterpart (in region order)."""

    async def get_for_update(self, statement_id: str) -> Statement | None:
        """The statement (without its lines), held until the transaction ends."""

    async def save(self, statement: Statement) -> None:
        """Its answer and its `new_answers` (one per sender and msgid)."""
