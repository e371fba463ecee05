"""Phase 5: patients pay at hospitals and pharmacies of ten regions: with wallet quota, their own account, a bound
provider's account (also across provinces), or cash; some refused on purpose (med type, wallet outside the insured
region or at an institution without it, no relationship, unknown institution, wrong sender)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from tools.simulator.messages import envelope, reversal, settle
from tools.simulator.model import CENT, REGIONS, ZERO, Institution, Person, Plan, Visit
from tools.simulator.state import RunState

CARE: dict[str, tuple[int, int, float, float]] = {
    "41": (15, 160, 0.0, 0.0),
    "11": (50, 400, 0.0, 0.5),
    "14": (150, 900, 0.5, 0.7),
    "2101": (2000, 18000, 0.7, 0.9),
}
"""Medical fees (lowest, highest) and the fund's share of them (lowest, highest) by med_type."""


def place(state: RunState, region: str, kind: str | None = None, wallet: bool | None = None) -> Institution:
    """An institution of the region: of a kind ("1" hospital, "2" pharmacy), taking wallet payment or not."""
    fits = [
        i for i in state.institutions if i.region == region and kind in (None, i.kind) and wallet in (None, i.wallet)
    ]
    return state.rng.choice(fits)


def bill(state: RunState, med_type: str) -> tuple[Decimal, Decimal]:
    """Medical fees and the fund's part of them for a kind of care; the rest is the patient's part."""
    low, high, fund_low, fund_high = CARE.get(med_type, (50, 300, 0.0, 0.3))
    fee = Decimal(state.rng.randrange(low * 100, high * 100)) / 100
    fund = (fee * Decimal(f"{state.rng.uniform(fund_low, fund_high):.2f}")).quantize(CENT)
    return fee, fund


def visit(
    state: RunState,
    patient: Person,
    inst: Institution,
    flag: str,
    *,
    wallet: bool = False,
    provider: Person | None = None,
    med_type: str | None = None,
    sender: str | None = None,
    small: bool = False,
) -> Visit:
    """A patient's bill at an institution (like 2207): acct_used_flag 0 cash, 1 own account, 2 a provider's."""
    if med_type is None:
        care = ["11", "11", "14"] if small else ["11", "11", "11", "14", "14", "2101"]
        med_type = "41" if inst.kind == "2" else state.rng.choice(care)
    fee, fund = bill(state, med_type)
    seq = state.next_seq()
    body: dict[str, Any] = {
        "mdtrt_id": f"MD{inst.code}{state.business_now():%Y%m%d}{seq % 10**8:08d}",
        "psn_no": patient.psn_no,
        "fixmedins_code": inst.code,
        "mdtrtarea_admvs": inst.region,
        "med_type": med_type,
        "medfee_sumamt": f"{fee:.2f}",
        "fund_pay_sumamt": f"{fund:.2f}",
        "psn_part_amt": f"{fee - fund:.2f}",
        "acct_used_flag": flag,
        "use_wallet": wallet,
        "setl_time": state.business_now().isoformat(timespec="seconds"),
    }
    if flag == "2" and provider is not None:
        body["provider_psn_no"] = provider.psn_no
    how = "wallet" if wallet else {"1": "own account", "2": "provider's account"}.get(flag, "cash only")
    msg = envelope(state, "settlement.requested", body, sender or inst.region)
    return Visit(msg, patient, inst, how, provider if flag == "2" else None)


def paid(state: RunState) -> dict[str, dict[str, Any]]:
    """settlement.completed by setl_id (each province concerned got one)."""
    return {n["setl_id"]: n for n in state.traffic.notifications["settlement.completed"]}


def living_families(state: RunState) -> list[tuple[Person, Person]]:
    ended = {n["relationship_id"] for n in state.traffic.notifications["relationship.ended"]}
    return [
        (provider, recipient)
        for provider, recipient, msgid in state.established
        if state.relationship_id(msgid) not in ended and provider.status == "1" and recipient.status == "1"
    ]


def quota(state: RunState) -> dict[str, Decimal]:
    """The quota recipients accepted into their wallets today."""
    done = {n["transfer_id"]: Decimal(n["amount"]) for n in state.traffic.notifications["transfer.completed"]}
    out: dict[str, Decimal] = defaultdict(Decimal)
    for _, recipient, msgid in state.transfers:
        tid = state.transfer_id(msgid)
        if tid in done:
            out[recipient.psn_no] += done[tid]
    return out


