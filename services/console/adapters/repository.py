"""The console's own schema: operators, the audit log and the read model. Nothing here reads another schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.console.domain.access import SessionRecord
from services.console.domain.model import Change, SagaChange, batch
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
        """A batch's changes and where each partition now stands, in the caller's transaction: one statement per
        table (and per round of a saga's changes, see `batch`), not one per change."""
        b = batch(changes)
        for round_ in b.saga_rounds:
            await self._sagas(round_)
        if b.steps:
            await self.conn.execute(
                """INSERT INTO saga_steps (kind, saga_id, at, type, msgid, topic, detail)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
                                        $7::text[])
                   ON CONFLICT DO NOTHING""",
                [c.kind for c in b.steps],
                [c.saga_id for c in b.steps],
                [c.at for c in b.steps],
                [c.type for c in b.steps],
                [c.msgid for c in b.steps],
                [c.topic for c in b.steps],
                [c.detail for c in b.steps],
            )
        if b.answers:
            await self.conn.execute(
                """INSERT INTO answers (answer_msgid, omsgid, otype, status, reason_code, topic, kind, saga_id, at)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                        $7::text[], $8::text[], $9::timestamptz[])
                   ON CONFLICT DO NOTHING""",
                [c.answer_msgid for c in b.answers],
                [c.omsgid for c in b.answers],
                [c.otype for c in b.answers],
                [c.status for c in b.answers],
                [c.reason_code for c in b.answers],
                [c.topic for c in b.answers],
                [c.kind for c in b.answers],
                [c.saga_id for c in b.answers],
                [c.at for c in b.answers],
            )
        if b.months:
            await self.conn.execute(
                """INSERT INTO months AS m (period, items, closed_at, statements, gross)
                   SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::numeric[])
                   ON CONFLICT (period) DO UPDATE SET items = m.items + EXCLUDED.items,
                       closed_at = COALESCE(EXCLUDED.closed_at, m.closed_at),
                       statements = COALESCE(EXCLUDED.statements, m.statements),
                       gross = COALESCE(EXCLUDED.gross, m.gross)""",
                [c.period for c in b.months],
                [c.items for c in b.months],
                [c.closed_at for c in b.months],
                [c.statements for c in b.months],
                [c.gross for c in b.months],
            )
        if b.statement_answers:
            await self.conn.execute(
                """INSERT INTO statement_answers (statement_id, period, admdvs, answer, reason, at)
                   SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                        $6::timestamptz[])
                   ON CONFLICT (statement_id) DO UPDATE SET answer = EXCLUDED.answer, reason = EXCLUDED.reason,
                       at = EXCLUDED.at""",
                [c.statement_id for c in b.statement_answers],
                [c.period for c in b.statement_answers],
                [c.admdvs for c in b.statement_answers],
                [c.answer for c in b.statement_answers],
                [c.reason for c in b.statement_answers],
                [c.at for c in b.statement_answers],
            )
        if positions:
            await self.conn.execute(
                """INSERT INTO read_positions AS r (topic, partition, next_offset)
                   SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
                   ON CONFLICT (topic, partition)
                   DO UPDATE SET next_offset = GREATEST(r.next_offset, EXCLUDED.next_offset)""",
                [t for t, _ in positions],
                [p for _, p in positions],
                list(positions.values()),
            )

    async def _sagas(self, changes: Sequence[SagaChange]) -> None:
        """At most one change per saga (a row is updated once per statement); the rules of a saga's row as one
        change's upsert had them."""
        await self.conn.execute(
            """INSERT INTO sagas AS s (kind, saga_id, state, state_rank, amount, psn_no, other_psn_no, region, detail,
                                       started_at, updated_at)
               SELECT kind, saga_id, state, rank, amount, psn_no, other_psn_no, region, detail,
                      CASE WHEN starts THEN at END, at
               FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::numeric[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::bool[], $11::timestamptz[])
                    AS u(kind, saga_id, state, rank, amount, psn_no, other_psn_no, region, detail, starts, at)
               ON CONFLICT (kind, saga_id) DO UPDATE SET
                   state = CASE WHEN EXCLUDED.state_rank >= s.state_rank THEN EXCLUDED.state ELSE s.state END,
                   state_rank = GREATEST(EXCLUDED.state_rank, s.state_rank),
                   amount = COALESCE(s.amount, EXCLUDED.amount),
                   psn_no = COALESCE(s.psn_no, EXCLUDED.psn_no),
                   other_psn_no = COALESCE(s.other_psn_no, EXCLUDED.other_psn_no),
                   region = COALESCE(EXCLUDED.region, s.region),
                   detail = CASE WHEN EXCLUDED.state_rank >= s.state_rank THEN COALESCE(EXCLUDED.detail, s.detail)
                                 ELSE s.detail END,
                   started_at = COALESCE(s.started_at, EXCLUDED.started_at),
                   updated_at = GREATEST(s.updated_at, EXCLUDED.updated_at)""",
            [c.kind for c in changes],
            [c.saga_id for c in changes],
            [c.state for c in changes],
            [c.rank for c in changes],
            [c.amount for c in changes],
            [c.psn_no for c in changes],
            [c.other_psn_no for c in changes],
            [c.region for c in changes],
            [c.detail for c in changes],
            [c.starts for c in changes],
            [c.at for c in changes],
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
