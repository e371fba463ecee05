"""The run's state, shared by the phases: the settings and business clock the provinces keep, the seeded randomness,
the people and institutions made up so far, what each phase left for the next ones, and the traffic."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.clock import BusinessClock
from shared.settings import PlatformSettings, signing_keys_path
from shared.signing import SigningKeys
from tools.simulator.model import Family, Institution, Person, Traffic, Visit


@dataclass
class PolicyFamilies:
    """The scripted families the regional rules need: a Tianjin provider with five close relatives (at most four
    children, siblings and grandchildren), a Shandong mother with two children (one provider each)."""

    tianjin: Person
    tianjin_family: list[Person]
    jinan_mother: Person
    jinan_children: list[Person]


@dataclass
class RunState:
    settings: PlatformSettings
    env: dict[str, str]  # the local stack's: MEDAID_STATE_DIR, ports, the clock's offset
    keys: SigningKeys  # each province signs what it sends
    rng: random.Random
    people_wanted: int
    night: bool = False
    month_end: bool = False
    daytime: bool = False
    seq: int = 0
    bad_msgid: str = ""  # the malformed credit's
    traffic: Traffic = field(default_factory=Traffic)
    closed_at_start: set[str] = field(default_factory=set)
    # phase 1: the registry and the people
    people: list[Person] = field(default_factory=list)
    institutions: list[Institution] = field(default_factory=list)
    policy: PolicyFamilies | None = None
    household_members: list[Family] = field(default_factory=list)  # (employee, relative, kinship)
    # phases 2-3: bound and consented
    families: list[Family] = field(default_factory=list)  # (provider, recipient, bind msgid)
    households: list[Family] = field(default_factory=list)  # (employee, relative, bind msgid)
    with_wallet: set[str] = field(default_factory=set)
    jinan_first: str = ""  # the Shandong mother's first provider's bind msgid
    established: list[Family] = field(default_factory=list)
    # phase 4: transfers
    transfers: list[Family] = field(default_factory=list)  # (provider, recipient, transfer msgid)
    transfer_rate: str = ""
    # phases 5-6: paying, cancelling, reversing, contributing
    visits: dict[str, Visit] = field(default_factory=dict)
    held_back: Visit | None = None  # sent only after its reversal
    contributing: list[tuple[Person, Person]] = field(default_factory=list)  # providers paying a 410 contribution
    savers: list[Person] = field(default_factory=list)  # residents keeping their quota for a 390 contribution
    cancels: dict[str, str] = field(default_factory=dict)  # cancel msgid -> the settlement's msgid
    late_cancel: Visit | None = None  # cancelled after the month closed
    reversals: list[tuple[str, str]] = field(default_factory=list)  # (what it undoes, reversal msgid)
    contributions: dict[str, dict[str, Any]] = field(default_factory=dict)  # msgid -> the message
    # the month's end
    period: str = ""
    close_msgid: str = ""
    close_clock: str = ""
    answers: dict[str, str] = field(default_factory=dict)  # statement answer msgid -> statement_id

    @classmethod
    def start(
        cls,
        settings: PlatformSettings,
        people: int,
        seed: int,
        *,
        night: bool = False,
        month_end: bool = False,
        daytime: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> RunState:
        rng = random.Random(seed)
        seq = rng.randrange(10**6)
        return cls(
            settings=settings,
            env=dict(os.environ if env is None else env),
            keys=SigningKeys.load(signing_keys_path(settings)),
            rng=rng,
            people_wanted=people,
            night=night,
            month_end=month_end,
            daytime=daytime,
            seq=seq,
            bad_msgid=f"4403{rng.randrange(10**20):020d}",
        )

    def business_now(self) -> datetime:
        """The provinces' business time: the platform's one clock."""
        return BusinessClock(self.settings.clock_offset_seconds).now()

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def scripted(self) -> PolicyFamilies:
        """The policy families phase 1 enrolled."""
        if self.policy is None:
            raise RuntimeError("the policy families are made up in phase 1 (registry, enrolments)")
        return self.policy

    def relationship_id(self, msgid: str) -> str | None:
        answer = self.traffic.answer(msgid)
        return answer.get("relationship_id") if answer else None

    def transfer_id(self, msgid: str) -> str | None:
        answer = self.traffic.answer(msgid)
        return answer.get("transfer_id") if answer else None

    def setl_id(self, msgid: str) -> str | None:
        answer = self.traffic.answer(msgid)
        if answer and answer["status"] == "completed":
            return answer.get("setl_id")
        return None
