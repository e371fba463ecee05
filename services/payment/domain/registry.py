"""Registry listings (interface v1.1): regions with their wallet status, or the institutions of a region or a
province (`xx0000`) with type and wallet status; a page at a time, in code order. Pure.

The registry is public information: any province's system may ask about any region."""

from __future__ import annotations

import re
from dataclasses import dataclass

PAGE = 500


@dataclass(frozen=True)
class Region:
    """The payment service's copy of a region's wallet switch (from wallet.events.v1)."""

    admdvs: str
    wallet_enabled: bool


def region_range(admdvs: str) -> tuple[str, str]:
    """A region `440300` is itself; a province `440000` is every region `44xxxx`."""
    if admdvs.endswith("0000"):
        return admdvs, f"{admdvs[:2]}9999"
    return admdvs, admdvs


_REGION = re.compile(r"[0-9]{6}", re.ASCII)


def after_cursor(cursor: str | None, what: str) -> tuple[str, str] | None:
    """Where a page starts: the cursor is where the last page ended, `admdvs` (regions) or `admdvs:fixmedins_code`
    (institutions); ("", "") for the first page; None when it is not a cursor this platform gave."""
    if cursor is None:
        return ("", "")
    admdvs, _, code = cursor.partition(":")
    if not _REGION.fullmatch(admdvs) or (what == "institutions") != bool(code):  # ASCII digits, not str.isdigit
        return None
    return admdvs, code
