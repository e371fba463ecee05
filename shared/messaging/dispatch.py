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

from pydantic import BaseModel

from shared.caller import Caller
from shared.contracts.envelope import Envelope
from shared.contracts.province import Body, ingress_type_of
from shared.messaging.consumer import EventHandler, FailureHandler, Handler, MessageContext
from shared.messaging.messages import Decision, Outgoing

M = TypeVar("M", bound=Body)
E = TypeVar("E", bound=BaseModel)

TypedHandler = Callable[[M, Caller, MessageContext], Awaitable[Decision]]
"""A handler of one ingress type: its body as the contracts' model, the `Caller` it acts for, its transaction."""
TypedEventHandler = Callable[[E, Caller, MessageContext], Awaitable[list[Outgoing]]]
"""A handler of another service's event: its body as the follower's own (tolerant) model, the platform as its
`Caller` (with the event's msgid), its transaction; it returns what to publish."""


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


class EventRoutes:
    """What a service follows on another service's stream, each type read with the follower's own tolerant model
    (the producer's model lives in the producer, which no service imports): the type's name is the producer's, so
    it is written here once per follower, next to the model that reads it."""

    def __init__(self) -> None:
        self._handlers: dict[str, EventHandler] = {}
        self._failures: dict[str, FailureHandler] = {}

    def on(self, type_name: str, seen: type[E], handle: TypedEventHandler[E]) -> None:
        if type_name in self._handlers:
            raise ValueError(f"{type_name} is routed twice")
        self._handlers[type_name] = (seen, _event_handler(seen, handle))

    def on_failure(
        self, type_name: str, identity: type[E], handle: TypedEventHandler[E], *, settles: bool = True
    ) -> None:
        """What to do besides the dead letter when an event of `type_name` cannot be applied (FailureHandler):
        `identity` is the few fields it needs, read on their own."""
        if type_name in self._failures:
            raise ValueError(f"{type_name} has two failure handlers")
        self._failures[type_name] = FailureHandler(identity, _event_handler(identity, handle), settles)

    def handlers(self) -> dict[str, EventHandler]:
        return dict(self._handlers)

    def failure_handlers(self) -> dict[str, FailureHandler]:
        return dict(self._failures)


def _event_handler(
    model: type[E], handle: TypedEventHandler[E]
) -> Callable[[MessageContext, Envelope[Any]], Awaitable[list[Outgoing]]]:
    async def handler(ctx: MessageContext, env: Envelope[Any]) -> list[Outgoing]:
        body = env.body
        if not isinstance(body, model):  # the kernel parsed it with this model: never happens
            raise TypeError(f"{env.type} came with a {type(body).__name__}, not a {model.__name__}")
        return await handle(body, Caller(ctx.clock, msgid=env.msgid), ctx)

    return handler
