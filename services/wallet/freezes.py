"""Freezing a wallet (interface v1.1), one use case: the person's insured province or the national operator
freezes (or unfreezes) a person. While frozen, their wallet receives and pays nothing, and their personal account
sends nothing: transfers from or to them, accepts, payments from their wallet and mutual-aid payments with a
provider's account (acct_used_flag 2, or a contribution paid for another) are refused WALLET_FROZEN
(transfers.py, payments.py). Transfers waiting for or from them go back at once (reason `frozen`). The quota
stays where it is; what only returns money (an ended relationship's quota, a refund) still moves. A freeze by
the national operator is lifted only by it. The person's province and wallet.events.v1 are told of each change;
every request is kept in freeze_history.

Order of locks, as on every path a freeze stops: the people (lock_people), then transfer rows, then accounts."""

from __future__ import annotations

from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.domain import events
from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.transfers import ReturnReason
from services.wallet.transfers import return_transfer
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic, same_province
from shared.identity import redact_text
from shared.messaging.messages import Decision, Outgoing, published

NATIONAL, PROVINCE = "national", "province"


async def change_freeze(
    frozen: bool,
    psn_no: str,
    reason: str,
    sender: str,
    msgid: str,
    repo: WalletRepository,
    ledger: LedgerRepository,
    clock: BusinessClock,
    national_operators: frozenset[str],
) -> Decision:
    await repo.lock_people(psn_no)
    person = await repo.person(psn_no)
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    authority = NATIONAL if sender in national_operators else PROVINCE
    if authority == PROVINCE and not same_province(sender, person.insuplc_admdvs):
        return Decision.rejected(
            ReasonCode.NOT_A_PARTY, "a wallet is frozen by the person's insured province or the national operator"
        )
    now, reason = clock.now(), redact_text(reason)
    by = await repo.frozen_by(psn_no)
    if not frozen and by == NATIONAL and authority == PROVINCE:
        return Decision.rejected(ReasonCode.NOT_A_PARTY, "frozen by the national operator: only it unfreezes")
    action = "frozen" if frozen else "unfrozen"
    if frozen:  # frozen already by a province: the national operator's freeze takes over (only it lifts it)
        after: str | None = NATIONAL if NATIONAL in (by, authority) else PROVINCE
    else:
        after = None
    changed = (by is None) != (after is None)
    await repo.record_freeze(psn_no, action, after, changed or after != by, reason, now, sender, msgid)
    if not changed:
        return Decision.completed()  # frozen (or not) already: nobody is told again
    messages: list[Outgoing] = []
    if frozen:
        sagas = []
        for transfer_id in await repo.pending_of(psn_no):
            saga = await repo.saga_for_update(transfer_id)
            assert saga is not None
            sagas.append(saga)
        parties = {psn_no} | {s["from_psn_no"] for s in sagas} | {s["to_psn_no"] for s in sagas}
        await ledger.lock(*(personal_account_id(x) for x in parties), *(wallet_account_id(x) for x in parties))
        for saga in sagas:
            messages += await return_transfer(saga, ReturnReason.FROZEN, repo, ledger, now)
    kind, body = (
        ("wallet.frozen", p.WalletFrozen(psn_no=psn_no, reason=reason))
        if frozen
        else ("wallet.unfrozen", p.WalletUnfrozen(psn_no=psn_no, reason=reason))
    )
    happened = (events.FreezeRecorded if frozen else events.UnfreezeRecorded)(
        psn_no=psn_no, reason=reason, sender=sender, occurred_at=now
    )
    messages += [
        Outgoing(province_topic(person.insuplc_admdvs), psn_no, kind, body.model_dump(mode="json")),
        published(happened, psn_no),
    ]
    return Decision.completed(messages)
