"""Personal contributions (contribution.requested) as policy data: a yearly standard per region and kind, and one
contribution a year per insured person and kind (docs/adr/0022-contribution-standards.md). Pure.

A **standard** is the personal contribution a year of insurance costs in a region: 390 resident basic medical
insurance (城乡居民基本医疗保险), 410 long-term care (长期护理保险). A contribution above the standard of its
insured person's region, kind and year is refused `CONTRIBUTION_OVER_STANDARD`; one below it is paid (reduced
shares exist, e.g. for subsidised groups).

Which row applies (`applicable`): the insured person's region's own, else its province's (`xx0000`), else the
national default (`000000`); at each level the row of the year asked, else of the latest earlier year (a standard
holds until it is changed). The most specific level with any row wins, even an older one: a region that sets
its own standard keeps it until it sets another. No row at all (a year before every standard): nothing is paid.

**Once a year.** A second contribution for the same insured person, kind and year is refused
`CONTRIBUTION_ALREADY_PAID` while the first is live (waiting for the wallet, completed, or being undone). A
contribution the wallet refused, or one undone (a reversal: the contribution's cancellation), frees the year
again, for exactly one new contribution: the payment service's schema holds a unique index over the live ones
(services/payment/migrations/0005_contribution_standards.sql), so two sent at the same moment on two partitions
cannot both be accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.payment.domain.settlements import CONTRIBUTION_INSUTYPES, Refusal
from shared.contracts.reasons import ReasonCode

NATIONAL = "000000"
KINDS: dict[str, str] = {
    "390": "resident basic medical insurance (城乡居民基本医疗保险)",
    "410": "long-term care (长期护理保险)",
}
assert frozenset(KINDS) == CONTRIBUTION_INSUTYPES


@dataclass(frozen=True)
class Standard:
    """A region's (or a province's `xx0000`, or the nation's `000000`) personal contribution for a kind and year."""

    admdvs: str
    insutype: str
    year: int
    amount: Decimal
    source: str
    """Where the figure comes from (a notice, or `[inferred]` and why)."""


class StandardError(ValueError):
    """A standard that cannot be: unknown kind, not a region code, not a positive amount."""


def lookup_chain(admdvs: str) -> tuple[str, ...]:
    """Where a region's standard is looked for, most specific first: '440300' -> ('440300', '440000', '000000')."""
    province = admdvs[:2] + "0000"
    return tuple(dict.fromkeys((admdvs, province, NATIONAL)))


def applicable(admdvs: str, insutype: str, year: int, rows: Iterable[Standard]) -> Standard | None:
    """The standard for a contribution of `insutype` for `year` by a person insured in `admdvs`, from `rows` (any
    rows: those of other regions, kinds and later years are ignored)."""
    chain = lookup_chain(admdvs)
    best: dict[str, Standard] = {}
    for row in rows:
        if row.insutype != insutype or row.year > year or row.admdvs not in chain:
            continue
        if row.admdvs not in best or row.year > best[row.admdvs].year:
            best[row.admdvs] = row
    return next((best[a] for a in chain if a in best), None)


def check_standard(insutype: str, year: int, amount: Decimal, admdvs: str, standard: Standard | None) -> Refusal | None:
    if standard is None:
        return Refusal(
            ReasonCode.CONTRIBUTION_OVER_STANDARD,
            f"there is no {insutype} contribution standard for {admdvs} in {year}: nothing can be paid",
        )
    if amount > standard.amount:
        where = "national" if standard.admdvs == NATIONAL else standard.admdvs
        return Refusal(
            ReasonCode.CONTRIBUTION_OVER_STANDARD,
            f"{amount} is above the {insutype} personal contribution standard for {year} ({standard.amount}, "
            f"{where}, set for {standard.year})",
        )
    return None


def already_paid(insutype: str, year: int, holder_setl_id: str) -> Refusal:
    return Refusal(
        ReasonCode.CONTRIBUTION_ALREADY_PAID,
        f"a {insutype} contribution for {year} is already paid or under way for this person (setl_id "
        f"{holder_setl_id}); reverse it first to pay another",
    )


def new_standard(admdvs: str, insutype: str, year: int, amount: Decimal, source: str) -> Standard:
    """A standard an operator sets, checked."""
    if insutype not in KINDS:
        raise StandardError(f"insutype {insutype}: only {', '.join(sorted(KINDS))} have a contribution standard")
    if not re.fullmatch(r"[0-9]{6}", admdvs, re.ASCII):  # not str.isdigit: it takes full-width digits too
        raise StandardError(f"{admdvs} is not a region code (6 digits; xx0000 a province, 000000 the nation)")
    if not 2000 <= year <= 2100:
        raise StandardError(f"year {year} is outside 2000-2100")
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise StandardError(f"{amount} is not a positive amount in yuan and fen")
    if not source.strip():
        raise StandardError("say where the figure comes from (a notice, or [inferred] and why)")
    return Standard(admdvs, insutype, year, amount.quantize(Decimal("0.01")), source.strip())
