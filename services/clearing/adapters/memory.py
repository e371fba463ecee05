"""The clearing service's ports in memory, for unit tests of its use cases: the same behaviour as the PostgreSQL
adapters (tests/ports/ proves it). Reads hand out copies; only the writes store them. What the clearing schema
refuses (an item in a closed month, a month closed twice, an answer's (sender, msgid) twice), this refuses too."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from services.clearing.domain.months import Line, Month, MonthTotals, Statement, StatementAnswer
from services.clearing.domain.obligations import Obligation
from services.clearing.service_layer.context import ClearingContext
from shared.caller import Caller

ZERO = Decimal("0.00")


class ClosedMonthError(Exception):
    """What the schema's triggers refuse: a closed month never changes."""


class UniqueViolationError(Exception):
    """What PostgreSQL's unique constraints would refuse."""


@dataclass
class MemoryClearing:
    items: dict[str, Obligation] = field(default_factory=dict)
    months: dict[str, Month] = field(default_factory=dict)
    """The closed months."""
    pair_totals: dict[str, dict[tuple[str, str], tuple[Decimal, Decimal]]] = field(default_factory=dict)
    """Per closed month, (region_a, region_b) with a < b -> (a owes b, b owes a)."""
    statements: dict[str, Statement] = field(default_factory=dict)
    answers: dict[tuple[str, str], tuple[str, StatementAnswer]] = field(default_factory=dict)
    """(sender, msgid) -> (statement_id, the answer)."""

    def context(self, caller: Caller) -> ClearingContext:
        return ClearingContext(
            caller,
            obligations=MemoryObligations(self),
            months=MemoryMonths(self),
            statements=MemoryStatements(self),
        )

    def lines(self, period: str) -> dict[str, tuple[Line, ...]]:
        by_region: dict[str, list[Line]] = defaultdict(list)
        for (a, b), (a_owes_b, b_owes_a) in self.pair_totals.get(period, {}).items():
            by_region[a].append(Line(b, a_owes_b, b_owes_a))
            by_region[b].append(Line(a, b_owes_a, a_owes_b))
        return {k: tuple(sorted(v, key=lambda x: x.counterpart)) for k, v in by_region.items()}


class MemoryObligations:
    def __init__(self, db: MemoryClearing) -> None:
        self.db = db

    async def add(self, obligation: Obligation) -> bool:
        if obligation.period in self.db.months:  # the schema's trigger refuses it before the key is looked at
            raise ClosedMonthError(f"month {obligation.period} is closed: items cannot change")
        if obligation.item_id in self.db.items:
            return False
        if obligation.amount <= ZERO or obligation.debtor_admdvs == obligation.creditor_admdvs:
            raise ValueError(f"item {obligation.item_id} breaks the items table's checks")
        self.db.items[obligation.item_id] = obligation
        return True

    async def forward_period(self, setl_id: str, seq: int) -> str | None:
        found = self.db.items.get(f"{setl_id}:{seq}:f")
        return None if found is None else found.period


class MemoryMonths:
    def __init__(self, db: MemoryClearing) -> None:
        self.db = db

    async def closed(self) -> set[str]:
        return set(self.db.months)

    async def is_closed(self, period: str) -> bool:
        return period in self.db.months

    async def share(self, period: str) -> None:
        return None  # one task at a time in memory

    async def get(self, period: str) -> Month:
        found = self.db.months.get(period)
        return Month(period) if found is None else replace(found, totals=None)

    async def hold(self, period: str) -> Month:
        return await self.get(period)

    async def tally(self, period: str) -> MonthTotals:
        items = [i for i in self.db.items.values() if i.period == period]
        pairs = {tuple(sorted((i.debtor_admdvs, i.creditor_admdvs))) for i in items}
        regions = {r for i in items for r in (i.debtor_admdvs, i.creditor_admdvs)}
        gross = sum((i.signed for i in items), Decimal(0))
        return MonthTotals(items=len(items), gross=gross, pairs=len(pairs), statements=len(regions))

    async def save(self, month: Month) -> None:
        if month.closed_at is None or month.closed_by is None or month.totals is None:
            raise ValueError(f"month {month.period} was not closed here: nothing to save")
        if month.period in self.db.months:
            raise UniqueViolationError(f"month {month.period} is closed already")
        period = month.period
        self.db.months[period] = replace(month, totals=None)
        totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        for i in (i for i in self.db.items.values() if i.period == period):
            a, b = sorted((i.debtor_admdvs, i.creditor_admdvs))
            a_owes_b, b_owes_a = totals.get((a, b), (ZERO, ZERO))
            if i.debtor_admdvs == a:
                a_owes_b += i.signed
            else:
                b_owes_a += i.signed
            totals[(a, b)] = (a_owes_b, b_owes_a)
        self.db.pair_totals[period] = totals
        for admdvs, lines in self.db.lines(period).items():
            owes, owed = sum((x.owes for x in lines), ZERO), sum((x.owed for x in lines), ZERO)
            statement_id = f"CS{period}{admdvs}"
            self.db.statements[statement_id] = Statement(statement_id, period, admdvs, owes, owed, owed - owes)


class MemoryStatements:
    def __init__(self, db: MemoryClearing) -> None:
        self.db = db

    async def issued(self, period: str) -> list[Statement]:
        lines = self.db.lines(period)
        found = sorted((s for s in self.db.statements.values() if s.period == period), key=lambda s: s.admdvs)
        return [replace(s, lines=lines.get(s.admdvs, ()), new_answers=[]) for s in found]

    async def get_for_update(self, statement_id: str) -> Statement | None:
        found = self.db.statements.get(statement_id)
        return None if found is None else replace(found, new_answers=[])

    async def save(self, statement: Statement) -> None:
        stored = self.db.statements.get(statement.statement_id)
        if stored is None:
            raise KeyError(statement.statement_id)
        for a in statement.new_answers:
            if (a.sender, a.msgid) in self.db.answers:
                raise UniqueViolationError(f"answer {a.sender}:{a.msgid} exists")
        for a in statement.new_answers:
            self.db.answers[(a.sender, a.msgid)] = (statement.statement_id, a)
        self.db.statements[statement.statement_id] = replace(stored, answer=statement.answer)
        statement.new_answers = []
