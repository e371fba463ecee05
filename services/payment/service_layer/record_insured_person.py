"""relationship.events.v1 says where a person is insured (relationship.person-enrolment-changed): the payment
service keeps the copy whose region's contribution standard applies (request_payment.request_contribution).
A late or replayed event changes nothing (the highest version stays, ADR 0012)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.service_layer.context import PaymentContext
from shared.messaging.messages import Outgoing


async def record_insured_person(cmd: commands.RecordInsuredPerson, ctx: PaymentContext) -> list[Outgoing]:
    await ctx.people.record(cmd.psn_no, cmd.insuplc_admdvs, cmd.version)
    return []
