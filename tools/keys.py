"""Signing keys of a local stack or a test run (docs/signing.md): `python -m tools.keys ensure`; and
`python -m tools.keys verify --value V --headers H.json [--registry R] [--at T]`, which says offline what the
platform would say of a record's signature (`valid`, or why not; exit status 0 only when valid): a record whose
signature does not verify is answered to nobody (ADR 0023), so this is how an integrator checks its own.

Makes what is missing, keeps what exists: an Ed25519 key for each of the 31 provinces (signing for all its
regions), one for the national operator (LOCAL_NATIONAL_OPERATOR) and one for the platform (`000000`, its
notifications). The private halves go in secrets files
(0600): the provinces' in MEDAID_SIGNING_KEYS_FILE (the simulator and the tests sign with them), the
platform's in MEDAID_PLATFORM_SIGNING_KEY_FILE (the services). The public halves go in the key registry
(MEDAID_KEY_REGISTRY_FILE) that the services verify against. Outside a local stack each province makes its
own key and sends only the public half to the registry; this tool is the stand-in for that.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from shared.contracts.topics import PLATFORM_SENDER, PROVINCES
from shared.settings import PlatformSettings, key_registry_path, platform_signing_key_path, signing_keys_path
from shared.signing import KeyRegistry, Verdict, b64url, b64url_decode, registry_entry
from tools.acls import write_secret_file

# Local keys outlive any business clock a test or a demo moves to.
NOT_BEFORE = datetime.fromisoformat("2000-01-01T00:00:00+08:00")
NOT_AFTER = datetime.fromisoformat("2100-01-01T00:00:00+08:00")


# The national operator's system on a local stack (MEDAID_NATIONAL_OPERATORS there): a code of its own, signed
# for only by its own key (Xicheng, Beijing, where the national administration sits).
LOCAL_NATIONAL_OPERATOR = "110102"


def local_key_ids() -> dict[str, str]:
    """key id -> the code it signs for."""
    senders = {f"{code}-local": code for code in PROVINCES} | {"national-local": LOCAL_NATIONAL_OPERATOR}
    return senders | {"platform-local": PLATFORM_SENDER}


def _ensure(path: Path, wanted: dict[str, str]) -> tuple[dict[str, dict[str, str]], int]:
    existing: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    made = 0
    for key_id, code in wanted.items():
        if key_id not in existing:
            seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            existing[key_id] = {"signs_for": code, "seed": b64url(seed)}
            made += 1
    if made or not path.exists():
        write_secret_file(path, existing)
    return existing, made


def ensure_keys(provinces_file: Path, registry_file: Path, platform_file: Path | None = None) -> int:
    """The provinces' private keys (for the simulator and the tests), the platform's (for the services, in a file
    of its own: a service never holds a province's key), and the public registry of both. Returns how many keys
    were made."""
    ids = local_key_ids()
    provinces, made = _ensure(provinces_file, {k: c for k, c in ids.items() if c != PLATFORM_SENDER})
    platform, made_platform = _ensure(
        platform_file or provinces_file.with_name("platform-signing.json"),
        {k: c for k, c in ids.items() if c == PLATFORM_SENDER},
    )
    entries = []
    for key_id, k in sorted({**provinces, **platform}.items()):
        public = Ed25519PrivateKey.from_private_bytes(b64url_decode(k["seed"])).public_key()
        entries.append(registry_entry(key_id, k["signs_for"], public, NOT_BEFORE, NOT_AFTER))
    registry_file.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"keys": entries}, indent=1)
    if not registry_file.exists() or registry_file.read_text() != text:
        tmp = registry_file.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(registry_file)
    return made + made_platform


def verify(value: bytes, headers: dict[str, str], registry: KeyRegistry, at: datetime | None = None) -> Verdict:
    """What the platform would say of a record's signature (docs/signing.md), offline: the record's exact value
    bytes and its three headers. `at`: the record's arrival, for the replay window; without it, its `sent_at`
    (so only the signature and the key are judged)."""
    try:
        envelope = json.loads(value)
    except ValueError:
        return Verdict.UNSIGNED
    if not isinstance(envelope, dict):
        return Verdict.UNSIGNED
    fields = [envelope.get(f) for f in ("msgid", "type", "sender", "sent_at")]
    if not all(isinstance(f, str) for f in fields):
        return Verdict.UNSIGNED
    msgid, type_, sender, sent_at = (str(f) for f in fields)
    try:
        when = at or datetime.fromisoformat(sent_at)
    except ValueError:
        return Verdict.OUTSIDE_REPLAY_WINDOW
    return registry.verify(headers, msgid, type_, sender, sent_at, value, when, timedelta(minutes=15))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["ensure", "verify"])
    parser.add_argument("--value", type=Path, help="verify: a file holding the record's exact value bytes")
    parser.add_argument("--headers", type=Path, help="verify: a JSON file of the record's headers (name: text)")
    parser.add_argument("--registry", type=Path, help="verify: the key registry (default: the local stack's)")
    parser.add_argument("--at", help="verify: when the record reached the broker (ISO 8601; default its sent_at)")
    args = parser.parse_args()
    settings = PlatformSettings()
    if args.command == "verify":
        if args.value is None or args.headers is None:
            parser.error("verify needs --value and --headers")
        registry = KeyRegistry.load(args.registry or key_registry_path(settings))
        verdict = verify(
            args.value.read_bytes(),
            {str(k): str(v) for k, v in json.loads(args.headers.read_text()).items()},
            registry,
            datetime.fromisoformat(args.at) if args.at else None,
        )
        print(verdict.value)
        return 0 if verdict is Verdict.VALID else 1
    made = ensure_keys(signing_keys_path(settings), key_registry_path(settings), platform_signing_key_path(settings))
    print(
        f"keys: {len(local_key_ids())} signing keys ({made} made), registry {key_registry_path(settings)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
