"""Signed envelopes (docs/signing.md): the page's worked example, and every way a record fails to verify."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.signing import (
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    KeyRegistry,
    Verdict,
    b64url_decode,
    registry_entry,
    sign,
    signing_input,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "signing.md").read_text()
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")  # RFC 8032 7.1 test 1
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
KEY_ID = "440000-2026a"
MSGID, TYPE, SENDER, SENT_AT = (
    "440300202612021030150001",
    "wallet.open-requested",
    "440300",
    "2026-12-02T10:30:15+08:00",
)
VALUE = (
    b'{"msgid":"440300202612021030150001","type":"wallet.open-requested","sender":"440300",'
    b'"sent_at":"2026-12-02T10:30:15+08:00","body":{"psn_no":"44030000000000012345"}}'
)
NOW = datetime.fromisoformat(SENT_AT) + timedelta(seconds=3)
WINDOW = timedelta(minutes=15)
YEAR = (datetime.fromisoformat("2026-01-01T00:00:00+08:00"), datetime.fromisoformat("2027-01-01T00:00:00+08:00"))


def registry(*extra: dict[str, str]) -> KeyRegistry:
    entry = registry_entry(KEY_ID, "440000", KEY.public_key(), *YEAR)
    return KeyRegistry.from_json(json.dumps({"keys": [entry, *extra]}))


def verify(headers: dict[str, str], value: bytes = VALUE, sender: str = SENDER, now: datetime = NOW) -> Verdict:
    return registry().verify(headers, MSGID, TYPE, sender, SENT_AT, value, now, WINDOW)


def test_the_worked_example_of_the_integrators_page() -> None:
    assert VALUE.decode() in DOC
    assert f"{len(VALUE)} bytes" in DOC
    data = signing_input(KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert f"{len(data)} bytes in all" in DOC
    assert hashlib.sha256(data).hexdigest() in DOC
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert f"medaid-signature: {headers[HEADER_SIGNATURE]}" in DOC
    assert b64url_decode(headers[HEADER_SIGNATURE]).hex() in DOC
    [public] = re.findall(r'"public_key": "([A-Za-z0-9_-]{43})"', DOC)
    assert public == registry_entry(KEY_ID, "440000", KEY.public_key(), *YEAR)["public_key"]
    assert verify(headers) is Verdict.VALID


def test_a_signature_covers_every_byte_and_the_identity() -> None:
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert verify(headers, VALUE.replace(b"12345", b"12346")) is Verdict.BAD_SIGNATURE
    assert verify(headers, VALUE + b" ") is Verdict.BAD_SIGNATURE
    assert registry().verify(headers, MSGID, TYPE, "440100", SENT_AT, VALUE, NOW, WINDOW) is Verdict.BAD_SIGNATURE
    forged = {**headers, HEADER_SIGNATURE: headers[HEADER_SIGNATURE][:-2] + "AA"}
    assert verify(forged) is Verdict.BAD_SIGNATURE
    assert verify({**headers, HEADER_SIGNATURE: "not base64!"}) is Verdict.BAD_SIGNATURE


@pytest.mark.parametrize("missing", ["medaid-sig-alg", HEADER_KEY_ID, HEADER_SIGNATURE])
def test_unsigned_unknown_and_foreign_keys_are_refused(missing: str) -> None:
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    if missing == "medaid-sig-alg":
        assert verify({**headers, missing: "rsa"}) is Verdict.UNSIGNED
    else:
        assert verify({k: v for k, v in headers.items() if k != missing}) is Verdict.UNSIGNED
    assert verify({**headers, HEADER_KEY_ID: "610000-2026a"}) is Verdict.UNKNOWN_KEY
    # Guangdong's key signing as Shaanxi's region: refused before the signature is even looked at
    shaanxi = sign(KEY, KEY_ID, MSGID, TYPE, "610100", SENT_AT, VALUE)
    assert (
        registry().verify(shaanxi, MSGID, TYPE, "610100", SENT_AT, VALUE, NOW, WINDOW) is Verdict.KEY_OF_ANOTHER_SENDER
    )


def test_the_replay_window_and_the_keys_validity() -> None:
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert verify(headers, now=NOW + timedelta(minutes=16)) is Verdict.OUTSIDE_REPLAY_WINDOW
    assert verify(headers, now=NOW - timedelta(minutes=16)) is Verdict.OUTSIDE_REPLAY_WINDOW
    expired = registry_entry("440000-2025a", "440000", KEY.public_key(), YEAR[0] - timedelta(days=365), YEAR[0])
    old = sign(KEY, "440000-2025a", MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert registry(expired).verify(old, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.KEY_NOT_VALID_THEN


def test_rotation_two_keys_of_a_province_both_verify() -> None:
    new_key = Ed25519PrivateKey.generate()
    entry = registry_entry("440000-2026b", "440000", new_key.public_key(), *YEAR)
    both = registry(entry)
    for key, key_id in ((KEY, KEY_ID), (new_key, "440000-2026b")):
        headers = sign(key, key_id, MSGID, TYPE, SENDER, SENT_AT, VALUE)
        assert both.verify(headers, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.VALID
    wrong = sign(new_key, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)  # the new key under the old id
    assert both.verify(wrong, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.BAD_SIGNATURE


def test_a_trusted_senders_code_is_signed_for_only_by_its_own_key() -> None:
    """The gateway's code lies inside a province: that province's key must not sign as the gateway."""
    entry = registry_entry(KEY_ID, "440000", KEY.public_key(), *YEAR)
    registry = KeyRegistry.from_json(json.dumps({"keys": [entry]}))
    guarded = KeyRegistry(registry.keys.values(), exact_only=frozenset({"440399"}))
    headers = sign(KEY, KEY_ID, MSGID, TYPE, "440399", SENT_AT, VALUE)
    assert registry.verify(headers, MSGID, TYPE, "440399", SENT_AT, VALUE, NOW, WINDOW) is Verdict.VALID
    assert guarded.verify(headers, MSGID, TYPE, "440399", SENT_AT, VALUE, NOW, WINDOW) is Verdict.KEY_OF_ANOTHER_SENDER


def test_a_line_feed_in_an_identity_field_or_a_missing_algorithm_is_refused() -> None:
    headers = sign(KEY, KEY_ID, MSGID + "\n", TYPE, SENDER, SENT_AT, VALUE)
    assert registry().verify(headers, MSGID + "\n", TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.BAD_SIGNATURE
    good = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert verify({k: v for k, v in good.items() if k != "medaid-sig-alg"}) is Verdict.UNSIGNED


def test_a_broken_registry_file_keeps_the_last_good_one(tmp_path: Path) -> None:
    import os

    from shared.signing import RegistryFile

    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"keys": [registry_entry(KEY_ID, "440000", KEY.public_key(), *YEAR)]}))
    registry = RegistryFile(path, seconds=0)
    assert KEY_ID in registry.current().keys
    path.write_text('{"keys": [{"key_id": "half-wri')  # an operator's editor, half way
    os.utime(path, (1, 1))
    assert KEY_ID in registry.current().keys
    assert registry.error is not None
    naive = registry_entry("440000-naive", "440000", KEY.public_key(), *YEAR)
    naive["not_after"] = "2027-01-01T00:00:00"
    with pytest.raises(ValueError, match="UTC offset"):
        KeyRegistry.from_json(json.dumps({"keys": [naive]}))


def test_an_integrator_checks_a_records_signature_offline_with_tools_keys_verify() -> None:
    """ADR 0023: a record whose signature does not verify is answered to nobody; `tools.keys verify` says why."""
    import json as _json
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shared.signing import KeyRegistry, RegisteredKey, Verdict, sign
    from tools.keys import verify

    key = Ed25519PrivateKey.generate()
    at = datetime(2026, 12, 7, 10, tzinfo=UTC)
    registry = KeyRegistry(
        [RegisteredKey("k1", "610000", key.public_key(), at - timedelta(days=1), at + timedelta(days=1))]
    )
    envelope = {"msgid": "m1", "type": "account.credited", "sender": "610100", "sent_at": at.isoformat(), "body": {}}
    value = _json.dumps(envelope).encode()
    headers = sign(key, "k1", "m1", "account.credited", "610100", at.isoformat(), value)
    assert verify(value, headers, registry) is Verdict.VALID
    assert verify(value + b" ", headers, registry) is Verdict.BAD_SIGNATURE
    assert verify(value, {}, registry) is Verdict.UNSIGNED
    assert verify(value, headers, registry, at + timedelta(hours=1)) is Verdict.OUTSIDE_REPLAY_WINDOW
