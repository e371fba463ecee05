"""A record's dead letter: total over the record's content, bounded in size, personal data masked by field."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.contracts.reasons import ReasonCode
from shared.identity import redact
from shared.messaging.hostile import clean_text, parse, sanitize
from shared.messaging.kernel.records import ConsumerRecord, safe_key, text_headers
from shared.messaging.messages import Outgoing
from shared.signing import HEADER_KEY_ID, Verdict

DLQ_PAYLOAD_LIMIT = 64 * 1024
"""The largest original payload a dead letter carries; larger ones are cut (the dead letter says so)."""
DIGEST_HEAD = 1024
"""What a digest (the dead letter of a record no sender is known to have written, ADR 0023) keeps of the value: its
first characters, masked."""


@dataclass(frozen=True)
class DeadLetters:
    """The dead letters of one consumer, written to `topic`."""

    consumer: str
    topic: str

    def of(
        self,
        record: ConsumerRecord,
        code: ReasonCode,
        reason: str,
        sender: str | None,
        msgid: str | None,
        type_name: str | None,
        attempts: int,
        error: str | None = None,
        minimal: bool = False,
        unverified: Verdict | None = None,
        digest_only: bool = False,
    ) -> Outgoing:
        """`minimal` keeps nothing of the record but its size and hash (the last resort, when even a full dead letter
        could not be written). `digest_only`: a record no sender is known to have written (its signature did not
        verify: `unverified`, or no sender to verify) keeps a digest of bounded size (ADR 0023), whatever its size:
        nobody's dead letter of 64 KiB costs a forger nothing but its writing."""
        raw = record.value or b""
        digest = hashlib.sha256(raw).hexdigest()
        payload: Any
        if digest_only and not minimal:
            key_id = text_headers(record).get(HEADER_KEY_ID)
            payload = {
                "digest": True,
                "size": len(raw),
                "sha256": digest,
                "verdict": unverified.value if unverified is not None else None,
                "key_id": clean_text(key_id, 64) if key_id else None,
                "head": masked_head(raw),
            }
        elif len(raw) > DLQ_PAYLOAD_LIMIT or minimal:
            head = None if minimal else clean_text(raw[:1024].decode("utf-8", errors="replace"), 1024, cut=True)
            payload = {"truncated": True, "size": len(raw), "sha256": digest, "head": head}
        else:
            data, problem = parse(raw)
            # as JSON, made safe to publish again where it is not (lone surrogates, NULs, depth, infinity), and
            # masked by field; as masked text only when it is not JSON at all
            if data is not None:
                payload = redact(data if problem is None else sanitize(data))
            else:
                payload = clean_text(raw.decode("utf-8", errors="replace"), 10**6)
        key = safe_key(record.key)
        try:
            timestamp: str | int = datetime.fromtimestamp(record.timestamp / 1000, UTC).isoformat()
        except (ValueError, OverflowError, OSError):  # a producer's CreateTime is content too
            timestamp = record.timestamp
        body = {
            "source": {
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "key": key,
                "timestamp": timestamp,
                "sha256": digest,  # of the original record's value: a replay checks it is the same record
            },
            "consumer": self.consumer,
            "reason_code": code.value,
            "reason": clean_text(reason),
            "error": clean_text(error) if error and not minimal else None,
            "attempts": attempts,
            "sender": sender,
            "msgid": msgid,
            "type": type_name,
            "payload": payload,
        }
        dlq_key = key or msgid or f"{record.partition}:{record.offset}"
        return Outgoing(self.topic, dlq_key, "dlq.record", body, correlation_id=msgid)


def masked_head(raw: bytes) -> str:
    """The first DIGEST_HEAD characters of a value, personal data masked: by field when it is JSON (so no escaping
    hides an ID number from the masking), else by pattern."""
    data, problem = parse(raw)
    if data is not None:
        text = json.dumps(redact(data if problem is None else sanitize(data)), ensure_ascii=False)
    else:
        text = raw[: DIGEST_HEAD * 4].decode("utf-8", errors="replace")
    return within_bytes(clean_text(text, DIGEST_HEAD), DIGEST_HEAD)


def within_bytes(text: str, limit: int) -> str:
    """The longest start of `text` that takes at most `limit` bytes however it is written (UTF-8, or a JSON
    escape: an emoji is 4 bytes, or 12 as `\\ud83d\\ude00`), so a digest stays bounded in bytes."""
    kept, size = [], 0
    for char in text:
        size += max(len(char.encode("utf-8", errors="replace")), len(json.dumps(char)) - 2)
        if size > limit:
            break
        kept.append(char)
    return "".join(kept)
