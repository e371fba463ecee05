"""The ports of the payment service's layer: what its use cases need from storage, as Protocols. PostgreSQL
implements them in services/payment/adapters/, memory in adapters/memory.py; tests/ports/ runs one abstract test
per port against both."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.payment.domain.contributions import Standard
from services.payment.domain.institutions import Institution
from services.payment.domain.registry import Region
from services.payment.domain.settlements import Portion, Reversal, Settlement
from shared.messaging.messages import Decision, Outgoing


class Settlements(Protocol):
    async def add(self, settlement: Settlement) -> None:
        """A new settlement (its (sender, msgid) unique)."""

    async def add_contribution(self, contribution: Settlement) -> str | None:
        """A new contribution, unless its insured person already has a live one (debiting, completed or
        cancelling) of its kind for its year: then nothing is added and that one's setl_id is returned. Two added at
        once in two transactions: the second waits for the first to end, and is added only if the first was not."""

    async def get_for_update(self, setl_id: str) -> Settlement | None: ...

    async def by_msgid_for_update(self, sender: str, msgid: str) -> Settlement | None: ...

    async def save(self, settlement: Settlement) -> None:
        """Its state and outcome, and its `new_portions`."""

    async def portions_of(self, setl_id: str) -> list[Portion]: ...


class Reversals(Protocol):
    async def serialize_on(self, sender: str, msgid: str) -> None:
        """An original and its reversal never decide at the same time (they may come on two partitions)."""

    async def of(self, sender: str, omsgid: str) -> Reversal | None: ...

    async def record(self, sender: str, omsgid: str, reversal: Reversal, at: datetime) -> None:
        """The reversal of (sender, omsgid); a second for the same original is refused."""

    async def set_outcome(self, sender: str, omsgid: str, outcome: str) -> None: ...


class Institutions(Protocol):
    async def get(self, fixmedins_code: str) -> Institution | None: ...

    async def admdvs_of(self, fixmedins_code: str) -> str | None: ...

    async def upsert(self, i: Institution) -> bool:
        """True when it changed."""


class Answers(Protocol):
    """The answers to ingress requests this service deferred (a saga answered later, exactly once)."""

    async def answer(self, sender: str, msgid: str, decision: Decision) -> list[Outgoing]:
        """The answer, stored so a repeat gets it, with the decision's messages; empty when answered already."""

    async def was_answered(self, sender: str, msgid: str) -> bool:
        """The request reached this service (answered, or waiting for its deferred answer)."""


class Registry(Protocol):
    """The registry listings read: the regions' wallet switch (copied from wallet.events.v1) and the institutions,
    in keyset pages by code. `admdvs` is a region, or a province (`xx0000`): all its regions."""

    async def record_region(self, admdvs: str, wallet_enabled: bool) -> None: ...

    async def regions(self, admdvs: str, after: str, limit: int) -> list[Region]:
        """Regions after `after`, by code."""

    async def institutions(
        self, admdvs: str, fixmedins_type: str | None, after: tuple[str, str], limit: int
    ) -> list[Institution]:
        """Institutions (of the type, if given) after (admdvs, fixmedins_code), by (admdvs, fixmedins_code)."""


class InsuredPeople(Protocol):
    """Where each person is insured (the copy of relationship.events.v1's enrolments): whose standard applies."""

    async def record(self, psn_no: str, insuplc_admdvs: str, version: int) -> bool:
        """Kept only over an older version (a late or replayed event changes nothing); True when kept."""

    async def region_of(self, psn_no: str) -> str | None: ...


class ContributionStandards(Protocol):
    """The yearly personal contribution standards (policy data; which one applies is the domain's rule)."""

    async def for_region(self, admdvs: tuple[str, ...], insutype: str, year: int) -> list[Standard]:
        """For each of the regions, its row of `insutype` for `year` or else the latest earlier year (if any)."""

    async def set(self, standard: Standard) -> None:
        """Add, or replace the row of its region, kind and year."""

    async def listing(self, admdvs: str | None, insutype: str | None) -> list[Standard]:
        """Every row (of the region, of the kind), by region, kind and year."""
