"""Phase 1: what provinces publish today. The registry (regions' wallet switch, hospitals, pharmacies), enrolments,
account credits, with the mistakes real integrations make (resends, malformed messages, unknown types)."""

from __future__ import annotations

import json
from decimal import Decimal

from services.clearing.domain.clearing import month_of
from tools.keys import LOCAL_NATIONAL_OPERATOR
from tools.simulator.messages import enrolment, envelope, new_person
from tools.simulator.model import HOUSEHOLD_REGIONS, REGIONS, Institution, Plan
from tools.simulator.state import PolicyFamilies, RunState


def registry_and_people(state: RunState) -> Plan:
    out: Plan = []
    for region, (_, enabled) in REGIONS.items():
        switch = envelope(state, "region.wallet-status-changed", {"admdvs": region, "wallet_enabled": enabled}, region)
        out.append(("ingress.registry.v1", switch, region, "completed"))
        out += institutions(state, region)
    for i in range(state.people_wanted):
        region = state.rng.choice(list(REGIONS))
        roll = state.rng.random()
        if roll < 0.6:
            insutype, account = "310", True
        elif roll < 0.7:
            insutype, account = "310", False  # pooling only (单建统筹): never a provider
        else:
            insutype, account = "390", False
        status = "2" if i % 25 == 24 else "1"
        p = new_person(state, region, insutype, account, status)
        out.append(
            (
                "ingress.enrollment.v1",
                enrolment(state, p, "enrol" if status == "1" else "suspend"),
                p.psn_no,
                "completed",
            )
        )
    # Families the policy scenarios need: a Tianjin provider with five close relatives, a Shandong mother.
    policy = state.policy = PolicyFamilies(
        tianjin=new_person(state, "120100", "310", True),
        tianjin_family=[new_person(state, "120100", "390", False) for _ in range(5)],
        jinan_mother=new_person(state, "370100", "390", False),
        jinan_children=[new_person(state, "370100", "310", True) for _ in range(2)],
    )
    # Households in one city: an employee provides for a spouse and a child insured as residents.
    state.household_members = []
    for region in HOUSEHOLD_REGIONS:
        head = new_person(state, region, "310", True)
        state.household_members += [(head, new_person(state, region, "390", False), k) for k in ("spouse", "child")]
    scripted = [policy.tianjin, *policy.tianjin_family, policy.jinan_mother, *policy.jinan_children]
    scripted += list({p.psn_no: p for pair in state.household_members for p in pair[:2]}.values())
    for p in scripted:
        out.append(("ingress.enrollment.v1", enrolment(state, p), p.psn_no, "completed"))
    # Real integrations resend after a time-out: the same msgid must get the same answer, once booked.
    for topic, value, key, expect in state.rng.sample([o for o in out if o[0] == "ingress.enrollment.v1"], 3):
        out.append((topic, value, key, expect))
    return out


def institutions(state: RunState, region: str) -> Plan:
    """Three hospitals and two pharmacies per region: the first of each takes wallet payment, the last hospital
    does not, the others as they chose."""
    out: Plan = []
    for kind, prefix, switches in (("1", "H", (True, None, False)), ("2", "P", (True, None))):
        for n, switch in enumerate(switches):
            wallet = state.rng.random() < 0.6 if switch is None else switch
            inst = Institution(
                f"{prefix}{region}{state.rng.randrange(10**5):05d}",
                f"{REGIONS.get(region, (region, True))[0]} {'hospital' if kind == '1' else 'pharmacy'} {n + 1}",
                region,
                kind,
                wallet,
            )
            state.institutions.append(inst)
            body = {
                "fixmedins_code": inst.code,
                "fixmedins_name": inst.name,
                "fixmedins_type": kind,
                "admdvs": region,
                "wallet_enabled": wallet,
            }
            out.append(
                ("ingress.registry.v1", envelope(state, "institution.upserted", body, region), region, "completed")
            )
    return out


def credits(state: RunState) -> Plan:
    """Once they are enrolled, their insured regions credit the personal accounts (only they may)."""
    out: Plan = []
    for p in state.people:
        if not p.account:
            continue
        for period in ("202610", "202611"):
            amount = Decimal(state.rng.randrange(15000, 60000)) / 100
            msg = envelope(
                state,
                "account.credited",
                {"psn_no": p.psn_no, "amount": f"{amount:.2f}", "period": period, "kind": "contribution"},
                p.region,
            )
            state.traffic.credit_msgids[msg["msgid"]] = (p.psn_no, amount)
            out.append(("ingress.enrollment.v1", msg, p.psn_no, "completed"))
    for topic, value, key, expect in state.rng.sample(out, 3):  # resent after a time-out
        out.append((topic, value, key, expect))
    # Where the wallet works (interface v1.1): a member's app asks, through its province.
    for what, admdvs in (("regions", "440000"), ("institutions", "610100")):
        query = envelope(state, "registry.query-requested", {"what": what, "admdvs": admdvs}, "440300")
        out.append(("ingress.registry.v1", query, admdvs, "completed"))
    return out + mistakes(state)


def mistakes(state: RunState) -> Plan:
    """Another province credits someone, a malformed credit, garbage, an unknown type; a cancellation of a
    settlement nobody made, and a close of the month still running."""
    out: Plan = []
    someone = next(p for p in state.people if p.account)
    elsewhere = next(r for r in REGIONS if r[:2] != someone.region[:2])
    wrong = envelope(
        state,
        "account.credited",
        {"psn_no": someone.psn_no, "amount": "100.00", "period": "202611", "kind": "contribution"},
        elsewhere,
    )
    out.append(("ingress.enrollment.v1", wrong, someone.psn_no, "rejected SENDER_NOT_ALLOWED"))
    bad = json.dumps(
        {
            "msgid": state.bad_msgid,
            "sender": "440300",
            "type": "account.credited",
            "sent_at": state.business_now().isoformat(timespec="seconds"),  # signed, as everything a province sends
            "body": {"psn_no": "1", "amount": 12.5},
        }
    ).encode()
    out.append(("ingress.enrollment.v1", bad, "1", "rejected INVALID_MESSAGE"))
    out.append(("ingress.registry.v1", b"\x00\x01 garbage that is not JSON", "x", "dlq only"))
    renamed = envelope(state, "region.renamed", {"admdvs": "440300"}, "440300")
    out.append(("ingress.registry.v1", renamed, "440300", "rejected INVALID_MESSAGE"))
    someone = state.people[0]
    body = {"setl_id": "S0", "mdtrt_id": "M0", "psn_no": someone.psn_no}
    cancel = envelope(state, "settlement.cancel-requested", body, someone.region)
    out.append(("ingress.settlement.v1", cancel, someone.psn_no, "rejected UNKNOWN_SETTLEMENT"))
    month = month_of(state.business_now())
    close = envelope(state, "clearing.close-requested", {"period": month}, LOCAL_NATIONAL_OPERATOR)
    expect = "rejected PERIOD_CLOSED" if month in state.closed_at_start else "rejected PERIOD_NOT_ENDED"
    out.append(("ingress.clearing.v1", close, month, expect))
    return out
