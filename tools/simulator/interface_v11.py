"""Interface v1.1 (the registry queries go with the credits, phase 1): a wallet frozen for misuse, a transfer to it
refused, unfrozen by the national operator; and at the end every member with money asks for the month's
statement."""

from __future__ import annotations

from datetime import timedelta

from tools.keys import LOCAL_NATIONAL_OPERATOR
from tools.simulator.messages import envelope, transfer
from tools.simulator.model import REGIONS, Person, Plan
from tools.simulator.state import RunState


def frozen_pair(state: RunState) -> tuple[Person, Person] | None:
    """The family whose transfer was left waiting (the fifth): freezing its recipient returns it at once."""
    if len(state.transfers) < 5:
        return None
    provider, recipient, _ = state.transfers[4]
    return provider, recipient


def freeze(state: RunState) -> Plan:
    pair = frozen_pair(state)
    if pair is None:
        return []
    _, recipient = pair
    body = {"psn_no": recipient.psn_no, "reason": "cash-out suspected at a pharmacy (case SIM-1)"}
    msg = envelope(state, "wallet.freeze-requested", body, recipient.region)
    return [("ingress.wallet.v1", msg, recipient.psn_no, "completed")]


def transfer_while_frozen(state: RunState) -> Plan:
    pair = frozen_pair(state)
    if pair is None:
        return []
    provider, recipient = pair
    msg = transfer(state, provider, recipient, "20.00")
    return [("ingress.wallet.v1", msg, provider.psn_no, "rejected WALLET_FROZEN")]


def unfreeze(state: RunState) -> Plan:
    pair = frozen_pair(state)
    if pair is None:
        return []
    _, recipient = pair
    body = {"psn_no": recipient.psn_no, "reason": "case SIM-1 closed"}
    msg = envelope(state, "wallet.unfreeze-requested", body, LOCAL_NATIONAL_OPERATOR)
    return [("ingress.wallet.v1", msg, recipient.psn_no, "completed")]


def statement_requests(state: RunState) -> Plan:
    """Every member with money on the platform asks for the month's statement, through their province (and one
    province asks about somebody else's member: refused)."""
    today = state.business_now().date()
    out: Plan = []
    people = [p for p in state.people if p.account or p.may_receive]
    for p in people:
        body = {
            "psn_no": p.psn_no,
            "from_date": (today - timedelta(days=30)).isoformat(),
            "to_date": (today + timedelta(days=1)).isoformat(),
        }
        msg = envelope(state, "wallet.statement-requested", body, p.region)
        out.append(("ingress.wallet.v1", msg, p.psn_no, "completed"))
    if people:
        someone = people[0]
        elsewhere = next(r for r in REGIONS if r[:2] != someone.region[:2])
        body = {"psn_no": someone.psn_no, "from_date": today.isoformat(), "to_date": today.isoformat()}
        msg = envelope(state, "wallet.statement-requested", body, elsewhere)
        out.append(("ingress.wallet.v1", msg, someone.psn_no, "rejected NOT_A_PARTY"))
    return out
