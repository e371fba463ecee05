"""deploy/acls.toml against what the services really consume and produce (the broker enforces it: tests/e2e)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from services.clearing.bootstrap import bootstrap as clearing
from services.payment.bootstrap import bootstrap as payment
from services.relationship.bootstrap import bootstrap as relationship
from services.wallet.bootstrap import bootstrap as wallet
from shared.contracts.topics import EVENT_TOPICS, INGRESS_TOPICS, MSGID_TOPICS, PROVINCES
from shared.settings import PlatformSettings
from tools.acls import Principal, bindings, load_principals
from tools.kafka_admin import PREFIXED, WRITE
from tools.topics import load_manifest

SETTINGS = PlatformSettings(kafka_password=SecretStr("unit-test"), environment="local")  # a runtime checks its settings
BOOTSTRAPS: dict[str, Any] = {"wallet": wallet, "relationship": relationship, "payment": payment, "clearing": clearing}


def principal(name: str, *, local: bool = False) -> Principal:
    return {p.name: p for p in load_principals(local=local)}[name]


@pytest.mark.parametrize("service", list(BOOTSTRAPS))
def test_a_service_reads_exactly_what_it_consumes_and_writes_its_streams_and_dead_letters(service: str) -> None:
    runtime = BOOTSTRAPS[service](SETTINGS.model_copy(update={"kafka_username": service}))
    p = principal(service)
    assert set(p.read) == {c.source_topic for c in runtime.consumers}
    dead_letters = {c.stages.dead_letters.topic for c in runtime.consumers}
    assert set(p.write) == {EVENT_TOPICS[service], MSGID_TOPICS[service], "province.*", *dead_letters}
    assert p.groups == (f"{service}.*",)


def test_every_topic_granted_is_in_the_topic_manifest() -> None:
    topics = {s.name for s in load_manifest()}
    for p in load_principals(local=True):
        for name in (*p.read, *p.write):
            if name.endswith("*"):
                assert any(t.startswith(name[:-1]) for t in topics), (p.name, name)
            else:
                assert name in topics, (p.name, name)


def test_each_event_stream_and_claim_stream_has_one_writer() -> None:
    streams = {*EVENT_TOPICS.values(), *MSGID_TOPICS.values()}
    writers: dict[str, set[str]] = {s: set() for s in streams}
    for b in bindings(load_principals(local=True)):
        if b.operation != WRITE:
            continue
        for s in streams:
            if s == b.name or (b.pattern_type == PREFIXED and s.startswith(b.name)):
                writers[s].add(b.principal)
    assert writers == {s: {f"User:{s.split('.')[0]}"} for s in streams}


def test_a_province_writes_the_ingress_topics_and_reads_only_its_own_notifications() -> None:
    provinces = [p for p in load_principals() if p.name.startswith("province-")]
    assert sorted(p.name for p in provinces) == sorted(f"province-{code}" for code in PROVINCES)
    for p in provinces:
        code = p.name.removeprefix("province-")
        assert p.read == (f"province.{code}.notifications.v1",)
        assert set(p.write) == set(INGRESS_TOPICS)
        assert p.groups == (f"province-{code}.*",)


def test_analytics_reads_the_event_streams_only_and_the_operator_the_dead_letters() -> None:
    analytics = principal("analytics")
    assert set(analytics.read) == set(EVENT_TOPICS.values())
    assert analytics.write == ()
    operator = principal("operator")
    assert set(operator.read) == {s.name for s in load_manifest() if s.name.endswith(".dlq")} | set(INGRESS_TOPICS)
    assert set(operator.write) == set(INGRESS_TOPICS)


def test_the_simulator_exists_only_on_local_stacks() -> None:
    assert "simulator" not in {p.name for p in load_principals()}
    assert "simulator" in {p.name for p in load_principals(local=True)}
