"""Issue 29, a hostile review's findings on the first round, each fixed and pinned here: region codes outside
the 31 provinces, money and times in forms the contract does not allow, a verdict that named a key that never
signed, a digest's size in bytes, an ID number as a JSON key, and a statement's dispute reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.contracts import province as p
from shared.contracts.envelope import RegionCode, WireTime
from shared.identity import redact
from shared.messaging.kernel.dead_letter import DIGEST_HEAD
from shared.messaging.kernel.dead_letter import masked_head as _masked_head
from shared.money import parse_amount
from shared.signing import HEADER_KEY_ID, HEADER_SIGNATURE, KeyRegistry, Verdict, registry_entry
from tests.unit.test_signing import KEY, KEY_ID, MSGID, NOW, SENDER, SENT_AT, TYPE, VALUE, WINDOW, YEAR, verify

CERTNO = "610102195503031234"


@pytest.mark.parametrize("code", ["990000", "000000", "710100", "９９００００"])
def test_a_region_code_outside_the_31_provinces_is_not_a_region(code: str) -> None:
    """An enrolment into 990000 was answered completed, then no province could change the person again and a
    freeze of them raised in the handler (no province's topic to tell)."""
    with pytest.raises(ValidationError):
        TypeAdapter(RegionCode).validate_python(code)
    body = {
        "psn_no": "P1",
        "psn_name": "n",
        "psn_cert_type": "01",
        "certno": CERTNO,
        "insutype": "310",
        "psn_insu_stas": "1",
        "insuplc_admdvs": code,
        "has_personal_account": True,
        "change_reason": "transfer",
        "effective_at": "2026-12-07T10:00:00+08:00",
    }
    with pytest.raises(ValidationError, match="insuplc_admdvs"):
        p.EnrollmentChanged.model_validate(body)
    assert p.EnrollmentChanged.model_validate({**body, "insuplc_admdvs": "610100"}).insuplc_admdvs == "610100"


@pytest.mark.parametrize("text", ["-0.00", "100.00\n", " 1.00", "1.00 "])
def test_an_amount_is_exactly_the_wire_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"never negative|two decimals"):
        parse_amount(text)


@pytest.mark.parametrize("value", [1767225600, 1767225600.5, True])
def test_a_time_is_never_a_json_number(value: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(WireTime).validate_python(value)


def test_a_verdict_names_a_key_only_when_that_key_signed() -> None:
    """A forger who names a revoked key, or another sender's, gets `bad signature`, never a verdict (and a dead
    letter) that says that key signed it."""
    revoked = {**registry_entry(KEY_ID, "440000", KEY.public_key(), *YEAR), "revoked_at": YEAR[0].isoformat()}
    forged = {HEADER_KEY_ID: KEY_ID, HEADER_SIGNATURE: "AAAA", "medaid-sig-alg": "ed25519"}
    only_revoked = KeyRegistry.from_json(json.dumps({"keys": [revoked]}))
    assert only_revoked.verify(forged, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.BAD_SIGNATURE
    assert verify(forged, sender="610100") is Verdict.BAD_SIGNATURE


def test_a_digest_head_is_bounded_in_bytes_however_it_is_written() -> None:
    for raw in (("😀" * 60_000).encode(), json.dumps({"note": "😀" * 60_000}, ensure_ascii=False).encode()):
        head = _masked_head(raw)
        assert len(head.encode()) <= DIGEST_HEAD
        assert len(json.dumps(head)) <= DIGEST_HEAD + 2


def test_an_id_number_as_a_json_key_is_masked() -> None:
    assert CERTNO not in json.dumps(redact({CERTNO: "x", "a": [{CERTNO: CERTNO}]}))
