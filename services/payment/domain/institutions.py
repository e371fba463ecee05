"""Designated medical institutions and retail pharmacies. Pure rules."""

from __future__ import annotations

from dataclasses import dataclass

MEDICAL_INSTITUTION = "1"
RETAIL_PHARMACY = "2"


@dataclass(frozen=True)
class Institution:
    fixmedins_code: str
    fixmedins_name: str
    fixmedins_type: str
    admdvs: str
    wallet_enabled: bool
