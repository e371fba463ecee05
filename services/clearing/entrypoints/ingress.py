"""Ingress messages the clearing service answers: translate, call the handler."""

from __future__ import annotations

from typing import Any

from services.clearing import handlers
from services.clearing.adapters.clearing_repository import ClearingRepository
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.contracts.reasons import ReasonCode
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.messages import Decision


def make_handlers(
    trusted: frozenset[str] = frozenset(), national_operators: frozenset[str] = frozenset()
) -> dict[str, Handler]:
    async def on_close_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.ClearingCloseRequested = env.body
        if env.sender not in national_operators:  # the national month is the national operator's to close
            return Decision.rejected(
                ReasonCode.SENDER_NOT_ALLOWED,
                f"a clearing month is closed by the national operator (MEDAID_NATIONAL_OPERATORS), not {env.sender}",
            )
        return await handlers.close_month(
            b.period, f"{env.sender}:{env.msgid}", ClearingRepository(ctx.conn), ctx.clock
        )

    def on_answer(answer: str) -> Handler:
        async def handle(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            b: p.StatementConfirmed | p.StatementDisputed = env.body
            return await handlers.answer_statement(
                b.statement_id,
                b.admdvs,
                answer,
                getattr(b, "reason", None),
                env.sender,
                env.msgid,
                ClearingRepository(ctx.conn),
                ctx.clock,
                trusted,
            )

        return handle

    return {
        "clearing.close-requested": on_close_requested,
        "statement.confirmed": on_answer("confirmed"),
        "statement.disputed": on_answer("disputed"),
    }
