"""The invariants after a torture run, from outside (what the provinces were told: answers, notifications, the
members' statements) and from inside (each service's tables read with its own role, and the platform's books,
tools/books.py, every check it has).

Outside:
  * every message answered; one answer per record sent, and a resend gets the original answer again (same status,
    reason and ids); no record refused as unsigned or stale, and no dead letter of a message the run sent;
  * each transfer told as the wallet ended it: completed (and maybe later its unspent quota back, told returned
    relationship_ended, never more than it brought), or returned for the wallet's reason, or nothing while pending;
  * each settlement told as the payment service kept it (acct_pay, acct_mulaid_pay, wallet_pay; cancelled or not);
  * each member's wallet.statement (at the end) shows the ledger's balances and quota by funding region; every
    transfer.completed the relative's province was told is a transfer_in of their statement, and no other;
  * a relative none of whose relationships is established (as their province was told) holds no quota.
Inside:
  * tools.books.platform_books: each service's books and conservation across services (every check it has);
  * every saga final: no transfer pending, no settlement debiting or cancelling, no bind request past its expiry;
  * one effect per (sender, msgid): one settlement per request, each completed credit booked once, one transfer per
    transfer request.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.payment.adapters import books as payment_books
from services.wallet.adapters import books as wallet_books
from shared.db.pool import connect
from tools.books import PlatformBooks
from tools.simulator.books_check import credits_booked_once
from tools.simulator.model import Traffic
from tools.simulator.state import RunState
from tools.torture.wire import Wire
from tools.torture.world import Family

ZERO = Decimal("0.00")
CREATES = {
    "transfer.requested": "transfer_id",
    "settlement.requested": "setl_id",
    "contribution.requested": "setl_id",
    "relationship.bind-requested": "relationship_id",
}
"""The id each request type creates: no two requests may be answered with the same one."""
IDS = ("status", "reason_code", "relationship_id", "transfer_id", "setl_id", "statement_id")


@dataclass
class Verdict:
    checks: dict[str, list[str]] = field(default_factory=dict)  # name -> offenders (empty: it holds)
    outside: list[str] = field(default_factory=list)  # the names checked from outside, in order
    books: PlatformBooks | None = None

    @property
    def ok(self) -> bool:
        return not any(self.checks.values())


def answers_check(wire: Wire, v: Verdict) -> None:
    traffic: Traffic = wire.traffic
    missing, twice, differ, stale, ids = [], [], [], [], defaultdict(set)
    unverified = {d.get("msgid") for d in traffic.dlq if d.get("reason_code") == "SIGNATURE_INVALID"}
    for msgid, sent in wire.sent.items():
        answers = [b for _, b in traffic.results.get(msgid, [])]
        if not answers and msgid in unverified:
            stale.append(f"{sent.type} {msgid}: dead-lettered SIGNATURE_INVALID, answered to nobody (ADR 0023)")
            continue
        if not answers:
            missing.append(f"{sent.type} {msgid}")
            continue
        n = len(traffic.answer_msgids[msgid])
        if n > sent.sends or (sent.sends == 1 and n != 1):
            twice.append(f"{sent.type} {msgid}: {n} answers to {sent.sends} records")
        if len({tuple(str(b.get(k)) for k in IDS) for b in answers}) > 1:
            differ.append(
                f"{sent.type} {msgid}: {sorted({a['status'] + ' ' + str(a.get('reason_code')) for a in answers})}"
            )
        if answers[0].get("reason_code") == "SIGNATURE_INVALID":
            stale.append(f"{sent.type} {msgid}: {answers[0].get('reason')}")
        made = CREATES.get(sent.type)
        if made and answers[0].get(made) and answers[0]["status"] != "rejected":
            ids[(made, answers[0][made])].add(msgid)
    dead = [
        f"{d.get('msgid')}: {d.get('reason_code') or d.get('reason')}"
        for d in traffic.dlq
        if d.get("msgid") in wire.sent
    ]
    v.checks["every message answered"] = missing
    v.checks["one answer per record sent; a resend gets the original answer"] = twice + differ
    v.checks["nothing refused as unsigned or stale, no dead letter"] = stale + dead
    v.checks["one effect per (sender, msgid): one transfer or settlement id per request"] = [
        f"{k} {i}: answered to {sorted(m)}" for (k, i), m in ids.items() if len(m) > 1
    ]


def told(traffic: Traffic, type_: str) -> dict[str, list[dict[str, Any]]]:
    """Notifications of a type by their transfer_id or setl_id (each province concerned gets one)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in traffic.notifications[type_]:
        out[b.get("transfer_id") or b.get("setl_id") or ""].append(b)
    return out


