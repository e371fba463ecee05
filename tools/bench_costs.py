"""What one operation costs, counted: `python -m tools.bench_costs --op saga|settlement|credit [-n N]` against a
running platform (make up; `make bench-costs` runs all three).

Sets the operation up as its benchmark does (tools.bench_saga, tools.bench_settlements, tools.bench: families,
enrolments), then counts what the measured part alone made the platform do, from counters the stack keeps anyway:

  * Kafka records produced per topic (end offsets, summed over partitions), grouped by kind; records consumed per
    consumer group (committed offsets); `__consumer_offsets` is where the groups' offset commits go;
  * PostgreSQL transactions of the platform's database (pg_stat_database) and statements per service
    (pg_stat_statements by login role: every service connects as its own), with the top statements by calls;
  * the services' catch-up counters (/metrics: waits for followers and ListOffsets requests, ADR 0012).

Each snapshot is taken with the stack quiet (every group has committed everything, no topic grew for two seconds)
and more than ten seconds after it went quiet, because PostgreSQL's backends report their transactions to
pg_stat_database only when they have been idle for up to ten seconds. Before the measured part the stack stays idle
for the same time once more, measured alike: what an idle stack does on its own (the relays' and the metrics'
polls) is printed, and taken off the measured part in proportion to its length ("net"). Signatures and JSON
(de)coding are not counted in the services; they follow from the records (see what the output says).

The lines `costs: measuring` and `costs: measured` bound the measured part, for tools.bench_resources --after/--until.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from urllib.request import urlopen

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from shared.messaging.security import ADMIN, aiokafka_security
from shared.settings import DATABASE_ROLES, SERVICES, PlatformSettings
from tools.bench import bench as credits_bench
from tools.bench_saga import Saga
from tools.bench_settlements import Settlements

KINDS = ("ingress", "notifications", "events", "msgids claims", "dead letters", "offset commits", "other")
"""The kinds of topic records are grouped by, in the order they are printed."""

Key = tuple[str, ...]
Counts = dict[Key, float]
"""Counters by key: ("produced", topic), ("consumed", group, topic), ("xacts",), ("statement", role, toplevel,
query), ("metric", service, name)."""

QUIET_SECONDS = 2.0
STATS_FLUSH_SECONDS = 11.0  # PostgreSQL 15: an idle backend reports its transactions within 10 s (PGSTAT_IDLE_INTERVAL)
CATCH_UP_SELECT = "FROM consumer_positions WHERE consumer = ANY"
METRICS = ("medaid_catch_up_waits_total", "medaid_catch_up_watermark_reads_total")


def topic_kind(topic: str) -> str:
    """The kind of a topic's records: ingress (provinces' requests), notifications (answers and news to provinces),
    events (the services' state changes), msgids claims (ADR 0013), dead letters, offset commits, other."""
    if topic.endswith(".dlq"):
        return "dead letters"
    if topic.startswith("ingress."):
        return "ingress"
    if topic.startswith("province.") and topic.endswith(".notifications.v1"):
        return "notifications"
    if topic.endswith(".events.v1"):
        return "events"
    if topic.endswith(".msgids.v1"):
        return "msgids claims"
    if topic == "__consumer_offsets":
        return "offset commits"
    return "other"


def diff(before: Mapping[Key, float], after: Mapping[Key, float]) -> Counts:
    """after - before for every key in either (a key missing counts 0), the keys that changed only."""
    out: Counts = {}
    for key in set(before) | set(after):
        delta = after.get(key, 0.0) - before.get(key, 0.0)
        if delta:
            out[key] = delta
    return out


def net(
    measured: Mapping[Key, float], idle: Mapping[Key, float], measured_seconds: float, idle_seconds: float
) -> Counts:
    """The measured deltas less what the idle stack does in as long (its rate over the idle window), never below 0."""
    scale = measured_seconds / idle_seconds if idle_seconds > 0 else 0.0
    out: Counts = {}
    for key in set(measured) | set(idle):
        value = measured.get(key, 0.0) - idle.get(key, 0.0) * scale
        if value > 0:
            out[key] = value
    return out


def by_kind(counts: Mapping[Key, float]) -> dict[str, float]:
    """Records produced, summed by kind of topic (KINDS order)."""
    kinds = dict.fromkeys(KINDS, 0.0)
    for key, value in counts.items():
        if key[0] == "produced":
            kinds[topic_kind(key[1])] += value
    return kinds


def consumed_by_group(counts: Mapping[Key, float]) -> dict[str, dict[str, float]]:
    """Records consumed: {group: {kind of topic: records}}."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, value in counts.items():
        if key[0] == "consumed":
            out[key[1]][topic_kind(key[2])] += value
    return {group: dict(kinds) for group, kinds in out.items()}


def lagging(counts: Mapping[Key, float], owners: Iterable[str] = DATABASE_ROLES) -> dict[str, float]:
    """{group: records it has not committed} for the groups of `owners` (`<owner>.<purpose>`: the services' and the
    console's) that are behind; another tool's group that stopped long ago may stay behind for good."""
    prefixes = tuple(f"{owner}." for owner in owners)
    behind: dict[str, float] = defaultdict(float)
    for key, value in counts.items():
        if key[0] == "consumed" and key[1].startswith(prefixes):
            missing = counts.get(("produced", key[2]), 0.0) - value
            if missing > 0:
                behind[key[1]] += missing
    return dict(behind)


def statements_by_role(counts: Mapping[Key, float], toplevel: bool = True) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for key, value in counts.items():
        if key[0] == "statement" and (key[2] == "t") == toplevel:
            out[key[1]] += value
    return dict(out)


def squeeze(query: str, width: int = 110) -> str:
    """A statement on one line, cut at `width`."""
    one = re.sub(r"\s+", " ", query).strip()
    return one if len(one) <= width else one[: width - 3] + "..."


def table(rows: Iterable[tuple[str, float]], n: int, indent: str = "  ") -> list[str]:
    return [f"{indent}{name:<36} {value / n:9.2f}" for name, value in rows if value]


@dataclass
class Counters:
    """Reads the stack's counters: Kafka as `admin` (the local stack's super user), PostgreSQL as its superuser."""

    settings: PlatformSettings
    admin_dsn: str
    _admin: AIOKafkaAdminClient | None = None
    _consumer: AIOKafkaConsumer | None = None
    _db: asyncpg.Connection[Any] | None = None
    _partitions: dict[str, list[TopicPartition]] = field(default_factory=dict)

    async def start(self) -> None:
        security = aiokafka_security(self.settings, ADMIN)
        boot = self.settings.kafka_bootstrap.split(",")
        self._admin = AIOKafkaAdminClient(bootstrap_servers=boot, client_id="bench-costs", **security)
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=boot, group_id=None, enable_auto_commit=False, **security)
        await self._consumer.start()
        self._db = await asyncpg.connect(self.admin_dsn)
        await self._db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        try:
            await self._db.fetchval("SELECT count(*) FROM pg_stat_statements")
        except asyncpg.PostgresError as exc:
            raise SystemExit(
                f"pg_stat_statements is not loaded ({exc}): PostgreSQL must start with "
                "shared_preload_libraries=pg_stat_statements (deploy/local/postgres.sh does: make down && make up)"
            ) from exc

    async def stop(self) -> None:
        if self._db is not None:
            await self._db.close()
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            await self._admin.close()

    async def reset_statements(self) -> None:
        assert self._db is not None
        await self._db.execute("SELECT pg_stat_statements_reset()")

    async def kafka(self) -> Counts:
        assert self._admin is not None
        assert self._consumer is not None
        topics = sorted(await self._admin.list_topics())
        missing = [t for t in topics if t not in self._partitions]
        if missing:
            for described in await self._admin.describe_topics(missing):
                parts = sorted(p["partition"] for p in described.get("partitions") or ())
                self._partitions[described["topic"]] = [TopicPartition(described["topic"], p) for p in parts]
        ends = await self._consumer.end_offsets([tp for t in topics for tp in self._partitions[t]])
        counts: Counts = defaultdict(float)
        for tp, offset in ends.items():
            counts[("produced", tp.topic)] += offset
        for group, _ in await self._admin.list_consumer_groups():
            for tp, committed in (await self._admin.list_consumer_group_offsets(group)).items():
                if committed.offset >= 0:
                    counts[("consumed", group, tp.topic)] += committed.offset
        return dict(counts)

    async def postgres(self) -> Counts:
        assert self._db is not None
        counts: Counts = {}
        xacts = await self._db.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", self.settings.pg_database
        )
        counts[("xacts",)] = float(xacts)
        rows = await self._db.fetch(
            """SELECT r.rolname AS role, s.toplevel, s.query, sum(s.calls) AS calls
                 FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = $1 AND r.rolname = ANY($2::text[]) GROUP BY 1, 2, 3""",
            self.settings.pg_database,
            list(DATABASE_ROLES),
        )
        for r in rows:
            counts[("statement", r["role"], "t" if r["toplevel"] else "n", r["query"])] = float(r["calls"])
        return counts

    def metrics(self) -> Counts:
        counts: Counts = {}
        for service in SERVICES:
            url = f"http://{self.settings.metrics_host}:{self.settings.metrics_port_of(service)}/metrics"
            with urlopen(url, timeout=5) as answer:  # the local stack's own port
                text = answer.read().decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name in METRICS:
                        counts[("metric", service, sample.name)] = float(sample.value)
        return counts

    async def quiet(self, patience: float = 300.0) -> None:
        """Until every group has committed everything and no topic grew for QUIET_SECONDS."""
        deadline = time.monotonic() + patience
        last = await self.kafka()
        still = time.monotonic()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            now = await self.kafka()
            if diff(last, now) or lagging(now):
                last, still = now, time.monotonic()
            elif time.monotonic() - still >= QUIET_SECONDS:
                return
        raise SystemExit(f"the stack did not go quiet in {patience:.0f} s; behind: {lagging(last)}")

    async def snapshot(self) -> tuple[float, Counts]:
        """Quiet, then the stats flushed, then every counter: (monotonic time, counts)."""
        await self.quiet()
        await asyncio.sleep(STATS_FLUSH_SECONDS)
        at = time.monotonic()
        counts = {**await self.kafka(), **await self.postgres(), **self.metrics()}
        return at, counts


@dataclass
class Window:
    """One measured part: the idle window before it and the measured one."""

    counters: Counters
    name: str
    n: int
    idle: Counts = field(default_factory=dict)
    idle_seconds: float = 0.0
    began: tuple[float, Counts] = (0.0, {})

    async def begin(self) -> None:
        await self.counters.reset_statements()
        first = await self.counters.snapshot()
        second = await self.counters.snapshot()
        self.idle, self.idle_seconds = diff(first[1], second[1]), second[0] - first[0]
        self.began = second
        print(f"costs: measuring {self.n} x {self.name}", file=sys.stderr, flush=True)

    async def end(self) -> str:
        ended = await self.counters.snapshot()
        print(f"costs: measured {self.n} x {self.name}", file=sys.stderr, flush=True)
        seconds = ended[0] - self.began[0]
        raw = diff(self.began[1], ended[1])
        return report(
            self.name,
            self.n,
            net(raw, self.idle, seconds, self.idle_seconds),
            raw,
            self.idle,
            seconds,
            self.idle_seconds,
        )


def report(
    name: str, n: int, counts: Counts, raw: Counts, idle: Counts, seconds: float, idle_seconds: float, top: int = 10
) -> str:
    """The per-operation figures as text."""
    lines = [f"== {name}: per operation, over {n} (net of the idle stack; raw totals in brackets)"]
    kinds, raw_kinds = by_kind(counts), by_kind(raw)
    lines.append(f"Kafka records produced: {sum(kinds.values()) / n:.2f}")
    lines += [f"  {k:<36} {v / n:9.2f}   [{raw_kinds[k]:.0f}]" for k, v in kinds.items() if v or raw_kinds[k]]
    per_topic = sorted(((key[1], v) for key, v in counts.items() if key[0] == "produced"), key=lambda kv: -kv[1])
    lines.append("  by topic:")
    lines += table(per_topic, n, "    ")
    groups = consumed_by_group(counts)
    consumed = sum(sum(g.values()) for g in groups.values())
    lines.append(f"Kafka records consumed (committed by consumer groups): {consumed / n:.2f}")
    for group in sorted(groups, key=lambda g: -sum(groups[g].values())):
        what = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(groups[group].items(), key=lambda kv: -kv[1]))
        lines.append(f"  {group:<36} {sum(groups[group].values()) / n:9.2f}  ({what})")
    lines.append(
        f"PostgreSQL transactions (pg_stat_database, whole database): {counts.get(('xacts',), 0.0) / n:.2f}"
        f"   [{raw.get(('xacts',), 0.0):.0f}]"
    )
    roles, nested = statements_by_role(counts), statements_by_role(counts, toplevel=False)
    lines.append(
        f"PostgreSQL statements sent by the services (pg_stat_statements, top level): {sum(roles.values()) / n:.2f}"
    )
    for role in sorted(roles, key=lambda r: -roles[r]):
        explicit = sum(
            v for k, v in counts.items() if k[0] == "statement" and k[1] == role and k[3].strip().upper() == "COMMIT"
        )
        inner = f", {nested[role] / n:.2f} more inside functions" if nested.get(role) else ""
        lines.append(f"  {role:<36} {roles[role] / n:9.2f}  (COMMIT {explicit / n:.2f}{inner})")
    stmts = sorted(
        ((k[1], k[3], v) for k, v in counts.items() if k[0] == "statement" and k[2] == "t"), key=lambda t: -t[2]
    )
    lines.append(f"  top {top} by calls per operation:")
    lines += [f"    {v / n:6.2f}  {role:<12} {squeeze(q)}" for role, q, v in stmts[:top]]
    nested_top = sorted(
        ((k[1], k[3], v) for k, v in counts.items() if k[0] == "statement" and k[2] == "n"), key=lambda t: -t[2]
    )
    if nested_top:
        lines.append("  inside functions and triggers (not sent by the service; top 3):")
        lines += [f"    {v / n:6.2f}  {role:<12} {squeeze(q)}" for role, q, v in nested_top[:3]]
    polls = {k[1]: v for k, v in counts.items() if k[0] == "statement" and CATCH_UP_SELECT in k[3]}
    waits = {k[1]: v for k, v in counts.items() if k[0] == "metric" and k[2] == METRICS[0]}
    reads = {k[1]: v for k, v in counts.items() if k[0] == "metric" and k[2] == METRICS[1]}
    lines.append("Catch-up (ADR 0012), per operation: waits / ListOffsets requests / consumer_positions polls")
    for service in SERVICES:
        if waits.get(service) or reads.get(service) or polls.get(service):
            lines.append(
                f"  {service:<36} {waits.get(service, 0.0) / n:6.2f} / {reads.get(service, 0.0) / n:6.2f} / "
                f"{polls.get(service, 0.0) / n:6.2f}"
            )
    lines.append(
        f"Signatures (from the records): made {kinds['notifications'] / n:.2f} (each notification, when its outbox "
        f"row is written); verified {kinds['ingress'] / n:.2f} (each ingress record once, by the service that owns "
        "its type; another reader of a shared ingress topic skips it before verifying)"
    )
    consumed_all = sum(v for k, v in counts.items() if k[0] == "consumed")
    produced_platform = sum(kinds[k] for k in KINDS if k not in ("ingress", "offset commits"))
    lines.append(
        f"JSON (from the records, at least): {produced_platform / n:.2f} encodes (each outbox row's envelope) and "
        f"{(consumed_all + kinds['ingress']) / n:.2f} decodes (each record consumed, and a verified ingress record "
        "once more for its signature)"
    )
    idle_x = idle.get(("xacts",), 0.0)
    idle_s = sum(v for k, v in idle.items() if k[0] == "statement")
    idle_r = sum(v for k, v in idle.items() if k[0] == "produced")
    lines.append(
        f"Idle stack ({idle_seconds:.1f} s before, taken off in proportion to the measured {seconds:.1f} s): "
        f"{idle_x / idle_seconds:.1f} transactions/s, {idle_s / idle_seconds:.1f} statements/s, "
        f"{idle_r / idle_seconds:.2f} records/s"
        if idle_seconds
        else "Idle stack: not measured"
    )
    background = sorted(
        ((k[1], k[3], v) for k, v in idle.items() if k[0] == "statement" and k[2] == "t"), key=lambda t: -t[2]
    )
    lines += [
        f"    {v / idle_seconds:6.2f}/s  {role:<12} {squeeze(q)}" for role, q, v in background[:8] if idle_seconds
    ]
    return "\n".join(lines)


class SagaCosts(Saga):
    """tools.bench_saga's families and transfers, counted from the first `transfer.requested`."""

    def __init__(self, settings: PlatformSettings, n: int, counters: Counters) -> None:
        super().__init__(settings, n)
        self.window = Window(counters, "transfer saga (request, accepted, accept, completed)", n)
        self.text = ""

    async def send_all(
        self, producer: AIOKafkaProducer, messages: list[tuple[str, dict[str, Any], str]], want: str | None = None
    ) -> dict[str, float]:
        if messages and messages[0][1]["type"] == "transfer.requested":
            await self.window.begin()
        return await super().send_all(producer, messages, want)

    async def measure(self, producer: AIOKafkaProducer) -> dict[str, float]:
        figures = await super().measure(producer)
        if figures["completed"] != self.n:
            raise SystemExit(f"{figures['completed']:.0f} of {self.n} transfers completed")
        self.text = await self.window.end()
        return figures


class SettlementCosts(Settlements):
    """tools.bench_settlements's families, transfers and hospital as set-up; settlements, then cancellations,
    counted each on their own."""

    def __init__(self, settings: PlatformSettings, n: int, counters: Counters) -> None:
        super().__init__(settings, n, None)
        self.counters = counters
        self.texts: list[str] = []

    async def paced(
        self, producer: AIOKafkaProducer, messages: list[tuple[str, dict[str, Any], str]]
    ) -> dict[str, Any]:
        kind = messages[0][1]["type"]
        name = {"settlement.requested": "settlement (paid from the wallet, completed)"}.get(
            kind, "cancellation of a settlement (completed)"
        )
        window = Window(self.counters, name, len(messages))
        await window.begin()
        sent = await super().paced(producer, messages)
        self.figures(kind, sent)  # every one answered `completed`, else it stops here
        self.texts.append(await window.end())
        return sent


def admin_dsn(settings: PlatformSettings) -> str:
    if os.environ.get("MEDAID_PG_ADMIN_DSN"):
        return os.environ["MEDAID_PG_ADMIN_DSN"]
    password = quote(os.environ.get("MEDAID_PG_ADMIN_PASSWORD", "medaid-admin"), safe="")
    return f"postgresql://postgres:{password}@{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"


async def run(op: str, n: int) -> list[str]:
    settings = PlatformSettings()
    counters = Counters(settings, admin_dsn(settings))
    await counters.start()
    try:
        if op == "saga":
            saga = SagaCosts(settings, n, counters)
            await saga.go()
            return [saga.text]
        if op == "settlement":
            settlements = SettlementCosts(settings, n, counters)
            await settlements.go()
            return settlements.texts
        window = Window(counters, "account.credited (completed)", n)
        measuring: Callable[[], Awaitable[None]] = window.begin
        figures = await credits_bench(settings, n, None, 500, measuring=measuring)
        if figures["answered"] != n:
            raise SystemExit(f"{figures['answered']:.0f} of {n} credits answered")
        return [await window.end()]
    finally:
        await counters.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=("saga", "settlement", "credit"), required=True)
    parser.add_argument("-n", type=int, default=300, help="operations measured (families for saga and settlement)")
    args = parser.parse_args()
    for text in asyncio.run(run(args.op, args.n)):
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
