"""What every service's events have in common: a stable wire type, a version, and how one is published."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.messaging.outbox import Outgoing


class DomainEvent(BaseModel):
    """An immutable fact on a service's `<service>.events.v1` stream. A change that breaks readers is a
    new VERSION (and, for a new meaning, a new TYPE)."""

    model_config = ConfigDict(frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def outgoing(self, topic: str, key: str) -> Outgoing:
        return Outgoing(
            topic, key, self.TYPE, self.model_dump(mode="json"), headers={"type_version": str(self.VERSION)}
        )
