"""Phase 4: quota moves into wallets (requests, some refused on purpose, and the recipients' answers); then
relationships end: by a party, and by enrolment changes (death, suspension)."""

from __future__ import annotations

from tools.simulator.messages import enrolment, envelope, transfer
from tools.simulator.model import REGIONS, Plan
from tools.simulator.state import RunState


def request_transfers(state: RunState) -> Plan:
    out: Plan = []
    state.transfers = []
    for provider, recipient, _ in state.established:
        if recipient.psn_no in state.with_wallet and REGIONS[provider.region][1]:
            msg = transfer(state, provider, recipient, "100.00")
            state.transfers.append((provider, recipient, msg["msgid"]))
            out.append(("ingress.wallet.v1", msg, provider.psn_no, "accepted"))
        elif recipient.psn_no not in state.with_wallet:
            expect = "rejected WALLET_NOT_OPENED" if REGIONS[provider.region][1] else "rejected"
            out.append(("ingress.wallet.v1", transfer(state, provider, recipient, "100.00"), provider.psn_no, expect))
    if state.transfers:
        provider, recipient, _ = state.transfers[0]
        for msg, expect in (
            (transfer(state, provider, recipient, "2500.00"), "rejected AMOUNT_OUT_OF_RANGE"),
            (transfer(state, provider, recipient, "50.00", verified=False), "rejected VERIFICATION_FAILED"),
            (transfer(state, provider, recipient, "50.00"), "rejected PENDING_TRANSFER_EXISTS"),
        ):
            out.append(("ingress.wallet.v1", msg, provider.psn_no, expect))
    return out


def answer_transfers(state: RunState) -> Plan:
    """Recipients accept (or one in five declines); every fifth is left waiting: it would go back at 06:00."""
    out: Plan = []
    for i, (_, recipient, msgid) in enumerate(state.transfers):
        tid = state.transfer_id(msgid)
        if not tid or i % 5 == 4:
            continue  # left waiting: it would go back at 06:00 tomorrow
        kind = "declined" if i % 5 == 3 else "accepted"
        msg = envelope(state, f"transfer.{kind}", {"transfer_id": tid, "psn_no": recipient.psn_no}, recipient.region)
        out.append(("ingress.wallet.v1", msg, recipient.psn_no, "completed"))
    return out


def end_relationships(state: RunState) -> Plan:
    out: Plan = []
    if len(state.established) >= 3:
        _, recipient, msgid = state.established[0]
        body = {"relationship_id": state.relationship_id(msgid), "requested_by_psn_no": recipient.psn_no}
        msg = envelope(state, "relationship.terminate-requested", body, recipient.region)
        out.append(("ingress.relationship.v1", msg, recipient.psn_no, "completed"))
        provider, _, _ = state.established[1]
        provider.status = "4"
        out.append(
            ("ingress.enrollment.v1", enrolment(state, provider, "death", "2026-11-01"), provider.psn_no, "completed")
        )
        _, recipient, _ = state.established[2]
        recipient.status = "2"
        out.append(
            (
                "ingress.enrollment.v1",
                enrolment(state, recipient, "suspend", "2026-11-01"),
                recipient.psn_no,
                "completed",
            )
        )
    return out
