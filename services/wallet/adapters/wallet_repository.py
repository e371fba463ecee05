"""SQL for the wallet's copies of people, relationships, regions and policies, its wallets, freezes and lots: the
PostgreSQL side of the Members port (services/wallet/service_layer/ports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.wallet.domain.statements import FreezeRecord
from services.wallet.domain.transfers import Lot, Party, RelationshipCopy, TransferFacts
from shared.contracts.policy import RegionalPolicy, transfer_policy
from shared.db.pool import Conn


class WalletRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # -- copies from relationship.events.v1 ---------------------------------------------------

    async def upsert_person(self, p: Party, effective_at: datetime, version: int = 0) -> bool:
        """Keep the newest copy: by the relationship service's version of the person (events without one, from
        before versions: by effective_at, and never over a versioned copy). True when the copy changed."""
        done = await self.conn.fetchval(
            """INSERT INTO people
                   (psn_no, certno_hash, name_hash, insuplc_admdvs, may_provide, may_receive, effective_at, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (psn_no) DO UPDATE SET certno_hash = EXCLUDED.certno_hash, name_hash = EXCLUDED.name_hash,
                   insuplc_admdvs = EXCLUDED.insuplc_admdvs, may_provide = EXCLUDED.may_provide,
                   may_receive = EXCLUDED.may_receive, effective_at = EXCLUDED.effective_at, version = EXCLUDED.version
               WHERE CASE WHEN EXCLUDED.version > 0 THEN people.version < EXCLUDED.version
                          ELSE people.version = 0 AND people.effective_at <= EXCLUDED.effective_at END
               RETURNING true""",
            p.psn_no,
            p.certno_hash,
            p.name_hash,
            p.insuplc_admdvs,
            p.may_provide,
            p.may_receive,
            effective_at,
            version,
        )
        return bool(done)

    async def person(self, psn_no: str) -> Party | None:
        r = await self.conn.fetchrow(
            """SELECT psn_no, certno_hash, name_hash, insuplc_admdvs, may_provide, may_receive
               FROM people WHERE psn_no = $1""",
            psn_no,
        )
        return None if r is None else Party(**dict(r))

    async def people(self, *psn_nos: str) -> dict[str, Party]:
        """The enrolled people among psn_nos, in one query."""
        rows = await self.conn.fetch(
            """SELECT psn_no, certno_hash, name_hash, insuplc_admdvs, may_provide, may_receive
               FROM people WHERE psn_no = ANY($1::text[])""",
            list(psn_nos),
        )
        return {r["psn_no"]: Party(**dict(r)) for r in rows}

    async def transfer_facts(
        self, from_psn_no: str, to_psn_no: str, sender_admdvs: str | None, day: str
    ) -> TransferFacts:
        """What a transfer request is judged on besides the people and the balance, in one query: the recipient's
        wallet region, the established relationship, both regions' wallet switches, a transfer already pending
        between them, the sender's transfers of the day, and both freezes."""
        row = await self.conn.fetchrow(
            """SELECT
                 (SELECT usage_admdvs FROM wallets WHERE psn_no = $2) AS wallet_region,
                 (SELECT relationship_id::text FROM relationships
                   WHERE provider_psn_no = $1 AND recipient_psn_no = $2 AND established LIMIT 1) AS relationship_id,
                 coalesce((SELECT wallet_enabled FROM regions WHERE admdvs = $3), false) AS sender_region_enabled,
                 coalesce((SELECT r.wallet_enabled FROM wallets w JOIN regions r ON r.admdvs = w.usage_admdvs
                            WHERE w.psn_no = $2), false) AS recipient_region_enabled,
                 EXISTS (SELECT 1 FROM transfer_sagas
                          WHERE from_psn_no = $1 AND to_psn_no = $2 AND state = 'pending') AS pending_to,
                 (SELECT count(*) FROM transfer_sagas WHERE from_psn_no = $1 AND business_day = $4) AS sent_today,
                 coalesce((SELECT frozen FROM freezes WHERE psn_no = $1), false) AS sender_frozen,
                 coalesce((SELECT frozen FROM freezes WHERE psn_no = $2), false) AS recipient_frozen""",
            from_psn_no,
            to_psn_no,
            sender_admdvs,
            day,
        )
        assert row is not None
        return TransferFacts(**dict(row))

    async def any_frozen(self, *psn_nos: str) -> bool:
        frozen = await self.conn.fetchval(
            "SELECT bool_or(frozen) FROM freezes WHERE psn_no = ANY($1::text[])", list(psn_nos)
        )
        return bool(frozen)

    async def relationship_established(self, rel: RelationshipCopy) -> bool:
        """Copy an establishment unless the copy is newer: ended (final), or at a higher version. True when
        applied."""
        done = await self.conn.fetchval(
            """INSERT INTO relationships (relationship_id, provider_psn_no, recipient_psn_no, established,
                   provider_admdvs, recipient_admdvs, version) VALUES ($1, $2, $3, true, $4, $5, $6)
               ON CONFLICT (relationship_id) DO UPDATE SET established = true, version = EXCLUDED.version,
                   updated_at = now()
               WHERE relationships.ended_at IS NULL AND relationships.version < EXCLUDED.version
               RETURNING true""",
            *self._copied(rel),
        )
        return bool(done)

    @staticmethod
    def _copied(rel: RelationshipCopy) -> tuple[str, str, str, str, str, int]:
        """A relationship's columns, in the order of its table."""
        return (
            rel.relationship_id,
            rel.provider_psn_no,
            rel.recipient_psn_no,
            rel.provider_admdvs,
            rel.recipient_admdvs,
            rel.version or 0,
        )

    async def relationship_ended(self, rel: RelationshipCopy, at: datetime) -> None:
        """An end is final, whatever arrives after it (or arrived before it)."""
        await self.conn.execute(
            """INSERT INTO relationships (relationship_id, provider_psn_no, recipient_psn_no, established,
                   provider_admdvs, recipient_admdvs, version, ended_at) VALUES ($1, $2, $3, false, $4, $5, $6, $7)
               ON CONFLICT (relationship_id) DO UPDATE SET established = false,
                   version = greatest(relationships.version, EXCLUDED.version),
                   ended_at = coalesce(relationships.ended_at, EXCLUDED.ended_at), updated_at = now()""",
            *self._copied(rel),
            at,
        )

    async def stop_using(self, relationship_id: str, at: datetime) -> None:
        """An end known only by the relationship's id (its event could not be applied): ended in the copy."""
        await self.conn.execute(
            """UPDATE relationships SET established = false, ended_at = coalesce(ended_at, $2), updated_at = now()
               WHERE relationship_id = $1""",
            relationship_id,
            at,
        )

    async def established_relationship(self, provider: str, recipient: str) -> str | None:
        value = await self.conn.fetchval(
            """SELECT relationship_id FROM relationships
               WHERE provider_psn_no = $1 AND recipient_psn_no = $2 AND established LIMIT 1""",
            provider,
            recipient,
        )
        return None if value is None else str(value)

    async def record_policy(self, admdvs: str, settings: dict[str, Any], version: int) -> None:
        await self.conn.execute(
            """INSERT INTO policies (admdvs, settings, version) VALUES ($1, $2, $3)
               ON CONFLICT (admdvs) DO UPDATE SET settings = EXCLUDED.settings, version = EXCLUDED.version
               WHERE policies.version < EXCLUDED.version""",
            admdvs,
            settings,
            version,
        )

    async def policy_for(self, admdvs: str) -> RegionalPolicy:
        levels = sorted({"000000", admdvs[:2] + "0000", admdvs})
        rows = await self.conn.fetch("SELECT admdvs, settings FROM policies WHERE admdvs = ANY($1::text[])", levels)
        return transfer_policy(admdvs, {r["admdvs"]: r["settings"] for r in rows})

    # -- regions and wallets ----------------------------------------------------------------------

    async def set_region_wallet_status(self, admdvs: str, enabled: bool) -> bool:
        """Returns True when the status changed."""
        row = await self.conn.fetchrow(
            """INSERT INTO regions (admdvs, wallet_enabled) VALUES ($1, $2)
               ON CONFLICT (admdvs) DO UPDATE SET wallet_enabled = EXCLUDED.wallet_enabled, updated_at = now()
               WHERE regions.wallet_enabled IS DISTINCT FROM EXCLUDED.wallet_enabled
               RETURNING admdvs""",
            admdvs,
            enabled,
        )
        return row is not None

    async def region_enabled(self, admdvs: str) -> bool:
        return bool(await self.conn.fetchval("SELECT wallet_enabled FROM regions WHERE admdvs = $1", admdvs))

    async def lock_people(self, *psn_nos: str) -> None:
        """Serializes what a freeze decides against what a freeze stops (transfers, accepts, payments): every such
        path takes the people's locks first, in one order, for its transaction."""
        # One statement: unnest yields the sorted array's elements in order, and the aggregate takes each lock as
        # the rows come, so the locks are taken in that one order.
        await self.conn.execute(
            "SELECT count(pg_advisory_xact_lock(hashtext('wallet-person:' || p))) FROM unnest($1::text[]) AS p",
            sorted(set(psn_nos)),
        )

    async def frozen(self, psn_no: str) -> bool:
        """Read under lock_people (a freeze takes it too)."""
        return bool(await self.conn.fetchval("SELECT frozen FROM freezes WHERE psn_no = $1", psn_no))

    async def frozen_by(self, psn_no: str) -> str | None:
        """`province` or `national` while frozen, else None."""
        value = await self.conn.fetchval("SELECT frozen_by FROM freezes WHERE psn_no = $1 AND frozen", psn_no)
        return None if value is None else str(value)

    async def record_freeze(self, psn_no: str, request: FreezeRecord, msgid: str, frozen_by: str | None) -> None:
        """The request (`action`: frozen or unfrozen) in the history, whatever it changed; and when it changed
        something, the person's state (frozen_by None: not frozen)."""
        r = request
        if r.changed:
            await self.conn.execute(
                """INSERT INTO freezes (psn_no, frozen, frozen_by, reason, changed_at) VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (psn_no) DO UPDATE SET frozen = EXCLUDED.frozen, frozen_by = EXCLUDED.frozen_by,
                       reason = EXCLUDED.reason, changed_at = EXCLUDED.changed_at""",
                psn_no,
                frozen_by is not None,
                frozen_by,
                r.reason,
                r.at,
            )
        await self.conn.execute(
            """INSERT INTO freeze_history (psn_no, seq, at, action, changed, reason, sender, msgid)
               SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6, $7 FROM freeze_history WHERE psn_no = $1""",
            psn_no,
            r.at,
            r.action,
            r.changed,
            r.reason,
            r.sender,
            msgid,
        )

    async def freeze_history(self, psn_no: str) -> list[dict[str, Any]]:
        rows = await self.conn.fetch(
            """SELECT seq, at, action, changed, reason, sender, msgid FROM freeze_history WHERE psn_no = $1
               ORDER BY seq""",
            psn_no,
        )
        return [dict(r) for r in rows]

    async def wallet_region(self, psn_no: str) -> str | None:
        value = await self.conn.fetchval("SELECT usage_admdvs FROM wallets WHERE psn_no = $1", psn_no)
        return None if value is None else str(value)

    async def open_wallet(self, psn_no: str, usage_admdvs: str, at: datetime) -> bool:
        """True when newly opened (an opened wallet keeps its usage region)."""
        row = await self.conn.fetchrow(
            """INSERT INTO wallets (psn_no, usage_admdvs, opened_at) VALUES ($1, $2, $3)
               ON CONFLICT (psn_no) DO NOTHING RETURNING psn_no""",
            psn_no,
            usage_admdvs,
            at,
        )
        return row is not None

    # -- lots ------------------------------------------------------------------------------------------

    async def add_lot(self, lot: Lot, relationship_id: str, at: datetime) -> None:
        await self.conn.execute(
            """INSERT INTO lots (lot_id, wallet_psn_no, provider_psn_no, funding_admdvs, relationship_id, amount,
                   remaining, created_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)""",
            lot.lot_id,
            lot.wallet_psn_no,
            lot.provider_psn_no,
            lot.funding_admdvs,
            relationship_id,
            lot.remaining,
            at,
        )

    async def lock_lots_of(self, relationship_id: str) -> list[Lot]:
        """All the relationship's lots, locked (spent ones too: a refund may be filling one right now), in the
        lock order of payments: lots before accounts, by (created_at, lot_id)."""
        rows = await self.conn.fetch(
            """SELECT lot_id, wallet_psn_no, provider_psn_no, remaining, funding_admdvs FROM lots
               WHERE relationship_id = $1 ORDER BY created_at, lot_id FOR UPDATE""",
            relationship_id,
        )
        return [Lot(**dict(r)) for r in rows]

    async def empty_lot(self, lot_id: str) -> None:
        await self.conn.execute("UPDATE lots SET remaining = 0 WHERE lot_id = $1", lot_id)
