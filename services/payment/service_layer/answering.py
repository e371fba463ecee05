"""What several payment use cases say the same way: a refusal (answered, and recorded on payment.events.v1),
and who is told of a settlement's end."""

from __future__ import annotations

from services.payment.domain import events
from services.payment.domain.settlements import Portion, Purpose, Refusal, Settlement
from services.payment.service_layer.context import PaymentContext
from shared.contracts import province as p
from shared.messaging.messages import Decision, Outgoing, published, to_provinces


def refused(
    purpose: Purpose, refusal: Refusal, ctx: PaymentContext, setl_id: str | None = None, key: str = "-"
) -> Decision:
    recorded = events.PaymentRefusedRecorded(
        setl_id=setl_id, purpose=purpose.value, reason_code=refusal.code.value, occurred_at=ctx.caller.now()
    )
    return Decision.rejected(refusal.code, refusal.reason, [published(recorded, setl_id or key)])


def to_parties(s: Settlement, portions: list[Portion], type_: str, body: p.Body) -> list[Outgoing]:
    """The institution's province and every province whose account or quota paid."""
    assert s.institution_admdvs is not None
    regions = [s.institution_admdvs, *(x.funding_admdvs for x in portions)]
    return to_provinces(regions, type_, body, s.psn_no)
