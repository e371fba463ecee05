"""Ingress messages the clearing service answers: translate, call the use case."""

from __future__ import annotations

from typing import Any

from services.clearing.domain import commands
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.answer_statement import answer_statement
from services.clearing.service_layer.close_month import close_month
from services.clearing.service_layer.context import ClearingContext
from shared.caller import Caller
from shared.contracts import province as p
from shared.contracts.envelope import Envelope
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.messages import Decision


def make_handlers(
    trusted: frozenset[str] = frozenset(), national_operators: frozenset[str] = frozenset()
) -> dict[str, Handler]:
    def context(ctx: MessageContext, env: Envelope[Any]) -> ClearingContext:
        """The use case's unit of work, acting for the sender whose signature the consumer verified."""
        return postgres_context(ctx.conn, Caller(ctx.clock, env.sender, env.msgid, trusted, national_operators))

    async def on_close_requested(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.ClearingCloseRequested = env.body
        return await close_month(commands.CloseMonth(b.period), context(ctx, env))

    async def on_confirmed(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.StatementConfirmed = env.body
        return await answer_statement(commands.ConfirmStatement(b.statement_id, b.admdvs), context(ctx, env))

    async def on_disputed(ctx: MessageContext, env: Envelope[Any]) -> Decision:
        b: p.StatementDisputed = env.body
        cmd = commands.DisputeStatement(b.statement_id, b.admdvs, b.reason)
        return await answer_statement(cmd, context(ctx, env))

    return {
        "clearing.close-requested": on_close_requested,
        "statement.confirmed": on_confirmed,
        "statement.disputed": on_disputed,
    }
