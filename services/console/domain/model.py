"""The console's rules, without I/O: who may do what, what a page may show of a person, how the streams become the
read model, and Burrow's status of a partition."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    VIEWER = "viewer"
    """Reads every page."""
    OPERATOR = "operator"
    """Also replays dead letters and closes clearing months."""


class Action(StrEnum):
    REPLAY = "replay"
    CLOSE_MONTH = "close-month"


def may(role: Role, action: Action) -> bool:
    return role is Role.OPERATOR


def mask_psn_no(psn_no: str | None) -> str:
    """A person's number as a page shows it: its region and its last four, the rest hidden."""
    if not psn_no:
        return "-"
    if len(psn_no) <= 8:
        return "*" * len(psn_no)
    return psn_no[:4] + "*" * (len(psn_no) - 8) + psn_no[-4:]


# -- the read model ---------------------------------------------------------------------------------------------

TRANSFER_STATES = {"pending": 0, "completed": 1, "returned": 1}
SETTLEMENT_STATES = {"debiting": 0, "completed": 1, "refused": 1, "cancelling": 2, "cancelled": 3}
OPEN_STATES = {"transfer": ("pending",), "settlement": ("debiting", "cancelling")}


@dataclass(frozen=True)
class SagaChange:
    kind: str
    saga_id: str
    state: str
    rank: int
    at: datetime
    amount: Decimal | None = None
    psn_no: str | None = None
    other_psn_no: str | None = None
    region: str | None = None
    detail: str | None = None
    starts: bool = False
    """The saga's first event: it sets when the saga started."""


@dataclass(frozen=True)
class Step:
    kind: str
    saga_id: str
    at: datetime
    type: str
    msgid: str
    topic: str
    detail: str | None = None


@dataclass(frozen=True)
class Answer:
    answer_msgid: str
    omsgid: str
    otype: str
    status: str
    reason_code: str | None
    topic: str
    kind: str | None
    saga_id: str | None
    at: datetime


@dataclass(frozen=True)
class MonthChange:
    period: str
    items: int = 0
    closed_at: datetime | None = None
    statements: int | None = None
    gross: Decimal | None = None


@dataclass(frozen=True)
class StatementAnswer:
    statement_id: str
    period: str
    admdvs: str
    answer: str
    reason: str | None
    at: datetime


Change = SagaChange | Step | Answer | MonthChange | StatementAnswer


def _at(body: Mapping[str, Any], fallback: datetime) -> datetime:
    text = body.get("occurred_at")
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return fallback


def _money(value: Any) -> Decimal | None:
    return Decimal(str(value)) if value is not None else None


def project(topic: str, msgid: str, type_name: str, body: Mapping[str, Any], sent_at: datetime) -> list[Change]:
    """What one record of a followed stream changes in the read model (nothing for the types it does not show)."""
    at = _at(body, sent_at)
    out: list[Change] = []

    def transfer(state: str, **fields: Any) -> None:
        tid = str(body["transfer_id"])
        out.append(SagaChange("transfer", tid, state, TRANSFER_STATES[state], at, **fields))
        out.append(Step("transfer", tid, at, type_name, msgid, topic, fields.get("detail")))

    def settlement(state: str | None, **fields: Any) -> None:
        sid = str(body["setl_id"])
        if state is not None:
            out.append(SagaChange("settlement", sid, state, SETTLEMENT_STATES[state], at, **fields))
        out.append(Step("settlement", sid, at, type_name, msgid, topic, fields.get("detail")))

    match type_name:
        case "wallet.quota-held":
            transfer(
                "pending",
                amount=_money(body.get("amount")),
                psn_no=body.get("from_psn_no"),
                other_psn_no=body.get("to_psn_no"),
                starts=True,
                detail=f"held until {body.get('deadline')}",
            )
        case "wallet.quota-granted":
            transfer("completed", region=body.get("funding_admdvs"), detail="granted into the recipient's wallet")
        case "wallet.quota-released":
            transfer("returned", detail=f"returned: {body.get('reason')}")
        case "payment.payment-opened":
            settlement(
                "debiting",
                amount=_money(body.get("amount")),
                psn_no=body.get("psn_no"),
                other_psn_no=body.get("payer_psn_no"),
                region=body.get("spending_admdvs"),
                starts=True,
                detail=f"{body.get('purpose')}, wallet {'on' if body.get('use_wallet') else 'off'}",
            )
        case "payment.payment-completed":
            settlement("completed", detail="paid")
        case "payment.payment-refused":
            settlement("refused", detail=f"refused: {body.get('reason_code')}")
        case "payment.refund-requested":
            settlement("cancelling", detail="refund asked")
        case "payment.payment-cancelled":
            settlement("cancelled", detail=f"undone by {body.get('how')}")
        case "wallet.payment-debited":
            settlement(None, detail=f"wallet took {body.get('wallet_pay')}, account {body.get('acct_pay')}")
        case "wallet.payment-refused":
            settlement(None, detail=f"wallet refused: {body.get('reason_code')}")
        case "wallet.payment-refunded":
            settlement(None, detail=f"wallet refunded {body.get('amount')}")
        case "clearing.obligation-recorded":
            out.append(MonthChange(str(body["period"]), items=1))
        case "clearing.month-closed":
            out.append(
                MonthChange(
                    str(body["period"]),
                    closed_at=at,
                    statements=int(body.get("statements") or 0),
                    gross=_money(body.get("gross")),
                )
            )
        case "clearing.statement-answered":
            out.append(
                StatementAnswer(
                    str(body["statement_id"]),
                    str(body["period"]),
                    str(body["admdvs"]),
                    str(body["answer"]),
                    body.get("reason"),
                    at,
                )
            )
        case "request.result":
            kind, saga_id = _named_saga(body)
            out.append(
                Answer(
                    msgid,
                    str(body["omsgid"]),
                    str(body.get("otype") or ""),
                    str(body["status"]),
                    body.get("reason_code"),
                    topic,
                    kind,
                    saga_id,
                    at,
                )
            )
            if kind is not None and saga_id is not None:
                detail = f"{body.get('otype')} {body['omsgid']}: {body['status']}"
                if body.get("reason_code"):
                    detail += f" ({body['reason_code']})"
                out.append(Step(kind, saga_id, at, "answer", msgid, topic, detail))
        case _:
            kind, saga_id = _named_saga(body)
            if topic.startswith("province.") and kind is not None and saga_id is not None:
                out.append(Step(kind, saga_id, at, type_name, msgid, topic, "notified"))
    return out


