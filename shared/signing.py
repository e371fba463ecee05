"""Signed envelopes (the scheme is docs/signing.md): Ed25519 over the record's identity and
its exact value bytes, the signature and key id in record headers, keys in a registry that is data.

Pure: no I/O besides reading a registry file. The kernel refuses what does not verify with SIGNATURE_INVALID
(shared/messaging/kernel/verify.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shared.contracts.topics import PLATFORM_SENDER, PROVINCES

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
    KEY_REVOKED = "key revoked"
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
    revoked_at: datetime | None = None
    """Set: the key is revoked (compromised, lost) and verifies nothing, whatever a record's sent_at says: a holder
    of the key chooses sent_at, so a validity that ends is no revocation."""

    def covers(self, sender: str) -> bool:
        return key_covers(self.signs_for, sender)


class RegistryError(ValueError):
    """A registry document that does not parse or does not validate; `problems` names each thing wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a key id may be: it is a line of the signing input and a Kafka header."""
B64URL = re.compile(r"[A-Za-z0-9_-]+")
REQUIRED_FIELDS = ("key_id", "signs_for", "public_key", "not_before", "not_after")
KEY_FIELDS = frozenset({*REQUIRED_FIELDS, "algorithm", "revoked_at"})
DOCUMENT_FIELDS = frozenset({"keys"})


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose field is given twice is refused (json would keep the last one silently: a second
    `not_after` or `revoked_at` in one key would quietly decide)."""
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise RegistryError([f"field {name!r} given twice in one object"])
        fields[name] = value
    return fields


def _instant(label: str, field: str, value: object, problems: list[str]) -> datetime | None:
    if not isinstance(value, str):
        problems.append(f"{label}: {field} is not a string")
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        problems.append(f"{label}: {field} {value!r} is not an ISO 8601 instant")
        return None
    if at.tzinfo is None:
        problems.append(f"{label}: {field} {value!r}: a key's validity needs a UTC offset")
        return None
    return at


def _signs_for_problem(code: object) -> str | None:
    if not isinstance(code, str) or not (len(code) == 6 and code.isascii() and code.isdigit()):
        return f"signs_for {code!r} is not a 6-digit code"
    if code != PLATFORM_SENDER and code[:2] + "0000" not in PROVINCES:
        return f"signs_for {code!r} lies in none of the 31 provinces (nor is it the platform's {PLATFORM_SENDER})"
    return None


