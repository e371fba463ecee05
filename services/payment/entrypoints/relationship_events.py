"""What the payment service follows on relationship.events.v1: where each person is insured, whose region's
contribution standard applies (docs/adr/0022). Read with its own tolerant model: only the fields it needs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.payment.domain import commands
from services.payment.entrypoints.unit_of_work import postgres_context
from services.payment.service_layer.record_insured_person import record_insured_person
from shared.caller import Caller
from shared.messaging.consumer import EventHandler, MessageContext
from shared.messaging.dispatch import EventRoutes
from shared.messaging.messages import Outgoing


class PersonSeen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    psn_no: str
    insuplc_admdvs: str
    version: int = 0  # 0: an event from before versions (ADR 0012)


async def on_person(b: PersonSeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    cmd = commands.RecordInsuredPerson(b.psn_no, b.insuplc_admdvs, b.version)
    return await record_insured_person(cmd, postgres_context(ctx.conn, caller))


ROUTES = EventRoutes()
ROUTES.on("relationship.person-enrolment-changed", PersonSeen, on_person)
HANDLERS: dict[str, EventHandler] = ROUTES.handlers()
