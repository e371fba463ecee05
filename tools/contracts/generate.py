"""Generate the committed contracts: `python -m tools.contracts [--check]` (tools/contracts/__main__.py).

docs/contracts/jsonschema/<type>.json   one JSON Schema per message type (envelope + body)
docs/contracts/asyncapi/<service>.json  one AsyncAPI 3.0 document per service, built by FastStream
                                        from typed subscribers and publishers declared from the catalogue
--check exits 1 when a committed file differs from what the code generates (the contract tests do the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field

from shared.contracts import topics
from shared.contracts.province import INGRESS, TOPIC_PRIMARY, ingress_topics_of
from shared.settings import SERVICES
from tools.contracts.catalogue import all_messages, service_events

OUT = Path(__file__).resolve().parents[2] / "docs" / "contracts"
PROVINCE_CHANNEL = "province.{province}.notifications.v1"
VERSION = "1.0.0"


def json_schemas() -> dict[str, str]:
    files = {}
    for type_name, model in all_messages().items():
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"medaid:{type_name}"
        files[f"jsonschema/{type_name}.json"] = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return files


def _union(models: list[type[BaseModel]]) -> Any:
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007 - built at run time


def _stub(annotation: Any) -> Any:
    async def handler(message: Any) -> None:
        """Documentation only: the running subscriber reads raw records (shared/messaging/consumer.py)."""

    handler.__annotations__ = {"message": annotation, "return": None}
    return handler


def asyncapi_document(service: str) -> str:
    messages = all_messages()
    broker = KafkaBroker("kafka:9092", description="Apache Kafka, KRaft; topics from deploy/topics.toml")
    for topic in ingress_topics_of(service):
        answered = sorted(t for t, spec in INGRESS.items() if spec.topic == topic and spec.owner == service)
        primary = TOPIC_PRIMARY[topic] == service
        note = " Also answers what no type claims on this topic (unreadable JSON, unknown types)." if primary else ""
        if answered:
            broker.subscriber(
                topic,
                group_id=f"{service}.{topic}",
                title=f"{topic}:{service}",
                description=f"Answers {', '.join(answered)}: one request.result each, to the sender's province.{note}",
            )(_stub(_union([messages[t] for t in answered])))
        if primary:
            broker.publisher(
                topics.dlq_topic(topic),
                title=f"{topics.dlq_topic(topic)}:{service}",
                description="What could not be processed, with the reason; certificate numbers masked.",
                schema=messages["dlq.record"],
            )
    notes = sorted({"request.result"} | _notifications_of(service))
    broker.publisher(
        PROVINCE_CHANNEL,
        title=f"province-notifications:{service}",
        description="One topic per province (31): results of its requests and events about its people "
        "and institutions. {province} = 2-digit province code + 0000.",
        schema=_union([messages[t] for t in notes]),
    )
    events = service_events()[service]
    if events:
        broker.publisher(
            topics.EVENT_TOPICS[service],
            title=f"{topics.EVENT_TOPICS[service]}:{service}",
            description="Every state change of the service, as typed events, for analytics and the other "
            "services. Key: the aggregate's id.",
            schema=_union([messages[t] for t in sorted(events)]),
        )
    broker.publisher(
        topics.msgids_topic(service),
        title=f"{topics.msgids_topic(service)}:{service}",
        description="The (sender, msgid) pairs this service answered first, read by the other services: a msgid "
        "is unique per sender platform-wide (ADR 0013). Key: the sender.",
        schema=messages["msgid.claimed"],
    )
    spec = AsyncAPI(
        broker,
        title=f"medaid {service} service",
        version=VERSION,
        description=f"The {service} service of the cross-province mutual-aid platform.",
        schema_version="3.0.0",
    )
    return json.dumps(spec.to_specification().to_jsonable(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def _notifications_of(service: str) -> set[str]:
    """Province notification types each service sends (besides request.result), as the issues assign them."""
    return {
        "wallet": {"transfer.pending", "transfer.completed", "transfer.returned"},
        "relationship": {"relationship.established", "relationship.ended"},
        "payment": {"settlement.completed", "settlement.cancelled"},
        "clearing": {"clearing.statement-issued"},
    }[service]


def generate() -> dict[str, str]:
    files = json_schemas()
    for service in SERVICES:
        files[f"asyncapi/{service}.json"] = asyncapi_document(service)
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    files = generate()
    stale = [name for name, text in files.items() if not (OUT / name).exists() or (OUT / name).read_text() != text]
    extra = [str(p.relative_to(OUT)) for p in OUT.rglob("*.json") if str(p.relative_to(OUT)) not in files]
    if args.check:
        for name in stale + extra:
            print(f"out of date: docs/contracts/{name}", file=sys.stderr)
        return 1 if stale or extra else 0
    for name, text in files.items():
        (OUT / name).parent.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_text(text)
    for name in extra:
        (OUT / name).unlink()
    print(
        f"contracts: {len(files)} files in docs/contracts ({len(stale)} changed, {len(extra)} removed)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