async def inside_checks(state: RunState, wire: Wire, v: Verdict) -> dict[str, Any]:
    """Reads the services' own tables (each with its role) and compares; returns the ledger view for statements."""
    traffic: Traffic = wire.traffic
    now = state.business_now()
    wallet = await connect(state.settings.dsn("wallet"))
    payment = await connect(state.settings.dsn("payment"))
    relationship = await connect(state.settings.dsn("relationship"))
    try:
        sagas = {
            r["transfer_id"]: r
            for r in await wallet.fetch("SELECT transfer_id, state, return_reason FROM transfer_sagas")
        }
        balances = {
            r["id"]: r["balance"]
            for r in await wallet.fetch(
                "SELECT id, credits_posted - debits_posted - debits_pending AS balance FROM accounts"
            )
        }
        lots: dict[str, dict[str, Decimal]] = defaultdict(dict)
        for r in await wallet.fetch(
            "SELECT wallet_psn_no, funding_admdvs, sum(remaining) AS amount FROM lots WHERE remaining > 0 GROUP BY 1, 2"
        ):
            lots[r["wallet_psn_no"]][r["funding_admdvs"]] = r["amount"]
        open_sagas = [
            f"{s.saga} {s.state}: {s.count} (oldest {s.oldest_age_seconds:.0f} s)"
            for s in [*await wallet_books.saga_states(wallet, now), *await payment_books.saga_states(payment, now)]
            if s.oldest_age_seconds is not None and s.count
        ]
        expired = await relationship.fetch(
            "SELECT relationship_id FROM relationships WHERE status = 'pending' AND expires_at < $1", now
        )
        settlements = {
            r["setl_id"]: r
            for r in await payment.fetch(
                "SELECT setl_id, state, acct_pay, acct_mulaid_pay, wallet_pay FROM settlements"
            )
        }
        repeated = await payment.fetch(
            "SELECT sender, msgid, count(*) AS n FROM settlements GROUP BY 1, 2 HAVING count(*) > 1"
        )
        credits, _, _ = await credits_booked_once(wallet, traffic)
    finally:
        for conn in (wallet, payment, relationship):
            await conn.close()
    v.checks["every saga final (inside)"] = open_sagas + [
        f"bind request {r['relationship_id']} past its expiry" for r in expired
    ]
    v.checks["one effect per (sender, msgid): settlements, credits booked once (inside)"] = [
        f"{r['sender']}/{r['msgid']}: {r['n']} settlements" for r in repeated
    ] + credits
    bad = []
    completed, returned = told(traffic, "transfer.completed"), told(traffic, "transfer.returned")
    held = [traffic.answer(m) for m, sent in wire.sent.items() if sent.type == "transfer.requested"]
    for tid in {str(a["transfer_id"]) for a in held if a and a["status"] == "accepted"}:
        saga = sagas.get(tid)
        ended = "(none)" if saga is None else saga["state"]
        reasons = {b["reason"] for b in returned.get(tid, [])}
        amounts = {Decimal(b["amount"]) for b in completed.get(tid, [])}
        quota_back = {Decimal(b["amount"]) for b in returned.get(tid, [])}
        if tid in completed:  # and maybe later its unspent quota back, told as returned (relationship_ended)
            fine = ended == "completed" and len(amounts) == 1 and reasons <= {"relationship_ended"}
            fine = fine and all(q <= min(amounts) for q in quota_back)
        elif tid in returned:
            fine = ended == "returned" and saga is not None and reasons == {saga["return_reason"]}
        else:
            fine = ended == "pending"
        if not fine:
            told_ = [*(["completed"] if tid in completed else []), *sorted(reasons)]
            bad.append(f"{tid}: told {told_ or 'nothing'}, wallet {ended}")
    v.checks["each transfer told once and as the wallet ended it"] = bad
    bad = []
    paid, cancelled = told(traffic, "settlement.completed"), told(traffic, "settlement.cancelled")
    for setl_id, bodies in paid.items():
        row = settlements.get(setl_id)
        if row is None:
            bad.append(f"{setl_id}: told completed, unknown to the payment service")
            continue
        for b in bodies:
            if (Decimal(b["acct_pay"]), Decimal(b["acct_mulaid_pay"]), Decimal(b["wallet_pay"])) != (
                row["acct_pay"],
                row["acct_mulaid_pay"],
                row["wallet_pay"],
            ):
                kept = f"{row['acct_pay']}/{row['acct_mulaid_pay']}/{row['wallet_pay']}"
                bad.append(f"{setl_id}: told {b['acct_pay']}/{b['acct_mulaid_pay']}/{b['wallet_pay']}, kept {kept}")
        if (setl_id in cancelled) != (row["state"] == "cancelled"):
            bad.append(
                f"{setl_id}: told {'cancelled' if setl_id in cancelled else 'not cancelled'}, payment {row['state']}"
            )
    v.checks["each settlement told as the payment service kept it"] = bad
    return {"balances": balances, "lots": lots}


