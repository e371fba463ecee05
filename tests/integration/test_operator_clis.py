"""The operators' CLIs (services/wallet/entrypoints/transfers_cli.py, services/payment/entrypoints/settlements_cli.py)
read through their adapters (adapters/transfer_views.py, adapters/settlement_views.py) on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from services.payment.domain import commands
from services.payment.entrypoints import settlements_cli
from services.payment.entrypoints.unit_of_work import postgres_context as payment_context
from services.wallet.entrypoints import transfers_cli
from services.wallet.entrypoints.unit_of_work import postgres_context as wallet_context
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.db.migrations import migrate
from shared.db.pool import connect
from shared.settings import PlatformSettings
from tests.ports.test_payment_ports import a_settlement
from tests.ports.test_wallet_ports import funded, held
from tests.support.clock import FixedClock

pytestmark = pytest.mark.integration
SERVICES = Path(__file__).resolve().parents[2] / "services"


async def test_the_transfers_cli_lists_and_shows(
    settings: PlatformSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    two_hours_ago = datetime.now(BUSINESS_TZ) - timedelta(hours=2)
    conn = await connect(settings.dsn("wallet"))
    try:
        await migrate(conn, "wallet", SERVICES / "wallet")
        ctx = wallet_context(conn, Caller(FixedClock(two_hours_ago)))
        await funded(ctx)
        await held(ctx, "t-1", "120.00", two_hours_ago)
    finally:
        await conn.close()
    capsys.readouterr()  # the migrations' logs
    await transfers_cli.list_transfers(settings, None, None, 10)
    listed = capsys.readouterr().out.splitlines()
    assert listed[0] == "pending: 1 (120.00 yuan)"
    assert listed[1].startswith("t-1  pending")
    assert "age 2:" in listed[1]
    await transfers_cli.list_transfers(settings, "pending", 30, 10)
    assert len(capsys.readouterr().out.splitlines()) == 2
    await transfers_cli.list_transfers(settings, "pending", 180, 10)  # requested less than three hours ago
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert await transfers_cli.show(settings, "t-1") == 0
    shown = capsys.readouterr().out
    assert "transfer_id      t-1" in shown
    assert "  1. " in shown
    assert await transfers_cli.show(settings, "t-none") == 1


async def test_the_settlements_cli_lists_and_shows(
    settings: PlatformSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    an_hour_ago = datetime.now(BUSINESS_TZ) - timedelta(hours=1)
    conn = await connect(settings.dsn("payment"))
    try:
        await migrate(conn, "payment", SERVICES / "payment")
        await payment_context(conn, Caller(FixedClock(an_hour_ago))).settlements.add(
            replace(a_settlement(), requested_at=an_hour_ago)
        )
    finally:
        await conn.close()
    capsys.readouterr()  # the migrations' logs
    await settlements_cli.list_settlements(settings, None, None, 10)
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["settlement", "debiting", "1", "personal", "part", "80.00"]
    assert listed[1].startswith("s-1  settlement")
    assert listed[1].endswith("80.00: waiting")
    await settlements_cli.list_settlements(settings, "debiting", 30, 10)
    assert len(capsys.readouterr().out.splitlines()) == 2
    await settlements_cli.list_settlements(settings, "debiting", 120, 10)
    assert len(capsys.readouterr().out.splitlines()) == 1
    await settlements_cli.list_settlements(settings, "completed", None, 10)
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert await settlements_cli.show(settings, "s-1") == 0
    assert "setl_id            s-1" in capsys.readouterr().out
    assert await settlements_cli.show(settings, "s-none") == 1


async def test_the_settlements_cli_shows_and_sets_contribution_standards(
    settings: PlatformSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await connect(settings.dsn("payment"))
    try:
        await migrate(conn, "payment", SERVICES / "payment")
    finally:
        await conn.close()
    capsys.readouterr()  # the migrations' logs
    assert await settlements_cli.show_standards(settings, "440300", "390", 2027) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("440300 390 2027: 400.00  (national 000000, set for 2025; national minimum"), shown
    set_ = commands.SetContributionStandard("440000", "390", 2027, Decimal("450"), "a notice")
    assert await settlements_cli.set_standard(settings, set_) == 0
    assert capsys.readouterr().out.strip() == "440000 390 2027 450.00  a notice"
    assert await settlements_cli.show_standards(settings, "440300", None, 2028) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "440300 390 2028: 450.00  (province 440000, set for 2027; a notice)"
    assert lines[1].startswith("440300 410 2028: 120.00  (national 000000, set for 2022; [inferred]")
    assert await settlements_cli.show_standards(settings, "320600", "410", None) == 0
    assert [line.split()[:4] for line in capsys.readouterr().out.splitlines()] == [
        ["000000", "410", "2022", "120.00"],
        ["320600", "410", "2022", "30.00"],
    ]
    wrong = commands.SetContributionStandard("440000", "390", 2027, Decimal("-1"), "a notice")
    assert await settlements_cli.set_standard(settings, wrong) == 2
    assert "refused" in capsys.readouterr().err
