"""The console's read model written a poll at a time (issue 30: one set-based statement per table) ends exactly where
the statements of one change at a time, as the projector ran them before, left it: random polls of saga changes out
of order, repeated steps and answers, months' obligations and closings, statement answers told twice."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from services.console.adapters.repository import ConsoleRepository
from services.console.app import prepare
from services.console.domain.model import (
    SETTLEMENT_STATES,
    Answer,
    Change,
    MonthChange,
    SagaChange,
    StatementAnswer,
    Step,
)
from shared.db.pool import create_pool
from shared.settings import CONSOLE
from tests.conftest import new_database
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 5, 9, tzinfo=UTC)
TABLES = {
    "sagas": "kind, saga_id",
    "saga_steps": "kind, saga_id, msgid",
    "answers": "answer_msgid",
    "months": "period",
    "statement_answers": "statement_id",
    "read_positions": "topic, partition",
}


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool[Any]]:
    settings = await new_database(infra, "console")
    await prepare(settings)
    pool = await create_pool(settings.dsn(CONSOLE), max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def one_at_a_time(conn: Any, changes: list[Change], positions: dict[tuple[str, int], int]) -> None:
    """The statements ConsoleRepository.apply ran per change before issue 30 (commit 9682e7e), kept as the rule."""
    for c in changes:
        if isinstance(c, SagaChange):
            await conn.execute(
                """INSERT INTO sagas (kind, saga_id, state, state_rank, amount, psn_no, other_psn_no, region, detail,
                                      started_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN $11::timestamptz END, $11)
                   ON CONFLICT (kind, saga_id) DO UPDATE SET
                       state = CASE WHEN $4 >= sagas.state_rank THEN $3 ELSE sagas.state END,
                       state_rank = GREATEST($4, sagas.state_rank),
                       amount = COALESCE(sagas.amount, $5),
                       psn_no = COALESCE(sagas.psn_no, $6),
                       other_psn_no = COALESCE(sagas.other_psn_no, $7),
                       region = COALESCE($8, sagas.region),
                       detail = CASE WHEN $4 >= sagas.state_rank THEN COALESCE($9, sagas.detail)
                                     ELSE sagas.detail END,
                       started_at = COALESCE(sagas.started_at, CASE WHEN $10 THEN $11::timestamptz END),
                       updated_at = GREATEST(sagas.updated_at, $11)""",
                c.kind,
                c.saga_id,
                c.state,
                c.rank,
                c.amount,
                c.psn_no,
                c.other_psn_no,
                c.region,
                c.detail,
                c.starts,
                c.at,
            )
        elif isinstance(c, Step):
            await conn.execute(
                """INSERT INTO saga_steps (kind, saga_id, at, type, msgid, topic, detail)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
                c.kind,
                c.saga_id,
                c.at,
                c.type,
                c.msgid,
                c.topic,
                c.detail,
            )
        elif isinstance(c, Answer):
            await conn.execute(
                """INSERT INTO answers (answer_msgid, omsgid, otype, status, reason_code, topic, kind, saga_id, at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
                c.answer_msgid,
                c.omsgid,
                c.otype,
                c.status,
                c.reason_code,
                c.topic,
                c.kind,
                c.saga_id,
                c.at,
            )
        elif isinstance(c, MonthChange):
            await conn.execute(
                """INSERT INTO months (period, items, closed_at, statements, gross) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (period) DO UPDATE SET items = months.items + $2,
                       closed_at = COALESCE($3, months.closed_at), statements = COALESCE($4, months.statements),
                       gross = COALESCE($5, months.gross)""",
                c.period,
                c.items,
                c.closed_at,
                c.statements,
                c.gross,
            )
        else:
            await conn.execute(
                """INSERT INTO statement_answers (statement_id, period, admdvs, answer, reason, at)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (statement_id) DO UPDATE SET answer = $4, reason = $5, at = $6""",
                c.statement_id,
                c.period,
                c.admdvs,
                c.answer,
                c.reason,
                c.at,
            )
    await conn.executemany(
        """INSERT INTO read_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
           ON CONFLICT (topic, partition) DO UPDATE SET next_offset = GREATEST(read_positions.next_offset, $3)""",
        [(t, p, o) for (t, p), o in positions.items()],
    )


def a_change(rng: random.Random) -> Change:
    at = T0 + timedelta(seconds=rng.randrange(100))
    maybe = rng.random
    pick = rng.randrange(10)
    if pick < 4:
        state = rng.choice(list(SETTLEMENT_STATES))
        return SagaChange(
            "settlement",
            f"s{rng.randrange(4)}",
            state,
            SETTLEMENT_STATES[state],
            at,
            amount=Decimal(rng.randrange(1, 999)) / 100 if maybe() < 0.5 else None,
            psn_no=f"p{rng.randrange(3)}" if maybe() < 0.5 else None,
            other_psn_no=f"o{rng.randrange(3)}" if maybe() < 0.5 else None,
            region=rng.choice(["440000", "110102"]) if maybe() < 0.4 else None,
            detail=f"d{rng.randrange(5)}" if maybe() < 0.7 else None,
            starts=maybe() < 0.3,
        )
    if pick < 6:
        return Step("settlement", f"s{rng.randrange(4)}", at, "t", f"m{rng.randrange(6)}", "x", f"d{rng.randrange(3)}")
    if pick < 7:
        kind, saga = rng.choice([("transfer", "t1"), (None, None)])
        return Answer(f"a{rng.randrange(5)}", f"o{rng.randrange(3)}", "ot", "ok", None, "x", kind, saga, at)
    if pick < 9:
        closing = maybe() < 0.3
        return MonthChange(
            rng.choice(["202611", "202612"]),
            items=0 if closing else 1,
            closed_at=at if closing else None,
            statements=rng.randrange(5) if closing and maybe() < 0.7 else None,
            gross=Decimal(rng.randrange(1, 99999)) / 100 if closing and maybe() < 0.7 else None,
        )
    return StatementAnswer(
        f"st{rng.randrange(3)}", "202611", "440000", rng.choice(["accept", "dispute"]), rng.choice([None, "r"]), at
    )


async def snapshot(conn: Any) -> dict[str, list[dict[str, Any]]]:
    return {t: [dict(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY {key}")] for t, key in TABLES.items()}


async def test_a_poll_written_at_once_ends_where_one_change_at_a_time_ends(pool: asyncpg.Pool[Any]) -> None:
    rng = random.Random(30)
    async with pool.acquire() as conn:
        for _trial in range(40):
            polls = [[a_change(rng) for _ in range(rng.randrange(1, 30))] for _ in range(rng.randrange(1, 4))]
            where = [{("x", p): rng.randrange(1000) for p in range(rng.randrange(3))} for _ in polls]
            for how in ("one at a time", "a poll at once"):
                async with conn.transaction():
                    for table in TABLES:
                        await conn.execute(f"DELETE FROM {table}")
                    for changes, positions in zip(polls, where, strict=True):
                        if how == "one at a time":
                            await one_at_a_time(conn, changes, positions)
                        else:
                            await ConsoleRepository(conn).apply(changes, positions)
                if how == "one at a time":
                    expected = await snapshot(conn)
                else:
                    assert await snapshot(conn) == expected, polls
