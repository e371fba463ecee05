"""The torture run's world: the regions it plays (the simulator's ten, plus regions of the same provinces, so moves
happen inside a province as well as across), the families (a provider with a personal account and a close
relative; every fourth provider also provides for the family before, so two families race on one account), and
the seeded randomness: one Random per family, drawn from the seed alone."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tools.simulator.messages import new_person
from tools.simulator.model import KINSHIPS, REGIONS, Person
from tools.simulator.state import RunState

SAME_PROVINCE: dict[str, tuple[str, bool]] = {
    "440100": ("Guangzhou", True), "510700": ("Mianyang", True), "610400": ("Xianyang", True),
    "430200": ("Zhuzhou", True),
}  # fmt: skip
"""Regions added to the simulator's: each of a province the simulator already plays."""
ALL_REGIONS: dict[str, tuple[str, bool]] = {**REGIONS, **SAME_PROVINCE}
WALLET_REGIONS = [r for r, (_, on) in ALL_REGIONS.items() if on]


@dataclass
class Family:
    """A provider and a relative, what the provinces learnt about them so far, and their own randomness."""

    index: int
    provider: Person
    recipient: Person
    kinship: str
    rng: random.Random
    rid: str | None = None  # the relationship the last bind request opened
    shares_provider: bool = False  # the provider is the previous family's too

    @property
    def people(self) -> tuple[Person, Person]:
        return self.provider, self.recipient


def family_rng(seed: int, index: int) -> random.Random:
    """A family's own draws: the same for a seed, however the families interleave."""
    return random.Random(f"torture:{seed}:{index}")


def make_families(state: RunState, n: int, seed: int) -> list[Family]:
    """`n` families over every region: who they are (psn_no, certno, name) from the run's state, unique per run so
    a seed can run again on the same stack; everything else from the families' own randomness."""
    out: list[Family] = []
    for i in range(n):
        rng = family_rng(seed, i)
        shares = i % 4 == 3
        provider = out[-1].provider if shares else None
        if provider is None:
            provider = new_person(state, rng.choice(WALLET_REGIONS), "310", True)
        region = rng.choice(WALLET_REGIONS) if rng.random() < 0.4 else provider.region
        employee = rng.random() < 0.4
        recipient = new_person(state, region, "310" if employee else "390", employee)
        out.append(Family(i, provider, recipient, rng.choice(KINSHIPS[:5]), rng, shares_provider=shares))
    return out


def move_target(rng: random.Random, person: Person) -> str:
    """Where a move takes a person: half the time a region of the same province, else one of another province."""
    here = [r for r in WALLET_REGIONS if r[:2] == person.region[:2] and r != person.region]
    there = [r for r in WALLET_REGIONS if r[:2] != person.region[:2]]
    return rng.choice(here) if here and rng.random() < 0.5 else rng.choice(there)


@contextmanager
def drawing(state: RunState, rng: random.Random) -> Iterator[None]:
    """The simulator's message factory draws from `state.rng`: for the span of one (synchronous) call, a family's
    own randomness, so what it draws does not depend on how the families interleave."""
    shared, state.rng = state.rng, rng
    try:
        yield
    finally:
        state.rng = shared
