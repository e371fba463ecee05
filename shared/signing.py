"""Signed envelopes (issue 11, part 2; the scheme is docs/signing.md): Ed25519 over the record's identity and
its exact value bytes, the signature and key id in record headers, keys in a registry that is data.

Pure: no I/O besides reading a registry file. The kernel's use of it (refusing what does not verify with
SIGNATURE_INVALID) comes with the next step of issue 11.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCHEME = "medaid-sig-v1"
ALGORITHM = "ed25519"
HEADER_ALGORITHM = "medaid-sig-alg"
HEADER_KEY_ID = "medaid-key-id"
HEADER_SIGNATURE = "medaid-signature"
SIGNATURE_HEADERS = (HEADER_ALGORITHM, HEADER_KEY_ID, HEADER_SIGNATURE)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_covers(signs_for: str, sender: str) -> bool:
    """A key registered for a province (`440000`) signs for every region of it; any other code, `000000` (the
    platform) included, only for itself."""
    if signs_for.endswith("0000") and signs_for != "000000":
        return sender[:2] == signs_for[:2]
    return sender == signs_for


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"{text!r}: a key's validity needs a UTC offset")
    return at


def signing_input(key_id: str, msgid: str, type_: str, sender: str, sent_at: str, value: bytes) -> bytes:
    """What is signed: the scheme, the key id and the envelope's identity, one per line (UTF-8), then the exact
    bytes of the record's value."""
    head = "\n".join((SCHEME, key_id, msgid, type_, sender, sent_at)) + "\n"
    return head.encode() + value


def sign(
    private_key: Ed25519PrivateKey, key_id: str, msgid: str, type_: str, sender: str, sent_at: str, value: bytes
) -> dict[str, str]:
    """The three headers a sender adds to its record."""
    signature = private_key.sign(signing_input(key_id, msgid, type_, sender, sent_at, value))
    return {HEADER_ALGORITHM: ALGORITHM, HEADER_KEY_ID: key_id, HEADER_SIGNATURE: b64url(signature)}


class Verdict(StrEnum):
    VALID = "valid"
    UNSIGNED = "unsigned"
    UNKNOWN_KEY = "unknown key"
    KEY_NOT_VALID_THEN = "key not valid at sent_at"
    KEY_OF_ANOTHER_SENDER = "key of another sender"
    BAD_SIGNATURE = "bad signature"
    OUTSIDE_REPLAY_WINDOW = "sent_at outside the replay window"


@dataclass(frozen=True)
class RegisteredKey:
    key_id: str
    signs_for: str
    """A province code (`440000`: every region of the province), or one 6-digit sender code."""
    public_key: Ed25519PublicKey
    not_before: datetime
    not_after: datetime

    def covers(self, sender: str) -> bool:
        return key_covers(self.signs_for, sender)


class KeyRegistry:
    """Public keys by key id. Rotation is adding a key with a later `not_before` and letting the old one reach
    its `not_after`; both verify in between."""

    def __init__(self, keys: Iterable[RegisteredKey], exact_only: frozenset[str] = frozenset()) -> None:
        self.keys = {k.key_id: k for k in keys}
        self.exact_only = exact_only
        """Sender codes that only a key registered for exactly that code signs for (the trusted gateway's: a
        province's key must not sign as a gateway whose code lies inside the province)."""

    @classmethod
    def from_json(cls, text: str) -> KeyRegistry:
        keys = []
        for k in json.loads(text)["keys"]:
            if k.get("algorithm", ALGORITHM) != ALGORITHM:
                raise ValueError(f"key {k['key_id']}: only {ALGORITHM}")
            keys.append(
                RegisteredKey(
                    k["key_id"],
                    k["signs_for"],
                    Ed25519PublicKey.from_public_bytes(b64url_decode(k["public_key"])),
                    _aware(k["not_before"]),
                    _aware(k["not_after"]),
                )
            )
        return cls(keys)

    @classmethod
    def load(cls, path: Path) -> KeyRegistry:
        return cls.from_json(path.read_text())

    def verify(
        self,
        headers: dict[str, str],
        msgid: str,
        type_: str,
        sender: str,
        sent_at: str,
        value: bytes,
        now: datetime,
        window: timedelta,
    ) -> Verdict:
        key_id, signature = headers.get(HEADER_KEY_ID), headers.get(HEADER_SIGNATURE)
        if not key_id or not signature or headers.get(HEADER_ALGORITHM) != ALGORITHM:
            return Verdict.UNSIGNED
        if any("\n" in field for field in (key_id, msgid, type_, sender, sent_at)):
            return Verdict.BAD_SIGNATURE  # the signing input's lines must be unambiguous
        key = self.keys.get(key_id)
        if key is None:
            return Verdict.UNKNOWN_KEY
        if not key.covers(sender) or (sender in self.exact_only and key.signs_for != sender):
            return Verdict.KEY_OF_ANOTHER_SENDER
        try:
            raw = b64url_decode(signature)
            key.public_key.verify(raw, signing_input(key_id, msgid, type_, sender, sent_at, value))
        except (InvalidSignature, ValueError):
            return Verdict.BAD_SIGNATURE
        try:
            at = datetime.fromisoformat(sent_at)
        except ValueError:
            return Verdict.OUTSIDE_REPLAY_WINDOW
        if at.tzinfo is None or abs(now - at) > window:
            return Verdict.OUTSIDE_REPLAY_WINDOW
        if not key.not_before <= at < key.not_after:
            return Verdict.KEY_NOT_VALID_THEN
        return Verdict.VALID


