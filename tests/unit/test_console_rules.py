"""The console's pure rules (services/console/domain/): roles, masking, the read model, Burrow's status, who is let in
(throttling, lockout, sessions, on a clock the tests give), and the settings it refuses in production."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.console.adapters.passwords import Passwords, PasswordsBusyError
from services.console.domain.access import (
    BY_ADDRESS,
    BY_NAME,
    SESSION_LIFETIME,
    UNKNOWN_NAME,
    SessionRecord,
    Who,
    locked_until,
    refused_login_subject,
    who_is,
)
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
from services.console.settings import allowed_hosts, problems
from shared.settings import PlatformSettings

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


# -- who is let in (ADR 0024): throttling, lockout, sessions, what a refusal is audited as --------------------------

T0 = datetime(2026, 12, 5, 9, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def test_five_failures_in_fifteen_minutes_lock_a_name_for_fifteen_minutes() -> None:
    failures = [T0 + minutes(i) for i in range(5)]
    assert locked_until(failures[:4], T0 + minutes(4), BY_NAME) is None
    assert locked_until(failures, T0 + minutes(4), BY_NAME) == T0 + minutes(19)
    assert locked_until(failures, T0 + minutes(18.9), BY_NAME) == T0 + minutes(19)
    assert locked_until(failures, T0 + minutes(19), BY_NAME) is None, "the lock ends on time"


def test_failures_spread_wider_than_the_window_lock_nothing() -> None:
    failures = [T0 + minutes(4 * i) for i in range(5)]  # 16 minutes from the first to the fifth
    assert locked_until(failures, T0 + minutes(16), BY_NAME) is None
    assert locked_until([*failures, T0 + minutes(17)], T0 + minutes(17), BY_NAME) == T0 + minutes(32)


def test_an_address_has_a_higher_bound_than_a_name() -> None:
    failures = [T0 + timedelta(seconds=10 * i) for i in range(BY_ADDRESS.limit)]
    assert BY_ADDRESS.limit > BY_NAME.limit
    assert locked_until(failures[:-1], failures[-1], BY_ADDRESS) is None
    assert locked_until(failures, failures[-1], BY_ADDRESS) == failures[-1] + BY_ADDRESS.lockout


@given(st.lists(st.integers(min_value=0, max_value=120), max_size=30), st.integers(min_value=0, max_value=200))
def test_a_lock_never_outlasts_its_lockout_after_the_last_failure(offsets: list[int], now_at: int) -> None:
    failures = [T0 + minutes(o) for o in offsets]
    now = T0 + minutes(now_at)
    until = locked_until(failures, now, BY_NAME)
    if until is not None:
        assert now < until <= max(failures) + BY_NAME.lockout
    if len(failures) < BY_NAME.limit:
        assert until is None


def session(**changes: object) -> SessionRecord:
    fields: dict[str, object] = {
        "operator": "ops",
        "role": "operator",
        "csrf": "c",
        "expires_at": T0 + SESSION_LIFETIME,
        "revoked_at": None,
        "operator_disabled_at": None,
    }
    fields.update(changes)
    return SessionRecord(**fields)  # type: ignore[arg-type]


def test_a_live_session_carries_its_operators_current_role() -> None:
    assert who_is(session(), T0) == Who("ops", Role.OPERATOR, "c")
    assert who_is(session(role="viewer"), T0) == Who("ops", Role.VIEWER, "c"), "demoted: at once"


def test_a_session_ends_at_logout_expiry_or_when_its_operator_is_disabled() -> None:
    assert who_is(None, T0) is None
    assert who_is(session(revoked_at=T0), T0) is None
    assert who_is(session(operator_disabled_at=T0), T0) is None
    assert who_is(session(), T0 + SESSION_LIFETIME - timedelta(seconds=1)) is not None
    assert who_is(session(), T0 + SESSION_LIFETIME) is None
    assert who_is(session(role="root"), T0) is None, "a role the console does not know gives no rights"


def test_a_refused_login_is_audited_by_an_operators_name_or_as_unknown_never_the_typed_text() -> None:
    assert refused_login_subject("ops") == "ops"
    assert refused_login_subject(None) == UNKNOWN_NAME == "an unknown name"


async def test_hashes_past_the_bound_are_turned_away_not_queued() -> None:
    passwords = Passwords(workers=1, waiting=0)
    try:
        first = asyncio.ensure_future(passwords.hash("a password of some length"))
        await asyncio.sleep(0)  # the first has taken the only place
        with pytest.raises(PasswordsBusyError):
            await passwords.hash("another password")
        assert (await first).startswith("$argon2id$")
        assert await passwords.hash("a third password"), "the place is free again"
        with passwords.slot(), pytest.raises(PasswordsBusyError):  # a whole login takes a place before it reads
            passwords.slot().__enter__()
        with passwords.slot():
            pass
    finally:
        passwords.close()


# -- the console's production settings (issue 29, item 6) --------------------------------------------------------


def test_in_production_the_console_names_each_setting_it_refuses(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("MEDAID_STATE_DIR", str(tmp_path / "state"))
    assert problems(PlatformSettings(environment="local")) == []
    named = [s for s, _ in problems(PlatformSettings(environment="production"))]
    assert named == ["MEDAID_CONSOLE_SECURE_COOKIES", "MEDAID_CONSOLE_ALLOWED_HOSTS", "MEDAID_CONSOLE_PASSWORD_FILE"]
    local_file = tmp_path / "state" / "secrets" / "console.json"
    assert [s for s, _ in problems(PlatformSettings(environment="production", console_secure_cookies=True,
            console_allowed_hosts="*", console_password_file=str(local_file)))] == [
        "MEDAID_CONSOLE_ALLOWED_HOSTS", "MEDAID_CONSOLE_PASSWORD_FILE"
    ]  # fmt: skip
    own = tmp_path / "secret" / "console.json"
    own.parent.mkdir()
    own.write_text('{"admin": "a long enough password"}')
    own.chmod(0o644)
    ready = PlatformSettings(
        environment="production",
        console_secure_cookies=True,
        console_allowed_hosts="console.example.org",
        console_password_file=str(own),
    )
    assert [s for s, _ in problems(ready)] == ["MEDAID_CONSOLE_PASSWORD_FILE"], "readable by others"
    own.chmod(0o600)
    assert problems(ready) == []
    assert allowed_hosts(ready) == ["console.example.org"]
    assert allowed_hosts(PlatformSettings(environment="local")) == ["127.0.0.1", "localhost", "::1"]
