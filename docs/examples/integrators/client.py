"""A provincial system's client, as an integrator writes it: confluent-kafka and cryptography, nothing of medaid's.

It connects as `province-<code>` (SASL/SCRAM-SHA-512), signs one `registry.query-requested` (docs/signing.md),
stamps `sent_at` with the platform's business time, publishes it to `ingress.registry.v1` keyed by the region
asked about, then reads its province's notifications until the `request.result` whose `omsgid` is its msgid,
and checks the platform's signature on it. docs/integrators.md walks through it; tests/e2e/test_integrators.py
runs it against the real broker.

    python client.py --state-dir .run                # a local stack (`make up`): its files give the secrets
    python client.py --state-dir .run --sender 440300 --admdvs 440000 --bootstrap 127.0.0.1:9092

Needs `pip install "confluent-kafka>=2.6.1" cryptography` (librdkafka 2.6.1 or later: docs/integrators.md).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

BEIJING_TIME = timezone(timedelta(hours=8))  # business time is Asia/Shanghai, which has no daylight saving
PLATFORM = "000000"  # the sender code of everything the platform writes to a province


@dataclass
class Credentials:
    """What the platform's operators give a provincial system; on a local stack, files in its state folder."""

    kafka_password: str  # of the principal province-<code>
    key_id: str  # the system's signing key, as registered
    private_key: Ed25519PrivateKey
    platform_keys: dict[str, Ed25519PublicKey]  # key id -> the platform's public key(s), to verify answers
    clock_offset_seconds: float  # business time = real time + this


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def local_stack_credentials(state_dir: Path, province: str) -> Credentials:
    """The local stack's files: secrets/kafka.json {principal: password}; secrets/signing.json {key id: {seed,
    signs_for}} with the seed (the 32-byte Ed25519 private key) in base64url; keys/registry.json, the public
    registry; clock-offset, one number of seconds (absent: 0, real time)."""
    password = json.loads((state_dir / "secrets" / "kafka.json").read_text())[f"province-{province}"]
    signing = json.loads((state_dir / "secrets" / "signing.json").read_text())
    key_id, key = next((k, v) for k, v in signing.items() if v["signs_for"] == province)
    registry = json.loads((state_dir / "keys" / "registry.json").read_text())["keys"]
    platform_keys = {
        k["key_id"]: Ed25519PublicKey.from_public_bytes(b64url_decode(k["public_key"]))
        for k in registry
        if k["signs_for"] == PLATFORM and k["algorithm"] == "ed25519"
    }
    offset_file = state_dir / "clock-offset"
    offset = float(offset_file.read_text().strip()) if offset_file.exists() else 0.0
    private_key = Ed25519PrivateKey.from_private_bytes(b64url_decode(key["seed"]))
    return Credentials(password, key_id, private_key, platform_keys, offset)


def business_now(offset_seconds: float) -> str:
    """`sent_at`: the platform's business time (real time + its offset), ISO 8601 with +08:00, to the second."""
    now = datetime.now(BEIJING_TIME) + timedelta(seconds=offset_seconds)
    return now.isoformat(timespec="seconds")


def signing_input(key_id: str, msgid: str, type_: str, sender: str, sent_at: str, value: bytes) -> bytes:
    """docs/signing.md: six lines, each ended by a line feed, then the value's exact bytes."""
    return ("\n".join(["medaid-sig-v1", key_id, msgid, type_, sender, sent_at]) + "\n").encode() + value


def kafka_config(bootstrap: str, province: str, password: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",  # SASL_SSL in production (docs/security.md)
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": f"province-{province}",
        "sasl.password": password,
    }


def verified(value: bytes, headers: dict[str, bytes], platform_keys: dict[str, Ed25519PublicKey]) -> bool:
    """A notification comes from the platform when the platform's key signed it over the same signing input."""
    if headers.get("medaid-sig-alg") != b"ed25519":
        return False
    key = platform_keys.get(headers.get("medaid-key-id", b"").decode())
    if key is None:
        return False
    envelope = json.loads(value)
    message = signing_input(
        headers["medaid-key-id"].decode(),
        envelope["msgid"],
        envelope["type"],
        envelope["sender"],
        envelope["sent_at"],
        value,
    )
    try:
        key.verify(b64url_decode(headers.get("medaid-signature", b"").decode()), message)
    except (InvalidSignature, ValueError):
        return False
    return bool(envelope["sender"] == PLATFORM)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path(".run"), help="the local stack's state folder")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--sender", default="440300", help="your system's region code (admdvs)")
    parser.add_argument("--admdvs", default="440000", help="the region or province (xx0000) to list regions of")
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the answer at most")
    args = parser.parse_args()
    province = args.sender[:2] + "0000"
    creds = local_stack_credentials(args.state_dir, province)
    config = kafka_config(args.bootstrap, province, creds.kafka_password)

    # 1. Read from the end of our notification topic, as it stands before we send (no answer can be missed).
    topic = f"province.{province}.notifications.v1"
    consumer = Consumer({**config, "group.id": f"province-{province}.example", "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    ends = [
        TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1])
        for p in partitions
    ]
    consumer.assign(ends)

    # 2. The request: one JSON object, signed over its exact bytes, keyed by the region asked about.
    sent_at = business_now(creds.clock_offset_seconds)
    msgid = args.sender + sent_at[:19].translate(str.maketrans("", "", "-T:")) + f"{secrets.randbelow(10**6):06d}"
    request = {
        "msgid": msgid,
        "type": "registry.query-requested",
        "sender": args.sender,
        "sent_at": sent_at,
        "body": {"what": "regions", "admdvs": args.admdvs},
    }
    value = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode()
    signature = creds.private_key.sign(signing_input(creds.key_id, msgid, request["type"], args.sender, sent_at, value))
    producer = Producer({**config, "acks": "all", "enable.idempotence": True})
    producer.produce(
        "ingress.registry.v1",
        value=value,
        key=args.admdvs.encode(),
        headers=[
            ("medaid-sig-alg", b"ed25519"),
            ("medaid-key-id", creds.key_id.encode()),
            ("medaid-signature", b64url_encode(signature).encode()),
        ],
    )
    if producer.flush(30) != 0:
        print("not delivered", file=sys.stderr)
        return 1
    print(f"sent {msgid} at {sent_at}")

    # 3. The answer: the request.result whose omsgid is our msgid, signed by the platform.
    deadline = time.monotonic() + args.wait
    try:
        while time.monotonic() < deadline:
            record = consumer.poll(1.0)
            if record is None or record.error() is not None:
                continue
            raw = record.value() or b""
            answer = json.loads(raw)
            if answer.get("type") != "request.result" or answer["body"].get("omsgid") != msgid:
                continue
            headers = {
                k: v.encode() if isinstance(v, str) else v or b"" for k, v in dict(record.headers() or []).items()
            }
            if not verified(raw, headers, creds.platform_keys):
                print(f"answer to {msgid} not signed by the platform: ignored", file=sys.stderr)
                continue
            body = answer["body"]
            print(" ".join(filter(None, ["answer", body["status"], body.get("reason_code")])), "(signature verified)")
            return 0 if body["status"] == "completed" else 2
    finally:
        consumer.close()
    print(f"no answer to {msgid} within {args.wait} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
