"""What the clearing service follows on wallet.events.v1: personal-account money that went from one region's fund
to another (wallet.fund-balance-carried, ADR 0021), read with its own tolerant model. The fund that held the money
owes the fund that holds it now, in the business month it moved."""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.clearing.domain import commands
from services.clearing.domain.obligations import CARRY, Direction, Portion
from services.clearing.entrypoints.unit_of_work import postgres_context
from services.clearing.service_layer.record_obligations import record_obligations
from shared.caller import Caller
from shared.clock import BUSINESS_TZ
from shared.contracts.envelope import Admdvs
from shared.logging import get_logger
from shared.messaging.consumer import EventHandler, MessageContext
from shared.messaging.dispatch import EventRoutes
from shared.messaging.messages import Outgoing
from shared.money import Money

ZERO = Decimal("0.00")
log = get_logger(__name__)


class CarrySeen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    carry_id: str = Field(min_length=1)
    from_admdvs: Admdvs
    to_admdvs: Admdvs
    amount: Money
    occurred_at: AwareDatetime

    @property
    def month(self) -> str:
        """The business month it happened in (a time at the calendar's very end keeps its own month)."""
        try:
            return self.occurred_at.astimezone(BUSINESS_TZ).strftime("%Y%m")
        except OverflowError:
            return self.occurred_at.strftime("%Y%m")


async def on_carried(b: CarrySeen, caller: Caller, ctx: MessageContext) -> list[Outgoing]:
    if b.amount <= ZERO or b.from_admdvs == b.to_admdvs:  # nothing moved between two funds: nothing is owed
        log.warning("carry_owes_nothing", carry_id=b.carry_id, amount=str(b.amount))
        return []
    portion = Portion(seq=1, source=CARRY, funding_admdvs=b.from_admdvs, spending_admdvs=b.to_admdvs, amount=b.amount)
    cmd = commands.RecordObligations(b.carry_id, CARRY, b.month, (portion,), Direction.FORWARD)
    return await record_obligations(cmd, postgres_context(ctx.conn, caller))


ROUTES = EventRoutes()
ROUTES.on("wallet.fund-balance-carried", CarrySeen, on_carried)
HANDLERS: dict[str, EventHandler] = ROUTES.handlers()
