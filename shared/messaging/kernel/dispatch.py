"""The sender policy, then the handler registered for the message's type.

The policy is judged before any handler: a msgid another service answered first is MSGID_REUSED (one msgid per
sender, platform-wide: ADR 0013), and a national operator's code sends only its own types (ADR 0016)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.clock import BusinessClock
from shared.contracts.envelope import Envelope
from shared.contracts.province import INGRESS, NATIONAL_OPERATOR_TYPES
from shared.contracts.reasons import ReasonCode
from shared.db.pool import Conn
from shared.messaging.kernel.inbox import BeforeCommit, Scope
from shared.messaging.messages import Decision


@dataclass
class MessageContext:
    """What a handler gets besides the message: its transaction's connection, what waits for the transaction's
    end, and the business clock."""

    conn: Conn
    clock: BusinessClock
    service: str
    record_key: str
    end: BeforeCommit | None = None
    """The kernel's transaction's end; None (outside a kernel's transaction): nothing waits, do it at once."""


Handler = Callable[[MessageContext, Envelope[Any]], Awaitable[Decision]]


def answer_key(env: Envelope[Any], national_operators: frozenset[str]) -> str:
    """The key of a request's answer on its province's topic: the person or object it is about. A national
    operator's answers land on the topic of the province its code lies in: keyed by its own code, they name no
    person there."""
    if env.sender in national_operators:
        return env.sender
    return str(getattr(env.body, INGRESS[env.type].key_field, None) or env.sender)


class Dispatch:
    """The handlers of one service's requests, by type, behind the sender policy."""

    def __init__(
        self, service: str, clock: BusinessClock, handlers: Mapping[str, Handler], national_operators: frozenset[str]
    ) -> None:
        self.service = service
        self.clock = clock
        self.handlers = dict(handlers)
        self.national_operators = national_operators

    async def decide(self, scope: Scope, env: Envelope[Any], key: str) -> Decision:
        elsewhere = await scope.claimed_elsewhere(env.sender, env.msgid)
        if elsewhere is not None:
            return Decision.rejected(
                ReasonCode.MSGID_REUSED,
                f"msgid {env.msgid} was already used by this sender for {elsewhere[1]}; use a new msgid",
            )
        if env.sender in self.national_operators and env.type not in NATIONAL_OPERATOR_TYPES:
            return Decision.rejected(
                ReasonCode.SENDER_NOT_ALLOWED,
                f"{env.sender} is the national operator's: it sends only {', '.join(NATIONAL_OPERATOR_TYPES)}",
            )
        ctx = MessageContext(conn=scope.conn, clock=self.clock, service=self.service, record_key=key, end=scope.end)
        return await self.handlers.get(env.type, not_supported_yet)(ctx, env)


async def not_supported_yet(ctx: MessageContext, env: Envelope[Any]) -> Decision:
    return Decision.rejected(ReasonCode.NOT_SUPPORTED_YET, f"{env.type} is not processed by this platform release yet")