def registry_entry(
    key_id: str, signs_for: str, public_key: Ed25519PublicKey, not_before: datetime, not_after: datetime
) -> dict[str, str]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return {
        "key_id": key_id,
        "signs_for": signs_for,
        "algorithm": ALGORITHM,
        "public_key": b64url(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "not_before": not_before.isoformat(),
        "not_after": not_after.isoformat(),
    }


# -- keys of the platform's own senders, and of the local stack's simulated provinces ---------------------------


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    signs_for: str
    private_key: Ed25519PrivateKey

    def covers(self, sender: str) -> bool:
        return key_covers(self.signs_for, sender)


class SigningKeys:
    """Private keys by key id, from a secrets file: JSON {key_id: {"signs_for": code, "seed": base64url}}."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = keys

    @classmethod
    def load(cls, path: Path) -> SigningKeys:
        data = json.loads(path.read_text())
        return cls(
            [
                SigningKey(key_id, k["signs_for"], Ed25519PrivateKey.from_private_bytes(b64url_decode(k["seed"])))
                for key_id, k in sorted(data.items())
            ]
        )

    def for_sender(self, sender: str) -> SigningKey:
        """The key registered for exactly this code if there is one (a national operator's, inside Beijing), else
        the key of its province."""
        covering = [key for key in self.keys if key.covers(sender)]
        for key in sorted(covering, key=lambda k: k.signs_for != sender):
            return key
        raise LookupError(f"no signing key for sender {sender}")

    def record_headers(self, value: bytes) -> list[tuple[str, bytes]]:
        """Kafka headers signing a record as its sender would (what the simulator and the tests send): empty when the
        value has no envelope identity to sign or no key here covers its sender."""
        try:
            envelope = json.loads(value)
        except Exception:  # noqa: BLE001 - any bytes at all (deep nesting raises RecursionError): nothing to sign
            return []
        if not isinstance(envelope, dict) or not all(
            isinstance(envelope.get(f), str) for f in ("msgid", "type", "sender", "sent_at")
        ):
            return []
        try:
            headers = self.headers(value, envelope)
        except LookupError:
            return []
        return [(k, v.encode()) for k, v in headers.items()]

    def headers(self, value: bytes, envelope: Mapping[str, object]) -> dict[str, str]:
        """The signature headers of a record whose value is `value` (the envelope it encodes: `envelope`)."""
        msgid, type_, sender, sent_at = (str(envelope[f]) for f in ("msgid", "type", "sender", "sent_at"))
        key = self.for_sender(sender)
        return sign(key.private_key, key.key_id, msgid, type_, sender, sent_at, value)


class RegistryFile:
    """The key registry as a file the operators edit: read again when it changed (checked every `seconds`)."""

    def __init__(self, path: Path, seconds: float = 5.0, exact_only: frozenset[str] = frozenset()) -> None:
        import time

        self.path = path
        self.exact_only = exact_only
        self.error: str | None = None
        """Why the file could not be read the last time it changed (the last good registry stays in force)."""
        self.seconds = seconds
        self._time = time.monotonic
        self._checked = -1e9
        self._mtime = -1.0
        self._registry = KeyRegistry([])
        self.current()

    def current(self) -> KeyRegistry:
        now = self._time()
        if now - self._checked >= self.seconds:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime
                if mtime != self._mtime:
                    self._registry = KeyRegistry(KeyRegistry.load(self.path).keys.values(), self.exact_only)
                    self._mtime = mtime
                    self.error = None
            except Exception as exc:  # a half-written or broken registry: keep the last good one
                if self._mtime < 0:
                    raise  # at start there is no last good one: the service does not start
                self.error = f"{type(exc).__name__}: {exc}"
        return self._registry


class EnvelopeVerifier:
    """What the kernel asks of a record: does its signature verify (docs/signing.md)?"""

    def __init__(self, registry: RegistryFile | KeyRegistry, window: timedelta) -> None:
        self._registry = registry
        self.window = window

    def registry(self) -> KeyRegistry:
        return self._registry.current() if isinstance(self._registry, RegistryFile) else self._registry

    def verdict(self, headers: dict[str, str], data: dict[str, object], value: bytes, now: datetime) -> Verdict:
        fields = [data.get(f) for f in ("msgid", "type", "sender", "sent_at")]
        if not all(isinstance(f, str) for f in fields):
            return Verdict.UNSIGNED  # no identity to have signed
        msgid, type_, sender, sent_at = (str(f) for f in fields)
        return self.registry().verify(headers, msgid, type_, sender, sent_at, value, now, self.window)
