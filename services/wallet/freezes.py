"""Freezing a wallet (interface v1.1), one use case: the person's insured province or the national operator
freezes (or unfreezes) a person. While frozen, their wallet receives and pays nothing, and their personal account
sends no transfers (transfers.py, payments.py refuse WALLET_FROZEN). Pending transfers to the wallet go back at
once (reason `frozen`). The quota stays where it is. The person's province and wallet.events.v1 are told.

A freeze locks the person's personal account and wallet first; a transfer, an accept or a payment locks them
before it reads the freeze: a transfer requested while the freeze commits is either returned by it or refused."""

from __future__ import annotations

from services.wallet.adapters.ledger_repository import LedgerRepository
from services.wallet.adapters.wallet_repository import WalletRepository
from services.wallet.domain import events
from services.wallet.domain.ledger import personal_account_id, wallet_account_id
from services.wallet.domain.transfers import ReturnReason
from services.wallet.handlers import event
from services.wallet.transfers import return_transfer
from shared.clock import BusinessClock
from shared.contracts import province as p
from shared.contracts.reasons import ReasonCode
from shared.contracts.topics import province_topic, same_province
from shared.identity import redact_text
from shared.messaging.consumer import Decision
from shared.messaging.outbox import Outgoing


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
    person = await repo.person(psn_no)
    if person is None:
        return Decision.rejected(ReasonCode.UNKNOWN_PERSON, "the person is not enrolled on the platform")
    if not (same_province(sender, person.insuplc_admdvs) or sender in national_operators):
        return Decision.rejected(
            ReasonCode.NOT_A_PARTY,
            "a wallet is frozen or unfrozen by the person's insured province or the national operator",
        )
    now = clock.now()
    reason = redact_text(reason)
    # The person's accounts first: a transfer into the wallet committed before this sees it returned, one after
    # it sees the freeze. (A transfer or an accept racing this for the same provider may deadlock with it; the
    # database aborts one, and the kernel runs it again.)
    await ledger.lock(personal_account_id(psn_no), wallet_account_id(psn_no))
    if not await repo.set_frozen(psn_no, frozen, reason, now, sender, msgid):
        return Decision.completed()  # already so: nothing changes, nobody is told again
    sagas = []
    if frozen:
        for transfer_id in await repo.pending_to_wallet(psn_no):
            saga = await repo.saga_for_update(transfer_id)
            assert saga is not None
            sagas.append(saga)
    messages: list[Outgoing] = []
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
        event(happened, psn_no),
    ]
    return Decision.completed(messages)
