"""Every service's Prometheus metrics, on its own port (`PlatformSettings.metrics_port_of`).

Names follow kafka_exporter (`kafka_consumergroup_lag`, `kafka_consumergroup_current_offset`,
`kafka_topic_partition_current_offset`), kafka-lag-exporter for lag in time (`kafka_consumergroup_group_lag_seconds`)
and OpenTelemetry's messaging conventions (`messaging.process.duration` -> `messaging_process_duration_seconds`,
`messaging.client.sent.messages` -> `messaging_client_sent_messages_total`, attributes `messaging.destination.name`
and `messaging.consumer.group.name` as labels with underscores). The platform's own start with `medaid_`.

What is measured where:
  * the consumer kernel observes each record's processing after its transaction committed (a batch rolled back and
    run again is observed once), with the outcome: the answer's status (completed, accepted, rejected, deferred),
    `applied` for another service's event, `repeat`, `redelivered` or `dead_lettered`;
  * the batch runners keep each partition's next offset and the timestamp of the last record processed; the lag is
    read from them when Prometheus scrapes;
  * the outbox relay counts what it published, and the dead letters by reason;
  * a refresh loop reads the service's own tables every `metrics_refresh_seconds` (outbox backlog, sagas by state
    and the age of the oldest in each, the books checks every `metrics_books_seconds`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.contracts.topics import province_of

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

PROCESS_DURATION = Histogram(
    "messaging_process_duration_seconds",
    "Time a record spent being processed in its transaction (OpenTelemetry messaging.process.duration), by outcome",
    ["messaging_destination_name", "messaging_consumer_group_name", "message_type", "outcome"],
    buckets=DURATION_BUCKETS,
)
BATCH_DURATION = Histogram(
    "medaid_consumer_batch_duration_seconds",
    "Time from a partition batch's start to its commit (ADR 0018), records of one topic",
    ["messaging_destination_name", "messaging_consumer_group_name"],
    buckets=DURATION_BUCKETS,
)
SENT = Counter(
    "messaging_client_sent_messages",
    "Records the outbox relay published (OpenTelemetry messaging.client.sent.messages)",
    ["messaging_destination_name", "message_type"],
)
DEAD_LETTERS = Counter(
    "medaid_dead_letters",
    "Dead letters published, by DLQ topic and reason code",
    ["messaging_destination_name", "reason_code"],
)
UNVERIFIED = Counter(
    "medaid_unverified_records",
    "Ingress records whose signature did not verify, dead-lettered and answered to nobody (ADR 0023), by ingress "
    "topic and the province of the sender they claim ('none' when unreadable)",
    ["messaging_destination_name", "claimed_province"],
)
CATCH_UP_WAITS = Counter(
    "medaid_catch_up_waits",
    "Waits for this service's followers before judging (ADR 0012): one per batch that waits (tools/bench_costs.py)",
)
CATCH_UP_WATERMARK_READS = Counter(
    "medaid_catch_up_watermark_reads",
    "ListOffsets requests for the followed streams' high watermarks, shared by the waits in flight (ADR 0012)",
)
OUTBOX_BACKLOG = Gauge("medaid_outbox_backlog_messages", "Outbox rows not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "medaid_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (real time; 0 when none)"
)
OUTBOX_FAILED = Gauge("medaid_outbox_failed_messages", "Outbox rows the broker refused for good (set aside)")
SAGAS = Gauge("medaid_sagas", "Sagas of this service by state", ["saga", "state"])
SAGA_OLDEST_AGE = Gauge(
    "medaid_saga_oldest_age_seconds",
    "Business-time age of the oldest saga in each non-final state (0 when none)",
    ["saga", "state"],
)
BOOKS_OFFENDERS = Gauge(
    "medaid_books_check_offenders", "Rows breaking each books invariant of this service (0: it holds)", ["check"]
)
BOOKS_BALANCED = Gauge("medaid_books_balanced", "1 when every books invariant of this service holds, else 0")
BOOKS_CHECKED = Gauge("medaid_books_checked_timestamp_seconds", "When the books were last checked (Unix time)")
CLOCK_OFFSET = Gauge(
    "medaid_business_clock_offset_seconds", "The business clock's offset from real time (ADR 0011; one per platform)"
)
INFO = Gauge("medaid_service_info", "1, labelled with the service's name", ["service"])
KEY_REGISTRY_VALID = Gauge(
    "medaid_key_registry_valid",
    "1 when the key registry file as it stands is in force; 0: it does not parse or validate (or cannot be read) "
    "and the last good registry stays in force (docs/security.md)",
)
KEY_REGISTRY_ERRORS = Counter(
    "medaid_key_registry_errors", "Versions of the key registry file refused: not JSON, or not a valid registry"
)
KEY_REGISTRY_LOADED = Gauge(
    "medaid_key_registry_loaded_timestamp_seconds", "When the key registry in force was loaded (Unix time)"
)
KEY_REGISTRY_KEYS = Gauge("medaid_key_registry_keys", "Keys of the registry in force, by state", ["state"])
KEY_REGISTRY_INFO = Gauge(
    "medaid_key_registry_info", "1, labelled with the SHA-256 of the key registry in force", ["sha256"]
)


@dataclass(frozen=True)
class SagaReading:
    """How many sagas of one kind are in one state, and the business-time age of the oldest (None: final state)."""

    saga: str
    state: str
    count: int
    oldest_age_seconds: float | None


class PartitionProgress(Protocol):
    """What a batch runner tells the lag collector (shared/messaging/batch_runner.py)."""

    group: str

    def progress(self) -> Iterable[tuple[str, int, int | None, int | None, float | None]]:
        """(topic, partition, next offset to process, high watermark, timestamp of the last record processed)."""
        ...


class LagCollector(Collector):
    """kafka_exporter's lag metrics, read from the runners of this process when Prometheus scrapes."""

    def __init__(self) -> None:
        self.runners: list[PartitionProgress] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["consumergroup", "topic", "partition"]
        lag = GaugeMetricFamily(
            "kafka_consumergroup_lag", "Records behind the high watermark, per partition", labels=labels
        )
        seconds = GaugeMetricFamily(
            "kafka_consumergroup_group_lag_seconds",
            "How far behind in time: 0 when caught up, else the age of the last record processed",
            labels=labels,
        )
        current = GaugeMetricFamily(
            "kafka_consumergroup_current_offset", "The next offset this group processes, per partition", labels=labels
        )
        high = GaugeMetricFamily(
            "kafka_topic_partition_current_offset", "The partition's high watermark", labels=["topic", "partition"]
        )
        now = time.time()
        for runner in list(self.runners):
            for topic, partition, position, watermark, last_ts in list(runner.progress()):
                key = [runner.group, topic, str(partition)]
                if position is not None:
                    current.add_metric(key, position)
                if watermark is not None:
                    high.add_metric([topic, str(partition)], watermark)
                if position is None or watermark is None:
                    continue
                behind = max(watermark - position, 0)
                lag.add_metric(key, behind)
                seconds.add_metric(key, 0.0 if behind == 0 or last_ts is None else max(now - last_ts, 0.0))
        yield from (lag, seconds, current, high)


