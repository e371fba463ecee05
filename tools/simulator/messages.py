"""The provinces' message factory: envelopes in business time, made-up people, and the messages more than one
phase sends (enrolments, bind requests and consents, transfer requests, settlements, cancellations, reversals,
contributions)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tools.simulator.model import GIVEN, SURNAMES, Person, Step, Visit
from tools.simulator.state import RunState


def msgid(state: RunState, sender: str) -> str:
    seq = state.next_seq()
    return f"{sender}{state.business_now():%Y%m%d%H%M%S}{seq % 10**10:010d}"


def envelope(state: RunState, type_: str, body: dict[str, Any], sender: str) -> dict[str, Any]:
    return {
        "msgid": msgid(state, sender),
        "type": type_,
        "sender": sender,
        "sent_at": state.business_now().isoformat(timespec="seconds"),
        "body": body,
    }


def new_person(state: RunState, region: str, insutype: str, account: bool, status: str = "1") -> Person:
    rng = state.rng
    birth = f"{rng.randrange(1950, 2005)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    county = f"{region[:4]}{rng.randrange(1, 30):02d}"
    person = Person(
        psn_no=f"{region}{rng.randrange(10**14):014d}",
        certno=f"{county}{birth}{rng.randrange(1000):03d}{rng.choice('0123456789X')}",
        name=rng.choice(SURNAMES) + rng.choice(GIVEN),
        region=region,
        insutype=insutype,
        account=account,
        status=status,
    )
    state.people.append(person)
    return person


def enrolment(state: RunState, p: Person, change: str = "enrol", effective: str = "2026-01-01") -> dict[str, Any]:
    return envelope(
        state,
        "enrollment.changed",
        {
            "psn_no": p.psn_no,
            "psn_name": p.name,
            "psn_cert_type": "01",
            "certno": p.certno,
            "insutype": p.insutype,
            "psn_insu_stas": p.status,
            "insuplc_admdvs": p.region,
            "has_personal_account": p.account,
            "change_reason": change,
            "effective_at": f"{effective}T00:00:00+08:00",
        },
        p.region,
    )


def bind(
    state: RunState, provider: Person, recipient: Person, kinship: str, *, name: str | None = None
) -> dict[str, Any]:
    return envelope(
        state,
        "relationship.bind-requested",
        {
            "provider_psn_no": provider.psn_no,
            "recipient_psn_no": recipient.psn_no,
            "kinship": kinship,
            "recipient_certno": recipient.certno,
            "recipient_name": name or recipient.name,
        },
        provider.region,
    )


def transfer(
    state: RunState, provider: Person, recipient: Person, amount: str, verified: bool = True
) -> dict[str, Any]:
    return envelope(
        state,
        "transfer.requested",
        {
            "from_psn_no": provider.psn_no,
            "to_psn_no": recipient.psn_no,
            "to_certno": recipient.certno,
            "to_name": recipient.name,
            "amount": amount,
            "verification": "face",
            "verified": verified,
        },
        provider.region,
    )


def confirmation(state: RunState, relationship_id: str, recipient: Person) -> dict[str, Any]:
    """The recipient's consent to a bind request, through the recipient's province."""
    return envelope(
        state,
        "relationship.bind-confirmed",
        {"relationship_id": relationship_id, "recipient_psn_no": recipient.psn_no},
        recipient.region,
    )


# -- what the institutions' provinces send about payments (remembered for the phases after and the summary) ----


def settle(state: RunState, v: Visit, expect: str = "completed") -> Step:
    state.visits[v.msgid] = v
    return ("ingress.settlement.v1", v.msg, v.patient.psn_no, expect)


def cancel(state: RunState, v: Visit, expect: str = "completed") -> Step:
    """The institution's province cancels a settlement (like 2208)."""
    body = {"setl_id": state.setl_id(v.msgid), "mdtrt_id": v.msg["body"]["mdtrt_id"], "psn_no": v.patient.psn_no}
    msg = envelope(state, "settlement.cancel-requested", body, v.institution.region)
    state.cancels[msg["msgid"]] = v.msgid
    return ("ingress.settlement.v1", msg, v.patient.psn_no, expect)


def reversal(state: RunState, omsgid: str, otype: str, sender: str, what: str, expect: str = "completed") -> Step:
    """The original's sender undoes it by its msgid (like 2601), e.g. after a time-out."""
    msg = envelope(state, "reversal.requested", {"omsgid": omsgid, "otype": otype}, sender)
    state.reversals.append((what, msg["msgid"]))
    return ("ingress.settlement.v1", msg, omsgid, expect)


def contribution(
    state: RunState,
    payer: Person,
    insured: Person,
    insutype: str,
    amount: Decimal,
    expect: str = "completed",
    years_ahead: int = 1,
) -> Step:
    """For next year unless `years_ahead` says otherwise (one is paid a year per person and kind: ADR 0022)."""
    body = {
        "payer_psn_no": payer.psn_no,
        "insured_psn_no": insured.psn_no,
        "insutype": insutype,
        "amount": f"{amount:.2f}",
        "year": state.business_now().year + years_ahead,
    }
    msg = envelope(state, "contribution.requested", body, insured.region)
    state.contributions[msg["msgid"]] = msg
    return ("ingress.settlement.v1", msg, payer.psn_no, expect)