def _named_saga(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    if body.get("transfer_id"):
        return "transfer", str(body["transfer_id"])
    if body.get("setl_id"):
        return "settlement", str(body["setl_id"])
    return None, None


@dataclass(frozen=True)
class Batch:
    """A poll's changes, grouped so that each table is written with one set-based statement (or a few, for sagas)
    and the read model ends where applying the changes one by one, in order, would leave it."""

    saga_rounds: list[list[SagaChange]]
    """Each round holds at most one change per saga, and a saga's changes are in their order across the rounds: a
    statement may not update a row twice, and a saga's rank rule depends on the order."""
    steps: list[Step]
    answers: list[Answer]
    months: list[MonthChange]
    """One per period: the items added up, the last closing figures that were given."""
    statement_answers: list[StatementAnswer]
    """One per statement: its period and province as first told, its answer as last told."""


def batch(changes: Sequence[Change]) -> Batch:
    rounds: list[list[SagaChange]] = []
    seen: dict[tuple[str, str], int] = {}
    steps: dict[tuple[str, str, str], Step] = {}
    answers: dict[str, Answer] = {}
    months: dict[str, MonthChange] = {}
    statements: dict[str, StatementAnswer] = {}
    for c in changes:
        if isinstance(c, SagaChange):
            n = seen.get((c.kind, c.saga_id), 0)
            seen[(c.kind, c.saga_id)] = n + 1
            if n == len(rounds):
                rounds.append([])
            rounds[n].append(c)
        elif isinstance(c, Step):
            steps.setdefault((c.kind, c.saga_id, c.msgid), c)  # the first is kept (ON CONFLICT DO NOTHING)
        elif isinstance(c, Answer):
            answers.setdefault(c.answer_msgid, c)
        elif isinstance(c, MonthChange):
            m = months.get(c.period)
            months[c.period] = (
                c
                if m is None
                else MonthChange(
                    c.period,
                    items=m.items + c.items,
                    closed_at=c.closed_at if c.closed_at is not None else m.closed_at,
                    statements=c.statements if c.statements is not None else m.statements,
                    gross=c.gross if c.gross is not None else m.gross,
                )
            )
        else:
            a = statements.get(c.statement_id)
            statements[c.statement_id] = (
                c if a is None else StatementAnswer(c.statement_id, a.period, a.admdvs, c.answer, c.reason, c.at)
            )
    return Batch(rounds, list(steps.values()), list(answers.values()), list(months.values()), list(statements.values()))


# -- Burrow's status of a partition (https://github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules) -------


class LagStatus(StrEnum):
    OK = "OK"
    WARN = "WARN"
    """Behind, and further behind at every sample of the window while it still moves."""
    STALL = "STALL"
    """Behind, and its position has not moved over the window."""
    STOP = "STOP"
    """No sample for a while: the consumer's process does not answer."""


@dataclass(frozen=True)
class LagSample:
    at: float
    position: float
    lag: float


def lag_status(samples: Sequence[LagSample], now: float, stale_after: float) -> LagStatus:
    if not samples or now - samples[-1].at > stale_after:
        return LagStatus.STOP
    last = samples[-1]
    if last.lag == 0:
        return LagStatus.OK
    if len(samples) >= 2 and all(s.position == samples[0].position for s in samples):
        return LagStatus.STALL
    lags = [s.lag for s in samples]
    if len(lags) >= 3 and all(b >= a for a, b in itertools.pairwise(lags)) and lags[-1] > lags[0]:
        return LagStatus.WARN
    return LagStatus.OK