LAG = LagCollector()
REGISTRY.register(LAG)


def serve_metrics(service: str, port: int, host: str, clock_offset: float) -> Any:
    """Start /metrics in a thread of its own; returns the server (`shutdown()` stops it), or None for port 0."""
    INFO.labels(service).set(1)
    CLOCK_OFFSET.set(clock_offset)
    if port == 0:
        return None
    server, _thread = start_http_server(port, addr=host)
    return server


def observe_records(topic: str, group: str, observed: Sequence[tuple[str, str, float]]) -> None:
    """After a transaction committed: each record's (message type, outcome, seconds)."""
    for type_name, outcome, seconds in observed:
        PROCESS_DURATION.labels(topic, group, type_name, outcome).observe(seconds)


def observe_published(rows: Sequence[tuple[str, str, bytes]]) -> None:
    """After the relay marked rows published: (topic, type, value) of each."""
    for topic, type_name, value in rows:
        SENT.labels(topic, type_name).inc()
        if topic.endswith(".dlq"):
            try:
                body = json.loads(value)["body"]
                reason = str(body["reason_code"])
            except (ValueError, KeyError, TypeError):
                body, reason = {}, "unknown"
            DEAD_LETTERS.labels(topic, reason).inc()
            if reason == "SIGNATURE_INVALID":
                UNVERIFIED.labels(topic.removesuffix(".dlq"), _claimed_province(body.get("sender"))).inc()


def _claimed_province(sender: object) -> str:
    """A label of at most 32 values: a claimed sender is anyone's text."""
    try:
        return province_of(sender) if isinstance(sender, str) else "none"
    except ValueError:
        return "none"


def set_outbox(backlog: int, oldest_age: float | None, failed: int) -> None:
    OUTBOX_BACKLOG.set(backlog)
    OUTBOX_OLDEST_AGE.set(oldest_age or 0.0)
    OUTBOX_FAILED.set(failed)


def set_sagas(readings: Sequence[SagaReading]) -> None:
    for r in readings:
        SAGAS.labels(r.saga, r.state).set(r.count)
        if r.oldest_age_seconds is not None:
            SAGA_OLDEST_AGE.labels(r.saga, r.state).set(r.oldest_age_seconds)


def no_books() -> None:
    """A service that keeps no books (relationship) shows no books gauges at all, rather than a 0 that alarms."""
    for gauge in (BOOKS_BALANCED, BOOKS_CHECKED, BOOKS_OFFENDERS):
        with contextlib.suppress(KeyError):
            REGISTRY.unregister(gauge)


def set_books(problems: dict[str, list[str]]) -> None:
    for check, offenders in problems.items():
        BOOKS_OFFENDERS.labels(check).set(len(offenders))
    BOOKS_BALANCED.set(0 if any(problems.values()) else 1)
    BOOKS_CHECKED.set(time.time())


def set_key_registry(valid: bool, sha256: str, loaded_at: float, keys: int, revoked: int, refused: bool) -> None:
    """After a check of the key registry file: `refused` when a new version of it was just refused."""
    if refused:
        KEY_REGISTRY_ERRORS.inc()
    KEY_REGISTRY_VALID.set(1 if valid else 0)
    KEY_REGISTRY_LOADED.set(loaded_at)
    KEY_REGISTRY_KEYS.labels("active").set(keys - revoked)
    KEY_REGISTRY_KEYS.labels("revoked").set(revoked)
    KEY_REGISTRY_INFO.clear()
    KEY_REGISTRY_INFO.labels(sha256).set(1)
