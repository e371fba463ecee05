"""A province asks to pay: a settlement (like 2207) at a designated institution, or a personal contribution.
Checked here, then the wallet is asked (payment.payment-opened) and the answer waits for it (deferred)."""

from __future__ import annotations

from services.payment.domain import commands
from services.payment.domain.contributions import already_paid, applicable, check_standard, lookup_chain
from services.payment.domain.settlements import (
    Purpose,
    Refusal,
    Settlement,
    SettlementAsk,
    check_contribution,
    check_setl_time,
    check_settlement,
)
from services.payment.service_layer.answering import refused
from services.payment.service_layer.context import PaymentContext
from shared.contracts.reasons import ReasonCode
from shared.messaging.messages import Decision, published


async def _blocked_by_reversal(ctx: PaymentContext) -> Refusal | None:
    await ctx.reversals.serialize_on(ctx.caller.sender, ctx.caller.msgid)
    if await ctx.reversals.of(ctx.caller.sender, ctx.caller.msgid) is not None:
        return Refusal(ReasonCode.REVERSED, "this request was reversed (reversal.requested) before it arrived")
    return None


async def request_settlement(cmd: commands.RequestSettlement, ctx: PaymentContext) -> Decision:
    b, now = cmd.request, ctx.caller.now()
    refusal = await _blocked_by_reversal(ctx)
    institution = await ctx.institutions.get(b.fixmedins_code)
    if refusal is None:
        ask = SettlementAsk(
            b.fixmedins_code,
            b.mdtrtarea_admvs,
            b.med_type,
            b.medfee_sumamt,
            b.fund_pay_sumamt,
            b.psn_part_amt,
            b.acct_used_flag,
            b.use_wallet,
        )
        refusal = check_settlement(ask, institution) or check_setl_time(b.setl_time, now)
    if refusal is None and institution is not None and not ctx.caller.speaks_for(institution.admdvs):
        refusal = Refusal(ReasonCode.NOT_A_PARTY, "a settlement is sent from the institution's province")
    if refusal is not None or institution is None:
        assert refusal is not None
        return refused(Purpose.SETTLEMENT, refusal, ctx, key=f"{ctx.caller.sender}:{ctx.caller.msgid}")
    settlement = Settlement(
        setl_id=cmd.setl_id,
        purpose=Purpose.SETTLEMENT,
        sender=ctx.caller.sender,
        msgid=ctx.caller.msgid,
        psn_no=b.psn_no,
        payer_psn_no=b.provider_psn_no if b.acct_used_flag == "2" else None,
        institution_admdvs=institution.admdvs,
        psn_part_amt=b.psn_part_amt,
        acct_used_flag=b.acct_used_flag,
        use_wallet=b.use_wallet,
        setl_time=b.setl_time,
        requested_at=now,
        mdtrt_id=b.mdtrt_id,
        fixmedins_code=b.fixmedins_code,
        med_type=b.med_type,
        medfee_sumamt=b.medfee_sumamt,
        fund_pay_sumamt=b.fund_pay_sumamt,
    )
    await ctx.settlements.add(settlement)
    return Decision.deferred([published(settlement.opened(), settlement.setl_id)])


async def request_contribution(cmd: commands.RequestContribution, ctx: PaymentContext) -> Decision:
    """Refused, in this order: reversed before it came; not 390 or 410, or not positive; not from the insured
    person's province (also when the person was never enrolled, unless a trusted gateway asks); the insured person
    unknown; above the standard of their region, kind and year; a live one for the
    same person, kind and year (docs/adr/0022). Else it holds that year and the wallet is asked."""
    b, now = cmd.request, ctx.caller.now()
    refusal = await _blocked_by_reversal(ctx) or check_contribution(b.insutype, b.amount)
    region = None if refusal is not None else await ctx.people.region_of(b.insured_psn_no)
    if refusal is None and not ctx.caller.may_ask_about(region):  # the same for a person never enrolled
        refusal = Refusal(ReasonCode.NOT_A_PARTY, "a contribution is asked by the insured person's province")
    if refusal is None and region is None:
        refusal = Refusal(ReasonCode.UNKNOWN_PERSON, "the insured person is not enrolled on the platform")
    if refusal is None and region is not None:
        chain = lookup_chain(region)
        standard = applicable(region, b.insutype, b.year, await ctx.standards.for_region(chain, b.insutype, b.year))
        refusal = check_standard(b.insutype, b.year, b.amount, region, standard)
    contribution = Settlement(
        setl_id=cmd.setl_id,
        purpose=Purpose.CONTRIBUTION,
        sender=ctx.caller.sender,
        msgid=ctx.caller.msgid,
        psn_no=b.insured_psn_no,
        payer_psn_no=b.payer_psn_no,
        institution_admdvs=None,
        psn_part_amt=b.amount,
        acct_used_flag="0",
        use_wallet=b.payer_psn_no == b.insured_psn_no,
        setl_time=now,
        requested_at=now,
        insutype=b.insutype,
        year=b.year,
    )
    if refusal is None:
        holder = await ctx.settlements.add_contribution(contribution)  # waits for a concurrent one to end
        if holder is not None:
            refusal = already_paid(b.insutype, b.year, holder)
    if refusal is not None:
        return refused(Purpose.CONTRIBUTION, refusal, ctx, key=f"{ctx.caller.sender}:{ctx.caller.msgid}")
    return Decision.deferred([published(contribution.opened(), contribution.setl_id)])
