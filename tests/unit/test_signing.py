"""Signed envelopes (docs/signing.md): the page's worked example, and every way a record fails to verify."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.signing import (
    HEADER_KEY_ID,
    HEADER_SIGNATURE,
    KeyRegistry,
    RegisteredKey,
    RegistryError,
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


# -- issue 29, item 3: a broken registry is refused whole, and says why --------------------------------------------


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {**registry_entry(KEY_ID, "440000", KEY.public_key(), *YEAR)}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


OTHER = Ed25519PrivateKey.generate().public_key()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"keys": [{"key_id": "half-wri', "not JSON"),
        ("[]", "not a JSON object"),
        ('{"keys": []}', "non-empty list"),
        (json.dumps({"keys": [_entry()], "version": 2}), "unknown top-level field(s) version"),
        (json.dumps({"keys": [_entry(revoke_at="2026-12-07T10:00:00+08:00")]}), "unknown field(s) revoke_at"),
        (json.dumps({"keys": [_entry(not_after=None)]}), "missing not_after"),
        (json.dumps({"keys": [_entry(key_id="440000 2026a")]}), "key_id '440000 2026a' is not"),
        (json.dumps({"keys": [_entry(key_id="a\nb")]}), "is not 1-64"),
        (json.dumps({"keys": [_entry(signs_for="44000")]}), "signs_for '44000' is not a 6-digit code"),
        (json.dumps({"keys": [_entry(signs_for="990000")]}), "lies in none of the 31 provinces"),
        (json.dumps({"keys": [_entry(signs_for=440000)]}), "is not a 6-digit code"),
        (json.dumps({"keys": [_entry(algorithm="rsa")]}), "only ed25519"),
        (json.dumps({"keys": [_entry(public_key="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR")]}), "31 bytes"),
        (json.dumps({"keys": [_entry(public_key="11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=")]}), "not base64url"),
        (json.dumps({"keys": [_entry(public_key="11qYAYKxCrfVS+7TyWQHOg7hcvPapiMlrwIaaPcHURo")]}), "not base64url"),
        (json.dumps({"keys": [_entry(not_after="2027-13-01T00:00:00+08:00")]}), "not an ISO 8601 instant"),
        (json.dumps({"keys": [_entry(not_after="2025-01-01T00:00:00+08:00")]}), "not_before is not before"),
        (json.dumps({"keys": [_entry(revoked_at="yesterday")]}), "revoked_at 'yesterday' is not"),
        (
            json.dumps(
                {"keys": [_entry(), _entry(public_key=registry_entry("x", "440000", OTHER, *YEAR)["public_key"])]}
            ),
            "key 440000-2026a: listed twice",
        ),
        (
            json.dumps({"keys": [_entry(), _entry(key_id="110000-2026a", signs_for="110000")]}),
            "the same public key as key 440000-2026a",
        ),
        (
            json.dumps({"keys": [_entry(revoked_at="2026-12-07T10:00:00+08:00"), _entry(key_id="440000-again")]}),
            "key 440000-again: the same public key as key 440000-2026a",
        ),
        ('{"keys": [{"key_id": "440000-2026a", "key_id": "x"}]}', "field 'key_id' given twice"),
        ("[" * 100_000, "not JSON"),
        (b'{"keys": "\xff"}', "not JSON"),
    ],
)
def test_a_registry_that_does_not_validate_is_refused_whole_and_says_why(text: str | bytes, says: str) -> None:
    with pytest.raises(RegistryError) as refused:
        KeyRegistry.from_json(text)
    assert says in str(refused.value), refused.value.problems


def test_a_revocation_that_a_typo_breaks_is_refused_not_ignored() -> None:
    """The case of issue 29: `revoked_at` misspelt would otherwise leave the compromised key valid."""
    typo = json.dumps(
        {
            "keys": [
                _entry(revokd_at="2026-12-07T10:00:00+08:00"),
                _entry(key_id="440000-b", public_key=registry_entry("b", "440000", OTHER, *YEAR)["public_key"]),
            ]
        }
    )
    with pytest.raises(RegistryError, match="unknown field"):
        KeyRegistry.from_json(typo)


def test_a_revoked_key_verifies_nothing_whatever_its_sent_at() -> None:
    revoked = KeyRegistry.from_json(json.dumps({"keys": [_entry(revoked_at="2026-12-02T10:30:00+08:00")]}))
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert revoked.verify(headers, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.KEY_REVOKED
    early = "2026-12-02T10:20:00+08:00"  # a sent_at before the revocation, that the key's holder chose
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, early, VALUE)
    assert revoked.verify(headers, MSGID, TYPE, SENDER, early, VALUE, NOW, WINDOW) is Verdict.KEY_REVOKED


def test_the_registry_file_revokes_on_reload_and_keeps_the_last_good_one_with_an_alarm(tmp_path: Path) -> None:
    from shared.signing import RegistryFile, RegistryStatus

    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"keys": [_entry()]}))
    heard: list[RegistryStatus] = []
    registry = RegistryFile(path, seconds=0, on_change=heard.append)
    assert (registry.status.valid, registry.status.keys, registry.status.revoked) == (True, 1, 0)
    headers = sign(KEY, KEY_ID, MSGID, TYPE, SENDER, SENT_AT, VALUE)
    assert registry.current().verify(headers, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.VALID
    first = registry.status.sha256

    registry.check()
    assert heard == [], "an unchanged file is not news"
    path.write_text(json.dumps({"keys": [_entry(revoked_at="2026-12-07T10:00:00+08:00")]}))
    assert registry.current().verify(headers, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.KEY_REVOKED
    assert heard[-1].valid
    assert heard[-1].revoked == 1
    assert heard[-1].changes == {"revoked": [KEY_ID]}
    assert heard[-1].sha256 != first

    revoked = registry.status
    path.write_text(json.dumps({"keys": [_entry()]})[:-3])  # the fix, half written
    assert registry.current().verify(headers, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.KEY_REVOKED
    broken = heard[-1]
    assert (broken.valid, broken.sha256, broken.loaded_at) == (False, revoked.sha256, revoked.loaded_at)
    assert broken.error is not None
    assert "not JSON" in broken.error
    registry.check()
    assert len(heard) == 2, "the same broken file is refused once"

    path.unlink()
    assert registry.check().error is not None
    assert "cannot be read" in str(registry.error)
    assert len(heard) == 3
    path.write_text(json.dumps({"keys": [_entry()]}))  # the revocation taken back: allowed, and said
    assert registry.check().valid
    assert registry.error is None
    assert heard[-1].changes == {"unrevoked": [KEY_ID]}

    path.write_text("{}")
    with pytest.raises(RegistryError, match="non-empty list"):
        RegistryFile(path)  # at start there is no last good registry: the service does not start


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (bytes([1] + [0] * 31), "small order"),  # the identity point: any (R = [S]B, S) verifies
        (bytes(32), "small order"),  # (0, 0)... y = 0: order 4
        (bytes([0xEC] + [0xFF] * 30 + [0x7F]), "small order"),  # y = p - 1: order 2
        (bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"), "small order"),  # order 8
        (bytes([0xEE] + [0xFF] * 30 + [0x7F]), "not a point"),  # y = p + 1: 1, encoded non-canonically
        (bytes([2] + [0] * 31), "not a point"),  # y = 2 is on no point of the curve
    ],
)
def test_a_weak_public_key_is_refused(raw: bytes, says: str) -> None:
    from shared.signing import b64url

    with pytest.raises(RegistryError, match=says):
        KeyRegistry.from_json(json.dumps({"keys": [_entry(public_key=b64url(raw))]}))


def test_the_identity_key_would_verify_a_forgery_if_it_were_registered() -> None:
    """Why weak keys are refused: with the identity point as public key, R = identity and S = 0 verify anything."""
    from shared.signing import b64url, weak_public_key

    identity = bytes([1] + [0] * 31)
    weak = KeyRegistry([RegisteredKey(KEY_ID, "440000", Ed25519PublicKey.from_public_bytes(identity), *YEAR)])
    forged = {"medaid-sig-alg": "ed25519", HEADER_KEY_ID: KEY_ID, HEADER_SIGNATURE: b64url(identity + bytes(32))}
    assert weak.verify(forged, MSGID, TYPE, SENDER, SENT_AT, VALUE, NOW, WINDOW) is Verdict.VALID
    assert weak_public_key(identity) is not None
    for _ in range(20):  # real keys are not weak
        public = Ed25519PrivateKey.generate().public_key()
        assert weak_public_key(public.public_bytes_raw()) is None
