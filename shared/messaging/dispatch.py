"""Typed dispatch: a service registers each handler by the body model of the ingress type it answers, and the
handler gets that body typed, with the `Caller` it acts for. The type's name is looked up in the contracts'
registry (`shared/contracts/province.py` INGRESS), so it is written only there.

    routes = Routes(trusted=trusted)
    routes.on(p.AccountCredited, on_account_credited)   # on_account_credited(b: p.AccountCredited, caller, ctx)
    consumer_handlers = routes.handlers()

mypy checks each handler's body against its model (`on` is generic in the model). `handlers()` gives the consumer
kernel the mapping it reads: type name -> `Handler`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from shared.caller import Caller
from shared.contracts.envelope import Envelope
from shared.contracts.province import Body, ingress_type_of
from shared.messaging.consumer import Handler, MessageContext
from shared.messaging.messages import Decision

M = TypeVar("M", bound=Body)

TypedHandler = Callable[[M, Caller, MessageContext], Awaitable[Decision]]
"""A handler of one ingress type: its body as the contracts' model, the `Caller` it acts for, its transaction."""


class Routes:
    """A service's ingress handlers, each registered by its body model."""

    def __init__(self, *, trusted: frozenset[str] = frozenset(), national_operators: frozenset[str] = frozenset()):
        self.trusted = trusted
        self.national_operators = national_operators
        self._handlers: dict[str, Handler] = {}

    def on(self, body: type[M], handle: TypedHandler[M]) -> None:
        """Route the ingress type whose body is `body` to `handle`; a type routed twice is refused."""
        name = ingress_type_of(body).type
        if name in self._handlers:
            raise ValueError(f"{name} is routed twice")
        self._handlers[name] = self._adapted(body, handle)

    def handlers(self) -> dict[str, Handler]:
        """The consumer kernel's shape: type name -> `Handler`."""
        return dict(self._handlers)

    def _adapted(self, model: type[M], handle: TypedHandler[M]) -> Handler:
        trusted, national_operators = self.trusted, self.national_operators

        async def handler(ctx: MessageContext, env: Envelope[Any]) -> Decision:
            body = env.body
            if not isinstance(body, model):  # the kernel parsed it with the registry's model: never happens
                raise TypeError(f"{env.type} came with a {type(body).__name__}, not a {model.__name__}")
            return await handle(body, Caller(ctx.clock, env.sender, env.msgid, trusted, national_operators), ctx)

        return handler
