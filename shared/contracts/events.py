"""What every service's events have in common: a stable wire type, a version and the stream they go on.
Pure data: publishing one is the messaging layer's job (shared/messaging/messages.py `published`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """An immutable fact on a service's `<service>.events.v1` stream. A change that breaks readers is a
    new VERSION (and, for a new meaning, a new TYPE)."""

    model_config = ConfigDict(frozen=True)
    TYPE: ClassVar[str]
    STREAM: ClassVar[str]
    """The service's own stream (`<service>.events.v1`): set once on each service's base event."""
    VERSION: ClassVar[int] = 1
