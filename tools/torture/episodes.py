"""What a family does: its setup, then episodes drawn from its own randomness until the run ends.

A family draws two numbers per episode from its Random (which episode, and the episode's own seed), so the
sequence of episodes and their parameters (amounts, regions, which message races which) depends on the seed
alone. The ids in the messages come from the platform's answers, and a step that needs an id the platform did not
give (a refused bind request has no relationship to consent to) is left out.

Races on purpose: a held transfer's accept and the provider's terminate at the same moment (scenario
1), an accept and a freeze, an accept and a move of the provider, a settlement and its own reversal, two
contributions for the same person and year, a credit and a move; resends of the same bytes, at once and later.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from tools.keys import LOCAL_NATIONAL_OPERATOR
from tools.simulator.messages import bind, cancel, confirmation, contribution, enrolment, envelope, reversal, transfer
from tools.simulator.model import Person, Step
from tools.simulator.paying import place, visit
from tools.torture.wire import Message, Wire
from tools.torture.world import Family, drawing, move_target

WALLET, RELATIONSHIP, SETTLEMENT, ENROLMENT = (
    "ingress.wallet.v1",
    "ingress.relationship.v1",
    "ingress.settlement.v1",
    "ingress.enrollment.v1",
)
Episode = Callable[[Family, Wire, random.Random], Awaitable[None]]


def message(step: Step) -> Message:
    """A simulator plan step as a message to publish (the factory's steps are always envelopes)."""
    topic, value, key, _ = step
    assert isinstance(value, dict)
    return topic, value, key


def money(rng: random.Random, low: int, high: int) -> str:
    return f"{Decimal(rng.randrange(low * 100, high * 100)) / 100:.2f}"


def status(answer: dict[str, Any] | None) -> str:
    return "(none)" if answer is None else str(answer["status"])


# -- the messages a family sends ------------------------------------------------------------------------------


def credit(w: Wire, p: Person, amount: str) -> Message:
    body = {
        "psn_no": p.psn_no,
        "amount": amount,
        "period": w.state.business_now().strftime("%Y%m"),
        "kind": "contribution",
    }
    msg = envelope(w.state, "account.credited", body, p.region)
    w.traffic.credit_msgids[msg["msgid"]] = (p.psn_no, Decimal(amount))
    return ENROLMENT, msg, p.psn_no


def terminate(w: Wire, rid: str, by: Person) -> Message:
    body = {"relationship_id": rid, "requested_by_psn_no": by.psn_no}
    return RELATIONSHIP, envelope(w.state, "relationship.terminate-requested", body, by.region), by.psn_no


def answer_transfer(w: Wire, tid: str, recipient: Person, kind: str = "accepted") -> Message:
    body = {"transfer_id": tid, "psn_no": recipient.psn_no}
    return WALLET, envelope(w.state, f"transfer.{kind}", body, recipient.region), recipient.psn_no


def freeze(w: Wire, p: Person, by: str, action: str = "freeze") -> Message:
    body = {"psn_no": p.psn_no, "reason": f"torture: {action} by {by}"}
    return WALLET, envelope(w.state, f"wallet.{action}-requested", body, by), p.psn_no


def move(w: Wire, p: Person, to: str) -> Message:
    """The person's insured province moves them (change_reason `transfer`) to region `to`."""
    msg = enrolment(w.state, replace(p, region=to), "transfer", w.state.business_now().date().isoformat())
    msg["sender"] = p.region
    return ENROLMENT, msg, p.psn_no


def statement(w: Wire, p: Person, from_date: str) -> Message:
    body = {"psn_no": p.psn_no, "from_date": from_date, "to_date": w.state.business_now().date().isoformat()}
    return WALLET, envelope(w.state, "wallet.statement-requested", body, p.region), p.psn_no


def moved(answer: dict[str, Any] | None, p: Person, to: str) -> None:
    if answer and answer["status"] == "completed":
        p.region = to


# -- setup and episodes ---------------------------------------------------------------------------------------


async def setup(f: Family, w: Wire) -> None:
    """Enrol both (the shared provider once), credit the accounts, open the relative's wallet, bind, consent."""
    p, r = f.people
    st = w.state
    first = [] if f.shares_provider else [(ENROLMENT, enrolment(st, p), p.psn_no)]
    await w.ask([*first, (ENROLMENT, enrolment(st, r), r.psn_no)], f.index)
    credits = [] if f.shares_provider else [credit(w, p, money(f.rng, 2000, 6000))]
    if r.account:
        credits.append(credit(w, r, money(f.rng, 200, 2000)))
    opening = envelope(
        st, "wallet.open-requested", {"psn_no": r.psn_no, "usage_admdvs": r.region, "phone": "13800000000"}, r.region
    )
    await w.ask([*credits, (WALLET, opening, r.psn_no)], f.index)
    await rebind(f, w, random.Random(f.rng.random()))


async def rebind(f: Family, w: Wire, rng: random.Random) -> None:
    """The provider asks to bind the relative again; the relative consents (and sometimes the consent is sent
    twice, byte for byte, at once)."""
    p, r = f.people
    (a,) = await w.ask([(RELATIONSHIP, bind(w.state, p, r, f.kinship), p.psn_no)], f.index)
    if a and a["status"] == "accepted":
        f.rid = a["relationship_id"]
        consent = (RELATIONSHIP, confirmation(w.state, a["relationship_id"], r), r.psn_no)
        ids = await w.publish([consent], f.index)
        if rng.random() < 0.15:
            await w.resend(ids)
        await w.answers(ids)


async def transfer_episode(f: Family, w: Wire, rng: random.Random) -> None:
    """A transfer request, then what the relative (and the others) do while it is held."""
    p, r = f.people
    amount = money(rng, 1, 600)
    then = rng.choices(
        ["accept", "decline", "wait", "race-terminate", "race-freeze", "race-move", "accept-twice"],
        [25, 5, 5, 40, 8, 7, 10],
    )[0]
    by_provider = rng.random() < 0.7
    to = move_target(rng, p)
    (a,) = await w.ask([(WALLET, transfer(w.state, p, r, amount), p.psn_no)], f.index)
    if not a or a["status"] != "accepted":
        return
    accept = answer_transfer(w, a["transfer_id"], r, "declined" if then == "decline" else "accepted")
    if then == "wait":
        return  # it goes back at 06:00 the next business day (the clock moves on during and after the run)
    if then == "race-terminate" and f.rid:  # scenario 1: both at the same moment
        await w.ask([accept, terminate(w, f.rid, p if by_provider else r)], f.index)
        await rebind(f, w, rng)  # so that the family's next transfer has a relationship again
    elif then == "race-freeze":
        by = r.region if by_provider else LOCAL_NATIONAL_OPERATOR
        await w.ask([accept, freeze(w, r, by)], f.index)
        await w.ask([freeze(w, r, by, "unfreeze")], f.index)
    elif then == "race-move":
        _, b = await w.ask([accept, move(w, p, to)], f.index)
        moved(b, p, to)
        await rebind(f, w, rng)
    elif then == "accept-twice":
        ids = await w.publish([accept], f.index)
        await w.resend(ids)
        await w.answers(ids)
    else:
        await w.ask([accept], f.index)


async def pay(f: Family, w: Wire, rng: random.Random) -> None:
    """A settlement from the relative's wallet, the provider's own account or (for the relative) the provider's
    account; then sometimes cancelled, reversed, reversed at the same moment, or resent."""
    p, r = f.people
    st = w.state
    how = rng.choice(["wallet", "own", "provider", "provider"])
    then = rng.choices(["none", "cancel", "reverse", "reverse-race", "resend"], [50, 20, 10, 10, 10])[0]
    away = rng.random() < 0.3
    with drawing(st, rng):
        if how == "wallet":
            inst = place(st, r.region, None, True)
            v = visit(st, r, inst, "1" if r.account else "0", wallet=True, small=True)
        elif how == "own":
            inst = place(st, rng.choice([i.region for i in st.institutions]) if away else p.region)
            v = visit(st, p, inst, "1", small=True)
        else:
            inst = place(st, rng.choice([i.region for i in st.institutions]) if away else r.region)
            v = visit(st, r, inst, "2", provider=p, small=True)
    st.visits[v.msgid] = v
    settlement: Message = (SETTLEMENT, v.msg, v.patient.psn_no)
    if then == "reverse-race":
        undo = reversal(st, v.msgid, "settlement.requested", inst.region, "torture")
        await w.ask([settlement, message(undo)], f.index)
        return
    ids = await w.publish([settlement], f.index)
    if then == "resend":
        await w.resend(ids)
    (a,) = await w.answers(ids)
    if then == "cancel" and a and a["status"] == "completed":
        await w.ask([message(cancel(st, v))], f.index)
    elif then == "reverse" and a:
        await w.ask([message(reversal(st, v.msgid, "settlement.requested", inst.region, "torture"))], f.index)


async def contribute(f: Family, w: Wire, rng: random.Random) -> None:
    """The provider pays the relative's contribution (390, or 410 for an employee); sometimes twice at once for the
    same person, kind and year (scenario 3)."""
    p, r = f.people
    kind = "390" if r.insutype == "390" else "410"
    amount = Decimal(money(rng, 50, 800))
    times = 2 if rng.random() < 0.35 else 1
    await w.ask([message(contribution(w.state, p, r, kind, amount)) for _ in range(times)], f.index)


async def freeze_episode(f: Family, w: Wire, rng: random.Random) -> None:
    """A person frozen (by their province or the national operator) while a transfer to or from them, or a
    payment from the wallet, is sent at the same moment; then unfrozen by the same authority."""
    p, r = f.people
    who = r if rng.random() < 0.6 else p
    by = who.region if rng.random() < 0.6 else LOCAL_NATIONAL_OPERATOR
    amount = money(rng, 1, 200)
    await w.ask([freeze(w, who, by), (WALLET, transfer(w.state, p, r, amount), p.psn_no)], f.index)
    await w.ask([freeze(w, who, by, "unfreeze")], f.index)


async def move_episode(f: Family, w: Wire, rng: random.Random) -> None:
    """A person moves (their relationships end); the provider's move sometimes races a credit from the old region."""
    p, r = f.people
    who = p if rng.random() < 0.6 else r
    to = move_target(rng, who)
    amount = money(rng, 100, 1500)
    messages = [move(w, who, to)]
    if who is p and rng.random() < 0.5:
        messages.append(credit(w, p, amount))
    answers = await w.ask(messages, f.index)
    moved(answers[0], who, to)


async def credit_episode(f: Family, w: Wire, rng: random.Random) -> None:
    p, r = f.people
    who = r if r.account and rng.random() < 0.3 else p
    ids = await w.publish([credit(w, who, money(rng, 100, 3000))], f.index)
    if rng.random() < 0.25:
        await w.resend(ids)
    await w.answers(ids)


async def terminate_episode(f: Family, w: Wire, rng: random.Random) -> None:
    if f.rid:
        await w.ask([terminate(w, f.rid, f.provider if rng.random() < 0.5 else f.recipient)], f.index)


async def statement_episode(f: Family, w: Wire, rng: random.Random) -> None:
    who = f.recipient if rng.random() < 0.7 else f.provider
    await w.ask([statement(w, who, w.state.business_now().date().isoformat())], f.index)


async def resend_episode(f: Family, w: Wire, rng: random.Random) -> None:
    """Something the family sent earlier, answered, sent again byte for byte (a province retrying late)."""
    answered = [m for m in w.by_family[f.index] if w.traffic.answer(m)]
    if answered:
        m = answered[rng.randrange(len(answered))]
        await w.resend([m])
        await w.answers([m])


EPISODES: dict[str, tuple[int, Episode]] = {
    "transfer": (26, transfer_episode),
    "pay": (20, pay),
    "rebind": (10, rebind),
    "credit": (8, credit_episode),
    "contribute": (6, contribute),
    "freeze": (6, freeze_episode),
    "move": (5, move_episode),
    "terminate": (5, terminate_episode),
    "statement": (3, statement_episode),
    "resend": (5, resend_episode),
}


def next_episode(f: Family) -> tuple[str, random.Random]:
    """The family's next episode and its own Random: two draws, whatever the platform answered before."""
    name = f.rng.choices(list(EPISODES), [w for w, _ in EPISODES.values()])[0]
    return name, random.Random(f.rng.random())
