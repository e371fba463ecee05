"""The console's own schema: operators, the audit log and the read model. Nothing here reads another schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.console.domain.access import SessionRecord
from services.console.domain.model import Answer, Change, MonthChange, SagaChange, StatementAnswer, Step
from shared.db.pool import Conn


class ConsoleRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # -- operators and the audit log ------------------------------------------------------------------------

    async def any_operator(self) -> bool:
        return bool(await self.conn.fetchval("SELECT EXISTS (SELECT 1 FROM operators)"))

    async def operator(self, name: str) -> Any:
        return await self.conn.fetchrow(
            "SELECT name, password_hash, role FROM operators WHERE name = $1 AND disabled_at IS NULL", name
        )

    async def save_operator(self, name: str, password_hash: str, role: str) -> None:
        """Create an operator or reset one (its password, its role, enabled again); a reset ends its sessions."""
        await self.conn.execute(
            """INSERT INTO operators (name, password_hash, role) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET password_hash = $2, role = $3, disabled_at = NULL""",
            name,
            password_hash,
            role,
        )
        await self.end_sessions(name)

    async def add_first_operator(self, name: str, password_hash: str, role: str) -> bool:
        """`name` as the console's first operator, only while there is no operator at all (a disabled one counts).
        True if it was made."""
        made = await self.conn.fetchval(
            """INSERT INTO operators (name, password_hash, role)
               SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM operators)
               ON CONFLICT (name) DO NOTHING RETURNING name""",
            name,
            password_hash,
            role,
        )
        return made is not None

    async def set_role(self, name: str, role: str) -> bool:
        return (
            await self.conn.fetchval("UPDATE operators SET role = $2 WHERE name = $1 RETURNING true", name, role)
            is True
        )

    async def disable(self, name: str) -> bool:
        done = await self.conn.fetchval(
            "UPDATE operators SET disabled_at = COALESCE(disabled_at, now()) WHERE name = $1 RETURNING true", name
        )
        await self.end_sessions(name)
        return done is True

    async def end_sessions(self, name: str) -> None:
        await self.conn.execute(
            "UPDATE sessions SET revoked_at = now() WHERE operator = $1 AND revoked_at IS NULL", name
        )

    # -- sessions and failed logins -------------------------------------------------------------------------

    async def open_session(
        self, token_hash: str, operator: str, csrf: str, address: str, at: datetime, expires_at: datetime
    ) -> None:
        await self.conn.execute(
            """INSERT INTO sessions (token_hash, operator, csrf, address, created_at, expires_at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            token_hash,
            operator,
            csrf,
            address,
            at,
            expires_at,
        )

    async def session(self, token_hash: str) -> SessionRecord | None:
        row = await self.conn.fetchrow(
            """SELECT s.operator, o.role, s.csrf, s.expires_at, s.revoked_at, o.disabled_at
               FROM sessions s JOIN operators o ON o.name = s.operator WHERE s.token_hash = $1""",
            token_hash,
        )
        if row is None:
            return None
        return SessionRecord(row[0], row[1], row[2], row[3], row[4], row[5])

    async def revoke_session(self, token_hash: str) -> None:
        await self.conn.execute(
            "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL", token_hash
        )

    async def login_failures(
        self, operator: str | None, address: str, since: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        """The failed logins since `since`: of the operator (none for an unknown name), and from the address."""
        by_name = (
            []
            if operator is None
            else [
                r[0]
                for r in await self.conn.fetch(
                    "SELECT at FROM login_failures WHERE operator = $1 AND at >= $2", operator, since
                )
            ]
        )
        by_address = [
            r[0]
            for r in await self.conn.fetch(
                "SELECT at FROM login_failures WHERE address = $1 AND at >= $2", address, since
            )
        ]
        return by_name, by_address

    async def lock_login(self, operator: str) -> None:
        """Until the transaction ends, no other login of `operator` decides (it waits here)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('console-login:' || $1, 0))", operator)

    async def login_failed(self, operator: str | None, address: str, at: datetime, forget_before: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO login_failures (at, operator, address) VALUES ($1, $2, $3)", at, operator, address
        )
        await self.conn.execute("DELETE FROM login_failures WHERE at < $1", forget_before)

    async def login_succeeded(self, operator: str) -> None:
        """A right password clears the name's failures (not the address's: other names may be tried from it)."""
        await self.conn.execute("DELETE FROM login_failures WHERE operator = $1", operator)

    async def update_hash(self, name: str, password_hash: str) -> None:
        await self.conn.execute("UPDATE operators SET password_hash = $2 WHERE name = $1", name, password_hash)

    async def operators(self) -> list[Any]:
        return list(await self.conn.fetch("SELECT name, role, created_at, disabled_at FROM operators ORDER BY name"))

    async def audit(self, operator: str, action: str, target: str, outcome: str, detail: dict[str, Any]) -> None:
        await self.conn.execute(
            "INSERT INTO audit_log (operator, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5)",
            operator,
            action,
            target,
            outcome,
            detail,
        )

    async def audit_log(self, limit: int = 200) -> list[Any]:
        return list(await self.conn.fetch("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1", limit))

    # -- the read model: written --------------------------------------------------------------------------

    async def positions(self) -> dict[tuple[str, int], int]:
        rows = await self.conn.fetch("SELECT topic, partition, next_offset FROM read_positions")
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def apply(self, changes: Sequence[Change], positions: dict[tuple[str, int], int]) -> None:
        """A batch's changes and where each partition now stands, in the caller's transaction."""
        for c in changes:
            if isinstance(c, SagaChange):
                await self._saga(c)
            elif isinstance(c, Step):
                await self.conn.execute(
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
                await self.conn.execute(
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
                await self.conn.execute(
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
            elif isinstance(c, StatementAnswer):
                await self.conn.execute(
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
        if positions:
            await self.conn.executemany(
                """INSERT INTO read_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
                   ON CONFLICT (topic, partition)
                   DO UPDATE SET next_offset = GREATEST(read_positions.next_offset, $3)""",
                [(t, p, o) for (t, p), o in positions.items()],
            )

    async def _saga(self, c: SagaChange) -> None:
        await self.conn.execute(
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
                   detail = CASE WHEN $4 >= sagas.state_rank THEN COALESCE($9, sagas.detail) ELSE sagas.detail END,
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

    # -- the read model: read -----------------------------------------------------------------------------

    async def sagas(
        self,
        kind: str | None,
        state: str | None,
        older_than: datetime | None,
        search: str | None,
        limit: int = 100,
    ) -> list[Any]:
        """Newest first. `search`: a transfer id, setl_id, a msgid (of a request, an answer or an event) or a
        psn_no."""
        return list(
            await self.conn.fetch(
                """SELECT s.* FROM sagas s
                   WHERE ($1::text IS NULL OR s.kind = $1) AND ($2::text IS NULL OR s.state = $2)
                     AND ($3::timestamptz IS NULL OR COALESCE(s.started_at, s.updated_at) <= $3)
                     AND ($4::text IS NULL
                          OR s.saga_id = $4 OR s.psn_no = $4 OR s.other_psn_no = $4
                          OR (s.kind, s.saga_id) IN (SELECT a.kind, a.saga_id FROM answers a
                                                     WHERE a.omsgid = $4 OR a.answer_msgid = $4)
                          OR (s.kind, s.saga_id) IN (SELECT t.kind, t.saga_id FROM saga_steps t WHERE t.msgid = $4))
                   ORDER BY COALESCE(s.started_at, s.updated_at) DESC LIMIT $5""",
                kind,
                state,
                older_than,
                search,
                limit,
            )
        )

    async def saga(self, kind: str, saga_id: str) -> tuple[Any, list[Any]]:
        saga = await self.conn.fetchrow("SELECT * FROM sagas WHERE kind = $1 AND saga_id = $2", kind, saga_id)
        steps = await self.conn.fetch(
            "SELECT * FROM saga_steps WHERE kind = $1 AND saga_id = $2 ORDER BY at, msgid", kind, saga_id
        )
        return saga, list(steps)

    async def counts(self) -> list[Any]:
        return list(
            await self.conn.fetch(
                """SELECT kind, state, count(*) AS n, min(COALESCE(started_at, updated_at)) AS oldest
                   FROM sagas GROUP BY kind, state ORDER BY kind, state"""
            )
        )

    async def answers_to(self, msgids: Sequence[str]) -> dict[str, list[Any]]:
        rows = await self.conn.fetch(
            "SELECT * FROM answers WHERE omsgid = ANY($1::text[]) ORDER BY at, answer_msgid", list(msgids)
        )
        out: dict[str, list[Any]] = {}
        for r in rows:
            out.setdefault(r["omsgid"], []).append(r)
        return out

    async def months(self) -> list[Any]:
        return list(await self.conn.fetch("SELECT * FROM months ORDER BY period DESC"))

    async def statement_answers(self) -> list[Any]:
        return list(await self.conn.fetch("SELECT * FROM statement_answers ORDER BY period DESC, admdvs"))


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)
