"""Create the platform's topics from deploy/topics.toml: `python -m tools.topics [--bootstrap HOST:PORT] [--list]`.

Missing topics are created; existing ones with fewer partitions than the manifest are grown, and
their configuration is set to the manifest's; a topic is never deleted. Idempotent.

Every topic stamps records with the broker's clock (`message.timestamp.type=LogAppendTime`): the
consumer kernel tells a redelivery from a recreated topic's new record by timestamp, so a producer's
clock (content, from the platform's point of view) must not decide it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.contracts.topics import PROVINCES, dlq_topic
from shared.messaging.security import ADMIN, aiokafka_security
from shared.settings import PlatformSettings

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "topics.toml"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_hours: int

    def config(self, min_insync_replicas: int = 1) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_hours * 3600 * 1000),
            "min.insync.replicas": str(min_insync_replicas),
            "message.timestamp.type": "LogAppendTime",
        }


def load_manifest(path: Path = MANIFEST) -> list[TopicSpec]:
    data = tomllib.loads(path.read_text())
    defaults, dlq = data["defaults"], data["dlq"]
    specs: list[TopicSpec] = []
    for t in data["topic"]:
        names = [t["name"].format(province=p) for p in PROVINCES] if "{province}" in t["name"] else [t["name"]]
        for name in names:
            specs.append(
                TopicSpec(
                    name,
                    t.get("partitions", defaults["partitions"]),
                    t.get("retention_hours", defaults["retention_hours"]),
                )
            )
            if t.get("dlq"):
                specs.append(TopicSpec(dlq_topic(name), dlq["partitions"], dlq["retention_hours"]))
    return specs


async def ensure_topics(bootstrap: str, specs: list[TopicSpec], settings: PlatformSettings | None = None) -> list[str]:
    """Returns the names created. Acts as the cluster's `admin` (credentials as shared/messaging/security.py).

    The replication factor and `min.insync.replicas` come from the settings (MEDAID_KAFKA_REPLICATION_FACTOR,
    MEDAID_KAFKA_MIN_INSYNC_REPLICAS): 1/1 on one broker, 3/2 on a three-broker cluster and in production. A
    topic's replication factor is set when it is made; `min.insync.replicas` is brought to the setting on every
    run."""
    settings = settings or PlatformSettings()
    replication, min_insync = settings.kafka_replication_factor, settings.kafka_min_insync_replicas
    if min_insync > replication:
        raise ValueError(f"min.insync.replicas {min_insync} is more than the replication factor {replication}")
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap.split(","),
        client_id="medaid-topics",
        **aiokafka_security(settings, ADMIN),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(s.name, s.partitions, replication, topic_configs=s.config(min_insync)) for s in missing],
                timeout_ms=60000,
            )
        present = [s for s in specs if s.name in existing]
        if present:
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            grow = {s.name: NewPartitions(s.partitions) for s in present if counts.get(s.name, 0) < s.partitions}
            if grow:
                await admin.create_partitions(grow)
            # the manifest owns every topic's configuration (AlterConfigs sets the whole set)
            responses = await admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, s.name, configs=s.config(min_insync)) for s in present]
            )
            failed = [
                (name, code, message)
                for response in responses
                for code, message, _type, name in response.resources
                if code != 0
            ]
            if failed:
                raise RuntimeError(f"topic configuration refused: {failed[:5]}")
        return [s.name for s in missing]
    finally:
        await admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=PlatformSettings().kafka_bootstrap)
    parser.add_argument("--list", action="store_true", help="print the manifest's topics and exit")
    args = parser.parse_args()
    specs = load_manifest()
    if args.list:
        for s in specs:
            print(f"{s.name}\tpartitions={s.partitions}\tretention_hours={s.retention_hours}")
        return 0
    created = asyncio.run(ensure_topics(args.bootstrap, specs))
    print(f"topics: {len(specs)} in the manifest, {len(created)} created", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
