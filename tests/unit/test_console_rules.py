"""The console's pure rules (services/console/domain/model.py): roles, masking, the read model, Burrow's status."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.console.domain.model import (
    Action,
    Answer,
    LagSample,
    LagStatus,
    MonthChange,
    Role,
    SagaChange,
    Step,
    lag_status,
    mask_psn_no,
    may,
    project,
)

AT = datetime(2026, 12, 5, 10, tzinfo=UTC)


def test_only_the_operator_role_replays_and_closes() -> None:
    assert may(Role.OPERATOR, Action.REPLAY)
    assert may(Role.OPERATOR, Action.CLOSE_MONTH)
    assert not may(Role.VIEWER, Action.REPLAY)
    assert not may(Role.VIEWER, Action.CLOSE_MONTH)


@given(st.text(alphabet="0123456789", min_size=9, max_size=30))
def test_a_masked_number_keeps_its_region_and_last_four_only(psn_no: str) -> None:
    masked = mask_psn_no(psn_no)
    assert len(masked) == len(psn_no)
    assert masked[:4] == psn_no[:4]
    assert masked[-4:] == psn_no[-4:]
    assert set(masked[4:-4]) <= {"*"}


def test_short_or_missing_numbers_show_nothing() -> None:
    assert mask_psn_no("12345678") == "********"
    assert mask_psn_no(None) == "-"


def test_a_transfer_is_told_by_its_wallet_events_and_its_answers() -> None:
    held = project(
        "wallet.events.v1",
        "m1",
        "wallet.quota-held",
        {"transfer_id": "t1", "from_psn_no": "p", "to_psn_no": "r", "amount": "10.00", "deadline": "x"},
        AT,
    )
    [saga, step] = held
    assert isinstance(saga, SagaChange)
    assert (saga.kind, saga.saga_id, saga.state, saga.amount, saga.starts) == (
        "transfer",
        "t1",
        "pending",
        Decimal("10.00"),
        True,
    )
    assert isinstance(step, Step)
    granted = project("wallet.events.v1", "m2", "wallet.quota-granted", {"transfer_id": "t1"}, AT)
    assert isinstance(granted[0], SagaChange)
    assert granted[0].rank > saga.rank, "a later state outranks an earlier one read late"
    answer = project(
        "province.440000.notifications.v1",
        "a1",
        "request.result",
        {"omsgid": "o1", "otype": "transfer.requested", "status": "accepted", "transfer_id": "t1"},
        AT,
    )
    assert isinstance(answer[0], Answer)
    assert (answer[0].omsgid, answer[0].kind, answer[0].saga_id) == ("o1", "transfer", "t1")
    assert isinstance(answer[1], Step)


def test_settlement_states_and_months() -> None:
    ranks = [
        c.rank
        for t in (
            "payment.payment-opened",
            "payment.payment-completed",
            "payment.refund-requested",
            "payment.payment-cancelled",
        )
        for c in project("payment.events.v1", t, t, {"setl_id": "s1"}, AT)
        if isinstance(c, SagaChange)
    ]
    assert ranks == sorted(ranks)
    [month] = project("clearing.events.v1", "c", "clearing.month-closed", {"period": "202611", "statements": 3}, AT)
    assert isinstance(month, MonthChange)
    assert month.statements == 3


def test_what_the_console_does_not_show_changes_nothing() -> None:
    assert project("wallet.events.v1", "m", "wallet.wallet-opened", {"psn_no": "p"}, AT) == []


def samples(*pairs: tuple[float, float]) -> list[LagSample]:
    return [LagSample(float(i), position, lag) for i, (position, lag) in enumerate(pairs)]


def test_burrow_status() -> None:
    now = 4.0
    assert lag_status(samples((10, 0), (20, 0)), now, 10) is LagStatus.OK
    assert lag_status(samples((10, 5), (10, 6), (10, 9)), now, 10) is LagStatus.STALL
    assert lag_status(samples((10, 5), (12, 7), (14, 9)), now, 10) is LagStatus.WARN
    assert lag_status(samples((10, 5), (15, 3), (20, 4)), now, 10) is LagStatus.OK
    assert lag_status(samples((10, 5)), 100.0, 10) is LagStatus.STOP
    assert lag_status([], now, 10) is LagStatus.STOP