# Edwards25519 (RFC 8032, section 5.1), only to tell a weak public key: one that is no point of the curve, is
# encoded non-canonically, or has a small order. The identity point as a public key verifies a signature anyone
# can make (R = [S]B), and OpenSSL takes it: such a key in the registry would let anyone sign as its sender.
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point(raw: bytes) -> tuple[int, int, int, int] | None:
    """The point a 32-byte encoding names, in extended coordinates; None when it names none (canonically)."""
    y = int.from_bytes(raw, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else (0, y, 1, 0)
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return None
    if x & 1 != sign:
        x = _P - x
    return (x, y, 1, x * y % _P)


def _double(q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x, y, z, t = q
    a, b = (y - x) * (y - x) % _P, (y + x) * (y + x) % _P
    c, d = 2 * t * t * _D % _P, 2 * z * z % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def weak_public_key(raw: bytes) -> str | None:
    """Why these 32 bytes are no safe Ed25519 public key, or None."""
    point = _point(raw)
    if point is None:
        return "not a point of Ed25519's curve (or not canonically encoded)"
    for _ in range(3):
        point = _double(point)
    if point[0] % _P == 0 and (point[1] - point[2]) % _P == 0:  # [8]A is the identity
        return "a point of small order: anyone could make signatures it verifies"
    return None


def _public_key(label: str, text: object, problems: list[str]) -> Ed25519PublicKey | None:
    if not isinstance(text, str) or not B64URL.fullmatch(text):
        problems.append(f"{label}: public_key is not base64url (A-Z a-z 0-9 - _, no padding)")
        return None
    try:
        raw = b64url_decode(text)
    except (binascii.Error, ValueError):
        problems.append(f"{label}: public_key is not base64url")
        return None
    if len(raw) != 32 or b64url(raw) != text:
        problems.append(f"{label}: public_key is {len(raw)} bytes, not an Ed25519 public key's 32 (43 characters)")
        return None
    weak = weak_public_key(raw)
    if weak is not None:
        problems.append(f"{label}: public_key is {weak}")
        return None
    return Ed25519PublicKey.from_public_bytes(raw)


def _registered_key(index: int, entry: object, problems: list[str]) -> RegisteredKey | None:
    """One entry of `keys`, or None with what is wrong with it added to `problems`."""
    if not isinstance(entry, dict):
        problems.append(f"keys[{index}]: not a JSON object")
        return None
    key_id = entry.get("key_id")
    label = f"key {key_id}" if isinstance(key_id, str) and KEY_ID.fullmatch(key_id) else f"keys[{index}]"
    before = len(problems)
    missing = [f for f in REQUIRED_FIELDS if f not in entry]
    if missing:
        problems.append(f"{label}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - KEY_FIELDS)
    if unknown:
        problems.append(f"{label}: unknown field(s) {', '.join(unknown)} (a misspelt field is not ignored)")
    if "key_id" in entry and not (isinstance(key_id, str) and KEY_ID.fullmatch(key_id)):
        problems.append(f"{label}: key_id {key_id!r} is not 1-64 of A-Z a-z 0-9 . _ -")
    if "signs_for" in entry and (problem := _signs_for_problem(entry["signs_for"])) is not None:
        problems.append(f"{label}: {problem}")
    if entry.get("algorithm", ALGORITHM) != ALGORITHM:
        problems.append(f"{label}: algorithm {entry['algorithm']!r}: only {ALGORITHM}")
    public = _public_key(label, entry["public_key"], problems) if "public_key" in entry else None
    instants = {
        f: _instant(label, f, entry[f], problems) for f in ("not_before", "not_after", "revoked_at") if f in entry
    }
    not_before, not_after = instants.get("not_before"), instants.get("not_after")
    if not_before is not None and not_after is not None and not_before >= not_after:
        problems.append(f"{label}: not_before is not before not_after")
    if len(problems) > before or public is None or not_before is None or not_after is None:
        return None
    revoked_at = instants.get("revoked_at")
    return RegisteredKey(str(key_id), str(entry["signs_for"]), public, not_before, not_after, revoked_at)


class KeyRegistry:
    """Public keys by key id. Rotation is adding a key with a later `not_before` and letting the old one reach
    its `not_after`; both verify in between. Revocation is `revoked_at` on the key: it verifies nothing more."""

    def __init__(self, keys: Iterable[RegisteredKey], exact_only: frozenset[str] = frozenset()) -> None:
        self.keys = {k.key_id: k for k in keys}
        self.exact_only = exact_only
        """Sender codes that only a key registered for exactly that code signs for (the trusted gateway's: a
        province's key must not sign as a gateway whose code lies inside the province)."""

    @classmethod
    def from_json(cls, text: str | bytes, exact_only: frozenset[str] = frozenset()) -> KeyRegistry:
        """The registry document, validated whole (docs/signing.md): anything wrong in it refuses all of it, with
        every problem named (RegistryError), so that a typo never quietly drops a key or a revocation."""
        try:
            document = json.loads(text, object_pairs_hook=_unique_names)
        except RegistryError:
            raise
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise RegistryError([f"not JSON: {exc}"]) from exc
        if not isinstance(document, dict):
            raise RegistryError(["not a JSON object"])
        problems: list[str] = []
        unknown = sorted(set(document) - DOCUMENT_FIELDS)
        if unknown:
            problems.append(f"unknown top-level field(s) {', '.join(unknown)}")
        entries = document.get("keys")
        if not isinstance(entries, list) or not entries:
            raise RegistryError([*problems, '"keys" is not a non-empty list'])
        keys: list[RegisteredKey] = []
        ids: dict[str, int] = {}
        publics: dict[bytes, RegisteredKey] = {}
        for index, entry in enumerate(entries):
            key = _registered_key(index, entry, problems)
            if key is None:
                continue
            if key.key_id in ids:
                problems.append(f"key {key.key_id}: listed twice (keys[{ids[key.key_id]}] and keys[{index}])")
            raw = key.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
            twin = publics.get(raw)
            # the same key pair under a second id is a renewal only for the same sender, and never of a revoked key
            # (a revoked key listed again under another id would verify again)
            if twin is not None and (
                twin.signs_for != key.signs_for or twin.revoked_at is not None or key.revoked_at is not None
            ):
                problems.append(f"key {key.key_id}: the same public key as key {twin.key_id}")
            ids.setdefault(key.key_id, index)
            publics.setdefault(raw, key)
            keys.append(key)
        if problems:
            raise RegistryError(problems)
        return cls(keys, exact_only)

    @classmethod
    def load(cls, path: Path) -> KeyRegistry:
        return cls.from_json(path.read_bytes())

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
        try:  # the signature first: a verdict that names a key (revoked, another sender's) says that key signed it
            raw = b64url_decode(signature)
            key.public_key.verify(raw, signing_input(key_id, msgid, type_, sender, sent_at, value))
        except (InvalidSignature, ValueError):
            return Verdict.BAD_SIGNATURE
        if key.revoked_at is not None:
            return Verdict.KEY_REVOKED
        if not key.covers(sender) or (sender in self.exact_only and key.signs_for != sender):
            return Verdict.KEY_OF_ANOTHER_SENDER
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


@dataclass(frozen=True)
class RegistryStatus:
    """What a registry file's last check found, for the logs, the metrics and the console."""

    path: Path
    valid: bool
    """The file as it stands is the registry in force. False: it does not parse or validate (or cannot be read),
    and the last good registry stays in force."""
    sha256: str
    """Of the registry in force (the file's bytes when it was loaded)."""
    loaded_at: float
    """When the registry in force was loaded (Unix time)."""
    keys: int
    revoked: int
    error: str | None
    """Why the file as it stands is not in force."""
    changes: Mapping[str, list[str]] = field(default_factory=dict)
    """What the load changed, by key id: `added`, `removed`, `revoked`, and `unrevoked` (a revocation taken back:
    allowed, since the operators own the registry, but worth a warning)."""


def _changes(old: KeyRegistry, new: KeyRegistry) -> dict[str, list[str]]:
    was_revoked = {i for i, k in old.keys.items() if k.revoked_at is not None}
    is_revoked = {i for i, k in new.keys.items() if k.revoked_at is not None}
    changes = {
        "added": sorted(new.keys.keys() - old.keys.keys()),
        "removed": sorted(old.keys.keys() - new.keys.keys()),
        "revoked": sorted(is_revoked - was_revoked),
        "unrevoked": sorted((was_revoked - is_revoked) & new.keys.keys()),
    }
    return {what: ids for what, ids in changes.items() if ids}


class RegistryFile:
    """The key registry as a file the operators edit, read again when its content changed (checked every
    `seconds`). A file that does not parse or validate is refused whole: at start the service does not start
    (RegistryError); later the last good registry stays in force, `on_change` hears of it (the runtime logs,
    counts and shows it: docs/security.md), and so does every later change."""

    def __init__(
        self,
        path: Path,
        seconds: float = 5.0,
        exact_only: frozenset[str] = frozenset(),
        on_change: Callable[[RegistryStatus], None] | None = None,
    ) -> None:
        self.path = path
        self.exact_only = exact_only
        self.seconds = seconds
        self.on_change = on_change
        self._time = time.monotonic
        self._checked = -1e9
        content = path.read_bytes()
        self._registry = KeyRegistry.from_json(content, exact_only)  # at start there is no last good one
        self._seen = hashlib.sha256(content).hexdigest()
        self.status = self._in_force(self._seen, None)
        self._checked = self._time()

    @property
    def error(self) -> str | None:
        """Why the file as it stands is not in force (None: it is)."""
        return self.status.error

    def _in_force(
        self, sha256: str, error: str | None, changes: Mapping[str, list[str]] | None = None
    ) -> RegistryStatus:
        keys = self._registry.keys.values()
        loaded_at = time.time() if error is None else self.status.loaded_at
        sha = sha256 if error is None else self.status.sha256
        revoked = sum(1 for k in keys if k.revoked_at is not None)
        return RegistryStatus(self.path, error is None, sha, loaded_at, len(keys), revoked, error, changes or {})

    def check(self) -> RegistryStatus:
        """Read the file; when its content changed, load it or keep the last good registry and say why."""
        self._checked = self._time()
        content: bytes | None = None
        problem: str | None = None
        try:
            content = self.path.read_bytes()
        except OSError as exc:  # removed, or unreadable: the last good registry stays in force
            seen, problem = f"unreadable {type(exc).__name__}", f"cannot be read: {exc.strerror or exc}"
        else:
            seen = hashlib.sha256(content).hexdigest()
        if seen == self._seen:
            return self.status
        self._seen = seen
        changes: dict[str, list[str]] = {}
        if content is not None:
            try:
                loaded = KeyRegistry.from_json(content, self.exact_only)
            except RegistryError as exc:
                problem = str(exc)
            else:
                changes = _changes(self._registry, loaded)
                self._registry = loaded
        self.status = self._in_force(seen, problem, changes)
        if self.on_change is not None:
            self.on_change(self.status)
        return self.status

    def current(self) -> KeyRegistry:
        if self._time() - self._checked >= self.seconds:
            self.check()
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