def statements_check(
    wire: Wire, families: list[Family], ledger: dict[str, Any], statements: dict[str, dict[str, Any]], v: Verdict
) -> None:
    """The members' statements against the ledger, and against what their provinces were told."""
    traffic: Traffic = wire.traffic
    balances, lots = ledger["balances"], ledger["lots"]
    bad, transfers_in, quota_left = [], [], []
    completed_to: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for b in traffic.notifications["transfer.completed"]:
        completed_to[b["to_psn_no"]][b["transfer_id"]] = Decimal(b["amount"])
    for psn, s in statements.items():
        wallet = Decimal(s["wallet_balc"])
        if wallet != balances.get(f"wallet:{psn}", ZERO):
            bad.append(f"{psn}: wallet_balc {wallet}, ledger {balances.get(f'wallet:{psn}', ZERO)}")
        if s.get("acct_balc") is not None and Decimal(s["acct_balc"]) != balances.get(f"personal:{psn}"):
            bad.append(f"{psn}: acct_balc {s['acct_balc']}, ledger {balances.get(f'personal:{psn}')}")
        quota = {q["provider_admdvs"]: Decimal(q["amount"]) for q in s["quota"]}
        if quota != lots.get(psn, {}):
            bad.append(f"{psn}: quota {quota}, lots {dict(lots.get(psn, {}))}")
        moved_in = {m["transfer_id"]: Decimal(m["amount"]) for m in s["movements"] if m["kind"] == "transfer_in"}
        if moved_in != completed_to.get(psn, {}):
            transfers_in.append(f"{psn}: statement {moved_in}, told transfer.completed {completed_to.get(psn, {})}")
    established = {b["relationship_id"] for b in traffic.notifications["relationship.established"]}
    ended = {b["relationship_id"] for b in traffic.notifications["relationship.ended"]}
    rids: dict[str, set[str]] = defaultdict(set)
    for msgid, sent in wire.sent.items():
        a = traffic.answer(msgid)
        if sent.type == "relationship.bind-requested" and a and a.get("relationship_id"):
            rids[json.loads(sent.raw)["body"]["recipient_psn_no"]].add(a["relationship_id"])
    for f in families:
        psn = f.recipient.psn_no
        held = statements.get(psn)
        if held is not None and not (rids[psn] & established) - ended and Decimal(held["wallet_balc"]) != ZERO:
            quota_left.append(
                f"{psn}: wallet {held['wallet_balc']} (quota {held['quota']}), all ended: {sorted(rids[psn])}"
            )
    v.outside += [
        "statements show the ledger's balances and quota",
        "every transfer.completed told is a transfer_in of the statement",
        "no quota without an established relationship (statements)",
    ]
    v.checks[v.outside[-3]] = bad
    v.checks[v.outside[-2]] = transfers_in
    v.checks[v.outside[-1]] = quota_left


async def verdict(
    state: RunState, wire: Wire, families: list[Family], statements: dict[str, dict[str, Any]], books: PlatformBooks
) -> Verdict:
    v = Verdict(books=books)
    answers_check(wire, v)
    v.outside += list(v.checks)
    ledger = await inside_checks(state, wire, v)
    v.outside += [
        "each transfer told once and as the wallet ended it",
        "each settlement told as the payment service kept it",
    ]
    statements_check(wire, families, ledger, statements, v)
    for name, offenders in books.problems.items():
        v.checks[f"books: {name}"] = offenders
    return v
