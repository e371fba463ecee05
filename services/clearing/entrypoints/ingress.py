"""Ingress messages the clearing service answers: translate, call the use case."""

from __future__ import annotations

from services.clearing.domain import commands
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.answer_statement import answer_statement
from services.clearing.service_layer.close_month import close_month
from shared.caller import Caller
from shared.contracts import province as p
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.dispatch import Routes
from shared.messaging.messages import Decision


def make_handlers(
    trusted: frozenset[str] = frozenset(), national_operators: frozenset[str] = frozenset()
) -> dict[str, Handler]:
    async def on_close_requested(b: p.ClearingCloseRequested, caller: Caller, ctx: MessageContext) -> Decision:
        return await close_month(commands.CloseMonth(b.period), postgres_context(ctx.conn, caller))

    async def on_confirmed(b: p.StatementConfirmed, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.ConfirmStatement(b.statement_id, b.admdvs)
        return await answer_statement(cmd, postgres_context(ctx.conn, caller))

    async def on_disputed(b: p.StatementDisputed, caller: Caller, ctx: MessageContext) -> Decision:
        cmd = commands.DisputeStatement(b.statement_id, b.admdvs, b.reason)
        return await answer_statement(cmd, postgres_context(ctx.conn, caller))

    routes = Routes(trusted=trusted, national_operators=national_operators)
    routes.on(p.ClearingCloseRequested, on_close_requested)
    routes.on(p.StatementConfirmed, on_confirmed)
    routes.on(p.StatementDisputed, on_disputed)
    return routes.handlers()
