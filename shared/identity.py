"""Personal ID numbers (`certno`) never leave the ingress topics in clear.

Inside the platform a certificate number is a keyed hash (HMAC-SHA256 with a platform secret,
so a table dump cannot be reversed by hashing all 10^18 candidates), and in anything a person
reads it is masked. `redact_text` is the last line of defence for free text (log lines, DLQ
records of unparseable input): it masks anything shaped like a PRC resident ID number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Any

# 18-digit resident ID (last char may be X) and the old 15-digit form, standing alone.
_CERTNO_RE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
CERTNO_FIELDS = frozenset({"certno", "to_certno", "recipient_certno"})


def certno_hash(certno: str, key: bytes) -> str:
    """Stable keyed hash used to compare a claimed certificate number with the enrolled one."""
    normalised = certno.strip().upper()
    return hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()


_DOTS = str.maketrans({"\u2027": "\u00b7", "\u2022": "\u00b7", "\u30fb": "\u00b7", "\uff65": "\u00b7", ".": "\u00b7"})


def normalize_name(name: str) -> str:
    """One form of a person's name for every comparison: Unicode NFKC, no outer or doubled spaces, one
    middle dot for minority names (阿依古丽·买买提), Latin letters upper-case."""
    folded = unicodedata.normalize("NFKC", name).translate(_DOTS)
    return " ".join(folded.split()).upper()


def name_hash(name: str, key: bytes) -> str:
    """Keyed hash of the normalized name: compared across services without passing names around."""
    return hmac.new(key, normalize_name(name).encode(), hashlib.sha256).hexdigest()


def mask_certno(certno: str) -> str:
    """'610102195503031234' -> '610102********1234' (region kept for support, birth date hidden)."""
    c = certno.strip()
    if len(c) <= 10:
        return "*" * len(c)
    return c[:6] + "*" * (len(c) - 10) + c[-4:]


def _mask_match(m: re.Match[str]) -> str:
    return mask_certno(m.group(0))


def redact_text(text: str) -> str:
    return _CERTNO_RE.sub(_mask_match, text)


def redact(value: Any) -> Any:
    """Deep copy of a JSON-like value with every certificate number masked, whatever its JSON type."""
    if isinstance(value, dict):
        return {
            k: (mask_certno(str(v)) if k in CERTNO_FIELDS and isinstance(v, (str, int, float)) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and _CERTNO_RE.fullmatch(str(value)):
        return mask_certno(str(value))
    return value
