"""The province simulator's pure pieces, without servers: its phases plan from the run's state alone, and the
summary's checks read only the traffic (the simulator against a running platform: tests/e2e/test_platform.py)."""

from __future__ import annotations

import random
from typing import Any

from shared.settings import PlatformSettings
from shared.signing import SigningKeys
from tools.simulator import binding, consent, registry
from tools.simulator.model import HOUSEHOLD_REGIONS, REGIONS, Plan, Sent, Traffic
from tools.simulator.state import RunState
from tools.simulator.summary import tally
from tools.simulator.summary_month import statement_problems


def a_run(seed: int = 7, people: int = 40) -> RunState:
    return RunState(
        settings=PlatformSettings(),
        env={},
        keys=SigningKeys([]),
        rng=random.Random(seed),
        people_wanted=people,
    )


def shape(plan: Plan) -> list[tuple[str, str, str, str]]:
    """What a plan sends, without its msgids and times."""
    return [(topic, v["type"] if isinstance(v, dict) else "bytes", key, expect) for topic, v, key, expect in plan]


def answer(traffic: Traffic, msgid: str, **body: Any) -> None:
    traffic.results[msgid].append((0.0, {"omsgid": msgid, **body}))


def test_phase_one_registers_every_region_and_enrols_everyone_with_three_resends() -> None:
    run = a_run()
    plan = registry.registry_and_people(run)
    registrations = [s for s in shape(plan) if s[0] == "ingress.registry.v1"]
    assert len(registrations) == len(REGIONS) * (1 + 5)  # the wallet switch, three hospitals, two pharmacies
    scripted = 1 + 5 + 1 + 2 + 3 * len(HOUSEHOLD_REGIONS)  # Tianjin, Shandong, the households
    assert len(run.people) == 40 + scripted
    enrolments = [v for topic, v, _, _ in plan if topic == "ingress.enrollment.v1" and isinstance(v, dict)]
    assert len(enrolments) == len(run.people) + 3
    assert len({m["msgid"] for m in enrolments}) == len(run.people)


def test_the_same_seed_plans_the_same_run() -> None:
    first, second = a_run(seed=11), a_run(seed=11)
    for phase in (registry.registry_and_people, registry.credits, binding.bind_requests):
        assert shape(phase(first)) == shape(phase(second))
    assert [p.psn_no for p in first.people] == [p.psn_no for p in second.people]


def test_recipients_consent_only_to_the_bind_requests_the_platform_accepted() -> None:
    run = a_run()
    registry.registry_and_people(run)
    registry.credits(run)
    binding.bind_requests(run)
    assert not consent.consents(run)  # no answers yet: nothing to consent to
    for i, (_, _, msgid) in enumerate([*run.families, *run.households]):
        answer(run.traffic, msgid, status="accepted", relationship_id=f"R{i}")
    plan = consent.consents(run)
    assert {s[1] for s in shape(plan)} == {"relationship.bind-confirmed"}
    assert len(plan) == max(1, len(run.families) * 4 // 5) + len(run.households)  # the mother's is unanswered
    assert run.established == run.families[: max(1, len(run.families) * 4 // 5)]


def test_the_tally_counts_first_answers_and_flags_the_unexpected() -> None:
    traffic = Traffic()
    for msgid, expect in (("a", "completed"), ("b", "rejected"), ("c", "rejected NOT_A_PARTY"), ("d", "completed")):
        traffic.sent[msgid] = Sent("wallet.open-requested", "ingress.wallet.v1", 0.0, expect)
    answer(traffic, "a", status="completed")
    answer(traffic, "a", status="completed")  # a resend, answered the same
    answer(traffic, "b", status="rejected", reason_code="REGION_NOT_ENABLED")
    answer(traffic, "c", status="completed")
    t = tally(traffic)
    assert t.rows["wallet.open-requested"] == {
        "completed": 2,
        "rejected REGION_NOT_ENABLED": 1,
        "(no answer)": 1,
    }
    assert t.unexpected == [
        "wallet.open-requested c: completed, expected rejected NOT_A_PARTY",
        "wallet.open-requested d: no answer",
    ]
    assert (t.resent, t.same_answer) == (1, True)
    answer(traffic, "b", status="completed")
    assert not tally(traffic).same_answer


def statement(*movements: tuple[str, str, str], wallet: str, acct: str, **extra: Any) -> dict[str, Any]:
    return {
        "psn_no": "P1",
        "movements": [{"account": a, "amount": amount, "balance_after": after} for a, amount, after in movements],
        "wallet_balc": wallet,
        "acct_balc": acct,
        **extra,
    }


def test_a_statement_must_add_up_to_its_balances_to_the_fen() -> None:
    good = statement(("personal", "300.00", "300.00"), ("personal", "-45.50", "254.50"), wallet="0.00", acct="254.50")
    assert statement_problems([good]) == []
    broken = statement(("personal", "300.00", "300.00"), ("personal", "-45.50", "254.49"), wallet="0.00", acct="254.49")
    assert len(statement_problems([broken])) == 1
    short = statement(("wallet", "100.00", "100.00"), wallet="100.01", acct="0.00")
    assert statement_problems([short]) == ["statement of P1: wallet movements end at 100.00"]
    page = statement(("wallet", "100.00", "100.00"), wallet="100.01", acct="0.00", next_cursor="x")
    assert statement_problems([page]) == []  # a page ends where its next one starts
