"""The member's statement (interface v1.1), without servers: the use case on the in-memory ports.
tests/e2e/test_statements.py proves the same through Kafka and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.wallet.domain import commands
from services.wallet.service_layer.change_freeze import change_freeze
from services.wallet.service_layer.context import WalletContext
from services.wallet.service_layer.take_payment import take_payment
from services.wallet.service_layer.wallet_statement import wallet_statement
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic
from shared.messaging.messages import Decision
from tests.unit.wallet.world import GUANGDONG, PROVIDER, RECIPIENT, SHAANXI, World, money, ok, world

NATIONAL, GATEWAY = "100000", "110000"  # the national operator's system, the national app's gateway


def by(w: World, sender: str, msgid: str) -> WalletContext:
    """A statement request's unit of work, as the ingress builds it."""
    return w.as_(sender, msgid=msgid, trusted=frozenset({GATEWAY}), national_operators=frozenset({NATIONAL}))


def asked(
    w: World, cursor: str | None = None, psn_no: str = RECIPIENT.psn_no, days: int = 0
) -> commands.RequestStatement:
    today = w.clock.now().date()
    q = p.WalletStatementRequested(psn_no=psn_no, from_date=today - timedelta(days=days), to_date=today, cursor=cursor)
    return commands.RequestStatement(q)


def statement(decision: Decision) -> dict[str, Any]:
    [message] = ok(decision).messages
    assert message.type == "wallet.statement"
    return message.body


async def a_month(w: World) -> None:
    """Quota of 100 from the provider, 50 in the own account, a payment of 60 from the wallet, a freeze (by the
    national operator) and its lifting (by the province)."""
    await w.granted("100.00")
    await w.credited(RECIPIENT.psn_no, SHAANXI, "50.00")
    ok_taken = await take_payment(w.order("60.00", acct_used_flag="0"), w.as_(SHAANXI))
    assert [m.type for m in ok_taken] == ["wallet.payment-debited"]
    national = w.as_(NATIONAL, national_operators=frozenset({NATIONAL}))
    freeze = commands.ChangeFreeze(psn_no=RECIPIENT.psn_no, frozen=True, reason="misuse", msgid="F1")
    ok(await change_freeze(freeze, national))
    w.clock.advance(minutes=1)
    ok(await change_freeze(commands.ChangeFreeze(RECIPIENT.psn_no, False, "cleared", "F2"), national))


async def test_a_statement_adds_up() -> None:
    w = await world()
    await a_month(w)
    decision = await wallet_statement(asked(w), by(w, SHAANXI, "S-1"))
    [message] = decision.messages
    assert (message.topic, message.key) == (province_topic(SHAANXI), RECIPIENT.psn_no)
    body = statement(decision)
    assert body["omsgid"] == "S-1"
    assert (Decimal(body["wallet_balc"]), Decimal(body["acct_balc"])) == (money("40.00"), money("50.00"))
    assert body["frozen"] is False
    assert body["quota"] == [{"provider_admdvs": GUANGDONG, "amount": "40.00"}]
    moves = [(m["account"], m["kind"], Decimal(m["amount"])) for m in body["movements"]]
    assert moves == [
        ("wallet", "transfer_in", money("100.00")),
        ("personal", "credit", money("50.00")),
        ("wallet", "payment", money("-60.00")),
    ]
    for account, balance in (("wallet", body["wallet_balc"]), ("personal", body["acct_balc"])):
        mine = [m for m in body["movements"] if m["account"] == account]
        assert sum(Decimal(m["amount"]) for m in mine) == Decimal(balance)
        assert Decimal(mine[-1]["balance_after"]) == Decimal(balance)
    assert [(f["action"], f["by"], f["changed"]) for f in body["freezes"]] == [
        ("frozen", "national", True),
        ("unfrozen", "national", True),
    ]
    assert "next_cursor" not in body
    assert all(m.get("transfer_id") or m.get("setl_id") for m in body["movements"])  # never the counterpart


async def test_a_statement_pages_oldest_first() -> None:
    w = await world()
    await a_month(w)
    first = statement(await wallet_statement(asked(w), by(w, SHAANXI, "S-1"), page=2))
    assert [m["kind"] for m in first["movements"]] == ["transfer_in", "credit"]
    assert first["next_cursor"]
    assert len(first["freezes"]) == 2
    second = statement(await wallet_statement(asked(w, first["next_cursor"]), by(w, SHAANXI, "S-2"), page=2))
    assert [m["kind"] for m in second["movements"]] == ["payment"]
    assert "next_cursor" not in second
    assert second["freezes"] == []  # on the first page only
    assert Decimal(second["wallet_balc"]) == money("40.00")  # balances of now on every page


async def test_a_statement_covers_the_days_asked() -> None:
    w = await world()
    await a_month(w)
    w.clock.advance(days=1)
    today = statement(await wallet_statement(asked(w), by(w, SHAANXI, "S-1")))
    assert (today["movements"], today["freezes"]) == ([], [])
    assert Decimal(today["wallet_balc"]) == money("40.00")
    both = statement(await wallet_statement(asked(w, days=1), by(w, SHAANXI, "S-2")))
    assert len(both["movements"]) == 3


async def test_who_may_ask_for_a_statement() -> None:
    w = await world()
    assert (await wallet_statement(asked(w), by(w, GUANGDONG, "S-1"))).reason_code == ReasonCode.NOT_A_PARTY
    gateway = statement(await wallet_statement(asked(w), by(w, GATEWAY, "S-2")))
    assert gateway["psn_no"] == RECIPIENT.psn_no
    unknown = await wallet_statement(asked(w, psn_no="X1"), by(w, SHAANXI, "S-3"))
    elsewhere = await wallet_statement(asked(w), by(w, GUANGDONG, "S-3b"))
    assert (unknown.reason_code, unknown.reason) == (elsewhere.reason_code, elsewhere.reason), "nobody, or not yours"
    assert unknown.reason_code == ReasonCode.NOT_A_PARTY
    told = await wallet_statement(asked(w, psn_no="X1"), by(w, GATEWAY, "S-3c"))
    assert told.reason_code == ReasonCode.UNKNOWN_PERSON, "a trusted gateway may learn that nobody is enrolled"
    with pytest.raises(ValidationError):
        asked(w, "not-ours")  # not a cursor this platform gives: INVALID_MESSAGE at classification
    bad = await wallet_statement(asked(w, "1" * 18), by(w, SHAANXI, "S-4"))
    assert bad.status == "completed", "a movement number past the last: an empty page"
    provider = statement(await wallet_statement(asked(w, psn_no=PROVIDER.psn_no), by(w, GUANGDONG, "S-5")))
    assert (Decimal(provider["wallet_balc"]), Decimal(provider["acct_balc"])) == (money("0.00"), money("500.00"))
