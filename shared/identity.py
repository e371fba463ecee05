"""Personal ID numbers (`certno`) never leave the ingress topics in clear.

Inside the platform a certificate number is a keyed hash (HMAC-SHA256 with a platform secret,
so a table dump cannot be reversed by hashing all 10^18 candidates), and in anything a person
reads it is masked. `redact` masks a JSON value by field (certificate numbers of any type, names,
phone numbers) and by shape; `redact_text` is the last line of defence for free text (log lines, DLQ
records of unparseable input): it masks anything shaped like a PRC resident ID number, a mobile
number, a passport or a Hong Kong/Macao permit. A Taiwan permit (8 digits) has no shape of its own in
free text (dates have it too): it is masked where a field names it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Any

# 18-digit resident ID (last char may be X) and the old 15-digit form, standing alone.
_CERTNO_RE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")
# A mainland mobile number, a passport (E/G/D/P/S + 8 digits, or two letters + 7), a Hong Kong or Macao
# permit (H/M + 8 or 10 digits), standing alone.
_OTHER_IDS_RE = re.compile(
    r"(?<![0-9A-Za-z])(?:1[3-9]\d{9}|[EGDPS]\d{8}|[A-Z]{2}\d{7}|[HM]\d{8}(?:\d{2})?)(?![0-9A-Za-z])"
)
CERTNO_FIELDS = frozenset({"certno", "to_certno", "recipient_certno"})
NAME_FIELDS = frozenset({"psn_name", "recipient_name", "to_name", "name"})
PHONE_FIELDS = frozenset({"phone", "mob", "tel"})
ID_FIELDS = frozenset(
    {"msgid", "omsgid", "setl_id", "transfer_id", "relationship_id", "mdtrt_id", "fixmedins_code", "psn_no"}
)
"""The platform's own identifiers: masked only if they hold a resident ID number (no false positives)."""
_FIELD_IN_TEXT_RE = re.compile(
    r'("(?:certno|to_certno|recipient_certno|psn_name|recipient_name|to_name|name|phone|mob|tel)"\s*:\s*")([^"]*)(")'
)


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
    """A resident ID '610102195503031234' -> '610102********1234' (region kept for support, birth date
    hidden); any other certificate (type 90/99, a passport, a permit) -> at most 2 characters at each end."""
    c = certno.strip()
    if _CERTNO_RE.fullmatch(c):
        return c[:6] + "*" * (len(c) - 10) + c[-4:]
    if len(c) <= 6:
        return "*" * len(c)
    return c[:2] + "*" * (len(c) - 4) + c[-2:]


def _mask_match(m: re.Match[str]) -> str:
    return mask_certno(m.group(0))


def mask_name(name: str) -> str:
    """'王秀英' -> '王**': the surname, for support; the rest hidden."""
    n = name.strip()
    return n[:1] + "*" * max(len(n) - 1, 1) if n else n


def mask_other_id(value: str) -> str:
    """'13812345678' -> '138****5678', 'E12345678' -> 'E1****678'."""
    keep = 3 if len(value) > 8 else 2
    return value[:keep] + "*" * (len(value) - keep - 3) + value[-3:] if len(value) > 7 else "*" * len(value)


def redact_text(text: str) -> str:
    """Free text: ID numbers, phones, passports and permits by shape; and in JSON text (a dead letter kept as
    text), the values of the personal fields whatever their shape."""
    masked = _FIELD_IN_TEXT_RE.sub(lambda m: m.group(1) + "*" * min(len(m.group(2)), 8) + m.group(3), text)
    masked = _CERTNO_RE.sub(_mask_match, masked)
    return _OTHER_IDS_RE.sub(lambda m: mask_other_id(m.group(0)), masked)


def _redact_field(key: str, value: Any) -> Any:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    if key in CERTNO_FIELDS:  # any certificate type: resident ID, 90/99, passports, permits
        return mask_certno(str(value))
    if key in NAME_FIELDS:
        return mask_name(str(value))
    if key in PHONE_FIELDS:
        return mask_other_id(str(value))
    return None


def redact(value: Any) -> Any:
    """Deep copy of a JSON-like value with every certificate number, name and phone number masked, whatever
    its JSON type (also inside a list or object under such a field). Iterative: no nesting exhausts the stack."""
    root: list[Any] = [None]
    # (item, container to put its copy in, where, the personal field it is under, if any)
    stack: list[tuple[Any, Any, Any, str | None]] = [(value, root, 0, None)]
    while stack:
        item, into, at, under = stack.pop()
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            into[at] = copy
            for k, v in item.items():
                field = k if isinstance(k, str) and k in CERTNO_FIELDS | NAME_FIELDS | PHONE_FIELDS else under
                named = redact_text(k) if isinstance(k, str) else k  # an ID number may be a key too
                copy[named] = None
                stack.append((v, copy, named, field if field else ("id" if k in ID_FIELDS else None)))
        elif isinstance(item, list):
            items: list[Any] = [None] * len(item)
            into[at] = items
            stack.extend((v, items, i, under) for i, v in enumerate(item))
        elif under is not None and under != "id" and (masked := _redact_field(under, item)) is not None:
            into[at] = masked
        elif isinstance(item, str):
            into[at] = _CERTNO_RE.sub(_mask_match, item) if under == "id" else redact_text(item)
        elif isinstance(item, int) and not isinstance(item, bool) and _CERTNO_RE.fullmatch(str(item)):
            into[at] = mask_certno(str(item))
        else:
            into[at] = item
    return root[0]
