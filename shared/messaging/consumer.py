"""What services and tools use of the consumer kernel (shared/messaging/kernel/: its stages, in order)."""

from shared.messaging.kernel.answers import answer_deferred
from shared.messaging.kernel.dispatch import Handler, MessageContext
from shared.messaging.kernel.events import EventHandler, EventStages, FailureHandler, SetHandler
from shared.messaging.kernel.inbox import BeforeCommit
from shared.messaging.kernel.ingress import IngressStages
from shared.messaging.kernel.records import ConsumerRecord, Outcome
from shared.messaging.kernel.runner import Pipeline

__all__ = [
    "BeforeCommit",
    "ConsumerRecord",
    "EventHandler",
    "EventStages",
    "FailureHandler",
    "Handler",
    "IngressStages",
    "MessageContext",
    "Outcome",
    "Pipeline",
    "SetHandler",
    "answer_deferred",
]
