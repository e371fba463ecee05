"""The summary's payments: settlements by how they were paid and why refused, whether the parts add up to the
personal part, cancellations (one after the month closed), reversals and contributions."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from tools.simulator.model import HOW, ZERO
from tools.simulator.paying import paid
from tools.simulator.state import RunState


def payments_summary(state: RunState) -> list[str]:
    """Prints what patients paid, cancelled, reversed and contributed; returns what did not add up."""
    traffic, problems = state.traffic, list[str]()
    paid_ = paid(state)
    visits = [v for v in state.visits.values() if v.msgid in traffic.sent]
    if not visits:
        return problems
    done = {v.msgid: s for v in visits if (s := state.setl_id(v.msgid))}
    print("\n== Payments at hospitals and pharmacies (settlement.requested) ==")
    kinds = Counter("hospital" if v.institution.kind == "1" else "pharmacy" for v in visits)
    places = {v.institution.code for v in visits}
    regions = {v.institution.region for v in visits}
    print(
        f"settlements requested: {len(visits)} at {len(places)} institutions in {len(regions)} regions "
        f"({kinds['hospital']} at hospitals, {kinds['pharmacy']} at pharmacies)"
    )
    how = Counter(v.how for v in visits if v.msgid in done)
    print(f"  completed {len(done)}, asked to pay by: " + ", ".join(f"{how[h]} {h}" for h in HOW if how[h]))
    refused = [v for v in visits if v.msgid not in done]
    reasons = Counter(traffic.label(v.msgid).removeprefix("rejected ") for v in refused)
    intended = all(traffic.label(v.msgid) == traffic.sent[v.msgid].expect for v in refused)
    print(
        f"  rejected {len(refused)} ({'each on purpose' if intended else 'NOT ALL ON PURPOSE'}): "
        + ", ".join(f"{n} {code}" for code, n in reasons.most_common())
    )
    missing = [s for s in done.values() if s not in paid_]
    if missing:
        problems.append(f"{len(missing)} completed settlements without a settlement.completed notification")
    bills = [(v, paid_[s]) for v in visits if (s := done.get(v.msgid)) and s in paid_]

    def total(field_: str) -> Decimal:
        return sum((Decimal(n[field_]) for _, n in bills), ZERO)

    fees = sum((Decimal(v.msg["body"]["medfee_sumamt"]) for v, _ in bills), ZERO)
    fund = sum((Decimal(v.msg["body"]["fund_pay_sumamt"]) for v, _ in bills), ZERO)
    wallet, acct, mulaid, cash = (total(f) for f in ("wallet_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"))
    print(f"  medical fees {fees:.2f} yuan: fund {fund:.2f}, personal part {fees - fund:.2f} paid as")
    print(
        f"    wallet_pay {wallet:.2f} + acct_pay {acct:.2f} (acct_mulaid_pay {mulaid:.2f} of it from "
        f"providers' accounts) + cash {cash:.2f}"
    )
    if wallet + acct + cash != fees - fund:
        problems.append("settlement parts do not add up to the personal part")
    used = Counter(v.how for v, n in bills if Decimal(n["wallet_pay"]) + Decimal(n["acct_pay"]) > 0)
    print(
        "  account or quota money was there to take for "
        + ", ".join(f"{used[h]} of {how[h]} {h}" for h in HOW if h != "cash only" and how[h])
    )

    undone_summary(state, paid_, done)
    return problems


def undone_summary(state: RunState, paid_: dict[str, dict[str, Any]], done: dict[str, str]) -> None:
    """Prints the cancellations (with what went back), the reversals and the contributions."""
    traffic = state.traffic
    cancelled = {n["setl_id"] for n in traffic.notifications["settlement.cancelled"]}
    undo = [(m, traffic.label(m)) for m in state.cancels]
    ok = [state.cancels[m] for m, label in undo if label == "completed"]
    back = sum(
        (Decimal(paid_[s]["wallet_pay"]) + Decimal(paid_[s]["acct_pay"]) for m in ok if (s := done.get(m)) in paid_),
        ZERO,
    )
    others = Counter(label for _, label in undo if label != "completed")
    after = 1 if state.late_cancel is not None and traffic.label(list(state.cancels)[-1]) == "completed" else 0
    print(
        f"cancellations: {len(ok)} settlements cancelled ({back:.2f} yuan back to accounts and wallets"
        f"{f', {after} of them after the month closed' if after else ''}); "
        + (", ".join(f"{n} {label}" for label, n in others.items()) or "none refused")
        + f"; settlement.cancelled told for {len(cancelled & {done.get(m) for m in ok})} of them"
    )
    for what, msgid in state.reversals:
        line = f"reversal of {what}: {traffic.label(msgid)}"
        if what.startswith("a settlement, before") and state.held_back is not None:
            line += f"; the original, arriving later: {traffic.label(state.held_back.msgid)}"
        print(line)
    contributions: dict[str, Counter[str]] = defaultdict(Counter)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for m, msg in state.contributions.items():
        b = msg["body"]
        own = b["payer_psn_no"] == b["insured_psn_no"]
        kind = f"insutype {b['insutype']} from {'the own wallet' if own else 'a provider'}"
        contributions[kind][traffic.label(m)] += 1
        if traffic.label(m) == "completed":
            amounts[kind] += Decimal(b["amount"])
    print("contributions (contribution.requested):")
    for kind, c in sorted(contributions.items()):
        told = [
            f"{n} {label}" + (f" ({amounts[kind]:.2f} yuan)" if label == "completed" else "") for label, n in c.items()
        ]
        print(f"  {kind}: {', '.join(told)}")
