"""Phase 6: about one in ten settlements is cancelled (one twice), reversals (of a paid settlement, of one not yet
arrived, of a contribution, of a transfer), contributions (390 from the own wallet, 410 from a provider's
account)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from tools.simulator.messages import cancel, contribution, reversal, settle
from tools.simulator.model import ZERO, Plan, Visit
from tools.simulator.paying import living_families, paid, quota
from tools.simulator.state import RunState


def undo_and_contribute(state: RunState) -> Plan:
    out: Plan = []
    paid_ = paid(state)
    done = [v for v in state.visits.values() if state.setl_id(v.msgid)]
    state.rng.shuffle(done)
    # One paid from the account of another region is kept to be cancelled after the month's close.
    crossing = [
        v
        for v in done
        if v.how == "own account"
        and v.patient.region != v.institution.region
        and Decimal(paid_.get(state.setl_id(v.msgid) or "", {}).get("acct_pay", "0")) > 0
    ]
    if crossing and state.month_end:
        state.late_cancel = crossing[0]
        done.remove(crossing[0])
    out += cancellations(state, done)
    if state.held_back is not None:
        out.append(settle(state, state.held_back, "rejected REVERSED"))
    return out + contributions(state, paid_)


def cancellations(state: RunState, done: list[Visit]) -> Plan:
    """About one in ten is cancelled at the counter, one of them paid in cash; one cashier presses twice. Then a
    completed settlement is reversed."""
    out: Plan = []
    cash = [v for v in done if v.how == "cash only"][:1]
    done = cash + [v for v in done if v not in cash]
    n = max(1, len(done) // 10)
    cancelled, done = done[:n], done[n:]
    out += [cancel(state, v) for v in cancelled]
    if cancelled:
        out.append(cancel(state, cancelled[0], "rejected ALREADY_CANCELLED"))
    if done:
        v = done.pop()
        out.append(reversal(state, v.msgid, "settlement.requested", v.msg["sender"], "a completed settlement"))
    return out


STANDARD_390 = Decimal("400.00")
"""The seeded national 390 standard for the years after 2025 (services/payment/migrations/0005_...sql)."""


def contributions(state: RunState, paid_: dict[str, dict[str, Any]]) -> Plan:
    """Contributions for next year: residents from the quota in their own wallet (390), relatives' long-term care
    from a provider's account (410); one not allowed, one the same resident pays twice for a year, one above the
    standard (the national 400.00 for 390, seeded: ADR 0022), one within it but more than the wallet holds."""
    out: Plan = []
    have = quota(state)
    left: dict[str, Decimal] = dict(have)
    for n_ in paid_.values():
        if n_.get("wallet_balc") is not None and n_["psn_no"] in left:
            left[n_["psn_no"]] = min(left[n_["psn_no"]], Decimal(n_["wallet_balc"]))
    for i, r in enumerate([r for r in state.savers if left.get(r.psn_no, ZERO) >= 10]):
        out.append(contribution(state, r, r, "390", min(left[r.psn_no], Decimal(60)).to_integral_value(ROUND_DOWN)))
        if i == 0:  # the same key (the payer): judged after the first, which holds the year
            out.append(contribution(state, r, r, "390", Decimal(10), "rejected CONTRIBUTION_ALREADY_PAID"))
    for provider, r in state.contributing:
        out.append(contribution(state, provider, r, "410", Decimal(state.rng.randrange(50, 121))))
    if state.households:
        head, spouse, _ = state.households[0]
        out.append(contribution(state, head, spouse, "410", Decimal(state.rng.randrange(40, 100))))
        out.append(contribution(state, head, spouse, "310", Decimal(100), "rejected PURPOSE_NOT_ALLOWED"))
    holders = [r for _, r in living_families(state) if r.psn_no in have]
    if holders:
        out.append(
            contribution(state, holders[-1], holders[-1], "390", Decimal(500), "rejected CONTRIBUTION_OVER_STANDARD")
        )
    short = [r for r in holders if have[r.psn_no] < STANDARD_390]
    if short:  # a year of its own: no saver's contribution holds it
        step = contribution(state, short[-1], short[-1], "390", STANDARD_390, "rejected INSUFFICIENT_BALANCE", 2)
        out.append(step)
    return out


def late_reversals(state: RunState) -> Plan:
    out: Plan = []
    reversible = [
        m for m, msg in state.contributions.items() if msg["body"]["insutype"] == "410" and state.setl_id(m) is not None
    ]
    if reversible:
        msg = state.contributions[reversible[0]]
        out.append(reversal(state, msg["msgid"], msg["type"], msg["sender"], "a contribution"))
    if state.transfers:
        provider, _, msgid = state.transfers[0]
        out.append(
            reversal(state, msgid, "transfer.requested", provider.region, "a transfer", "rejected NOT_REVERSIBLE")
        )
    return out