def settlements(state: RunState) -> Plan:
    out: Plan = []
    rng = state.rng
    have = quota(state)
    families = living_families(state)
    state.contributing = families[:2]  # their providers' accounts pay a contribution later, nothing today
    wallet_payers = [r for _, r in families if have.get(r.psn_no, ZERO) > 0]
    # Two residents keep their quota for next year's contribution (390, from the wallet).
    state.savers = [r for r in wallet_payers if r.insutype == "390"][:2]
    # Recipients spend the quota where they are insured, at a pharmacy and a clinic that take wallet
    # payment; what the quota does not cover comes from their own account if they have one, else cash.
    for r in wallet_payers:
        if r in state.savers:
            continue
        for kind in ("2", "1"):
            inst = place(state, r.region, kind, True)
            out.append(settle(state, visit(state, r, inst, "1" if r.account else "0", wallet=True, small=True)))
    # Relatives bound to a provider in another province pay from the provider's account (some after quota).
    for provider, r in families[2:]:
        use_wallet = r.psn_no in have and r not in state.savers and rng.random() < 0.5
        inst = place(state, r.region, "1", True if use_wallet else None)
        out.append(settle(state, visit(state, r, inst, "2", wallet=use_wallet, provider=provider)))
    # Households: spouse and child pay from the employee's account in their city; some children study
    # in another province and pay from it there. The first household's account pays a contribution later.
    established = {n["relationship_id"] for n in state.traffic.notifications["relationship.established"]}
    for i, (head, relative, msgid) in enumerate(state.households):
        if state.relationship_id(msgid) not in established:
            continue
        if i < 2:
            inst = place(state, relative.region, "2")
            out.append(settle(state, visit(state, relative, inst, "2" if i == 0 else "0", provider=head)))
            continue
        for kind in ("2", "1"):
            inst = place(state, relative.region, kind)
            out.append(settle(state, visit(state, relative, inst, "2", provider=head, small=True)))
        if i % 4 == 3:
            away = rng.choice([x for x in REGIONS if x[:2] != relative.region[:2]])
            inst = place(state, away, "1")
            out.append(settle(state, visit(state, relative, inst, "2", provider=head, small=True)))
    # Employees pay from their own account, mostly at home, some treated in another province (异地就医).
    busy = {p.psn_no for pair in families for p in pair} | {p.psn_no for h in state.households for p in h[:2]}
    crowd = state.people[: state.people_wanted]
    employees = [p for p in crowd if p.may_provide and p.psn_no not in busy]
    rng.shuffle(employees)
    for e in employees[2:32]:
        for _ in range(rng.choice((1, 1, 2))):
            region = rng.choice([r for r in REGIONS if r != e.region]) if rng.random() < 0.3 else e.region
            out.append(settle(state, visit(state, e, place(state, region), "1")))
    # Cash only: residents without a personal account, and a few employees keeping theirs.
    residents = [p for p in crowd if p.insutype == "390" and p.status == "1" and p.psn_no not in busy]
    for p in residents[:12] + employees[32:36]:
        out.append(settle(state, visit(state, p, place(state, p.region), "0")))
    out += refused(state, employees, wallet_payers)
    rng.shuffle(out)
    return out


def refused(state: RunState, employees: list[Person], wallet_payers: list[Person]) -> Plan:
    """Settlements refused on purpose, each with its reason; and a hospital's reversal of one it had not sent yet
    (its system timed out: the settlement arrives later)."""
    out: Plan = []
    if len(employees) >= 2:
        e, other = employees[0], employees[1]
        for inst, med_type in ((place(state, e.region, "2"), "11"), (place(state, e.region, "1"), "41")):
            out.append(settle(state, visit(state, e, inst, "1", med_type=med_type), "rejected PURPOSE_NOT_ALLOWED"))
        nowhere = Institution(f"H{e.region}ZZ{state.rng.randrange(1000):03d}", "unknown", e.region, "1", True)
        out.append(settle(state, visit(state, e, nowhere, "1"), "rejected UNKNOWN_INSTITUTION"))
        inst = place(state, e.region, "1")
        out.append(settle(state, visit(state, e, inst, "2", provider=other), "rejected NO_RELATIONSHIP"))
        foreign = next(r for r in REGIONS if r[:2] != e.region[:2])
        out.append(settle(state, visit(state, e, inst, "1", sender=foreign), "rejected NOT_A_PARTY"))
        state.held_back = visit(state, other, place(state, other.region, "1"), "1")
        what = "a settlement, before it arrived"
        out.append(reversal(state, state.held_back.msgid, "settlement.requested", other.region, what))
    if wallet_payers:
        r = wallet_payers[0]
        elsewhere = next(x for x in REGIONS if x != r.region and REGIONS[x][1])
        for inst, expect in (
            (place(state, elsewhere, "2", True), "rejected OUTSIDE_INSURED_REGION"),
            (place(state, r.region, "1", False), "rejected INSTITUTION_NOT_ENABLED"),
        ):
            out.append(settle(state, visit(state, r, inst, "0", wallet=True), expect))
    return out
