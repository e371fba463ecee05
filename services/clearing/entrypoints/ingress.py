"""Ingress messages the clearing service answers. Monthly clearing arrives with issue 5; until then
every clearing message is answered `rejected` NOT_SUPPORTED_YET by the kernel's default."""

from __future__ import annotations

from shared.messaging.consumer import Handler

HANDLERS: dict[str, Handler] = {}
