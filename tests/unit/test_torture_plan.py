"""The torture run's plan (tools/torture/) is a function of its seed alone: each family's episodes and their own
seeds, the faults' schedule and the clock moves; whatever the platform answers in between."""

from __future__ import annotations

import random

from tools.simulator.model import Person
from tools.torture.episodes import EPISODES, next_episode
from tools.torture.stack import FAULTS, fault_plan, month_plan
from tools.torture.world import Family, family_rng, move_target


def family(seed: int, index: int) -> Family:
    someone = Person("440300000000000001", "440304199001011234", "王芳", "440300", "310", True, "1")
    return Family(index, someone, someone, "spouse", family_rng(seed, index))


def episodes(seed: int, index: int, n: int = 50) -> list[tuple[str, float]]:
    f = family(seed, index)
    return [(name, rng.random()) for name, rng in (next_episode(f) for _ in range(n))]


def test_the_same_seed_plays_the_same_episodes() -> None:
    assert episodes(42, 3) == episodes(42, 3)
    assert episodes(42, 3) != episodes(43, 3)
    assert episodes(42, 3) != episodes(42, 4)
    assert {name for name, _ in episodes(42, 0, 400)} == set(EPISODES)


def test_the_same_seed_breaks_the_stack_at_the_same_times() -> None:
    plan = fault_plan(random.Random("torture:42:faults"), list(FAULTS), 600)
    assert plan == fault_plan(random.Random("torture:42:faults"), list(FAULTS), 600)
    assert {f.kind for f in plan} == set(FAULTS)
    assert all(10 <= f.at < 590 and 1 <= f.outage <= 5 for f in plan)
    assert fault_plan(random.Random(1), [], 600) == []
    assert month_plan(random.Random(7), 600) == month_plan(random.Random(7), 600)
    assert len(month_plan(random.Random(7), 60)) == 1
    assert all(0 < t < 600 for t in month_plan(random.Random(7), 600))


def test_a_move_goes_to_another_region_with_the_wallet_on() -> None:
    rng = random.Random(5)
    someone = family(1, 0).provider
    targets = {move_target(rng, someone) for _ in range(200)}
    assert someone.region not in targets
    assert "440100" in targets  # the same province
    assert any(t[:2] != "44" for t in targets)  # another
    assert "620100" not in targets  # its wallet is off
