"""Every service's Prometheus /metrics after traffic (issue 13): the four services as processes, scraped over HTTP,
parsed with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.contracts.topics import PROVINCE_TOPICS
from shared.settings import SERVICES
from tests.e2e.conftest import Platform
from tests.e2e.test_platform import credit, enrolled
from tests.support.infra import REPO, TEST_METRICS_PORT_BASE
from tests.support.kafka import Publisher, Watcher

pytestmark = pytest.mark.e2e

Samples = list[tuple[str, dict[str, str], float]]


def scrape(service: str) -> Samples:
    port = TEST_METRICS_PORT_BASE + 1 + SERVICES.index(service)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [
        (s.name, dict(s.labels), s.value) for family in text_string_to_metric_families(text) for s in family.samples
    ]


async def scrape_all() -> list[Samples]:
    return [await asyncio.to_thread(scrape, service) for service in SERVICES]


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for n, ls, v in samples if n == name and all(ls.get(k) == want for k, want in labels.items()))


def series(samples: Samples, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    return [(ls, v) for n, ls, v in samples if n == name and all(ls.get(k) == want for k, want in labels.items())]


async def eventually(service: str, holds: Callable[[Samples], bool]) -> Samples:
    """Scrape until the condition holds (the gauges read the database every 0.5 s here); the last scrape."""
    samples = await asyncio.to_thread(scrape, service)
    for _ in range(60):
        if holds(samples):
            break
        await asyncio.sleep(0.5)
        samples = await asyncio.to_thread(scrape, service)
    return samples


async def test_each_metric_is_there_with_sensible_values_after_traffic(platform: Platform) -> None:
    completed = "messaging_process_duration_seconds_count"
    ingress = {"messaging_consumer_group_name": "wallet.ingress.enrollment.v1", "message_type": "account.credited"}
    before = await asyncio.to_thread(scrape, "wallet")
    dead_before = sum(total(s, "medaid_dead_letters_total") for s in await scrape_all())

    person = await enrolled(platform, "440300")
    msg = credit("440300", person, "25.00")
    async with (
        Watcher(platform.settings.kafka_bootstrap, list(PROVINCE_TOPICS)) as w,
        Publisher(platform.settings.kafka_bootstrap) as pub,
    ):
        await pub.send("ingress.enrollment.v1", msg, key=person)
        assert (await w.result_for(msg["msgid"]))["status"] == "completed"
        await pub.send("ingress.enrollment.v1", msg, key=person)  # again: answered as a repeat
        await w.wait_for(lambda r: r.value.get("body", {}).get("omsgid") == msg["msgid"], count=2)
        await pub.send("ingress.enrollment.v1", b"\x00 not an envelope", key=person)  # dead-lettered, nobody to answer

    def wallet_settled(s: Samples) -> bool:
        return (
            total(s, completed, outcome="completed", **ingress)
            > total(before, completed, outcome="completed", **ingress)
            and total(s, completed, outcome="repeat", **ingress) > total(before, completed, outcome="repeat", **ingress)
            and total(s, "kafka_consumergroup_lag", consumergroup="wallet.ingress.enrollment.v1") == 0
            and total(s, "medaid_outbox_backlog_messages") == 0
        )

    wallet = await eventually("wallet", wallet_settled)
    assert wallet_settled(wallet), "the credit, its repeat, no lag and an empty outbox"

    # processing durations per type and outcome: a histogram with positive, sub-minute times
    assert 0 < total(wallet, "messaging_process_duration_seconds_sum", outcome="completed", **ingress) < 60
    # lag per group, topic and partition, in records and in seconds, as kafka_exporter names them
    lags = series(wallet, "kafka_consumergroup_lag", consumergroup="wallet.ingress.enrollment.v1")
    assert {ls["partition"] for ls, _ in lags} == {str(p) for p in range(6)}
    assert {ls["topic"] for ls, _ in lags} == {"ingress.enrollment.v1"}
    assert total(wallet, "kafka_consumergroup_group_lag_seconds", consumergroup="wallet.ingress.enrollment.v1") == 0
    assert total(wallet, "kafka_topic_partition_current_offset", topic="ingress.enrollment.v1") > 0
    assert total(wallet, "kafka_consumergroup_current_offset", consumergroup="wallet.ingress.enrollment.v1") > 0
    # what the relay published, the outbox, the sagas, the books and the clock
    assert total(wallet, "messaging_client_sent_messages_total", messaging_destination_name="wallet.events.v1") > 0
    assert total(wallet, "medaid_outbox_oldest_age_seconds") == 0
    assert total(wallet, "medaid_outbox_failed_messages") == 0
    assert {ls["state"] for ls, _ in series(wallet, "medaid_sagas", saga="transfer")} == {
        "pending",
        "completed",
        "returned",
    }
    assert total(wallet, "medaid_saga_oldest_age_seconds", saga="transfer", state="pending") >= 0
    assert total(wallet, "medaid_books_balanced") == 1
    assert series(wallet, "medaid_books_check_offenders")
    assert not total(wallet, "medaid_books_check_offenders")
    offset = total(wallet, "medaid_business_clock_offset_seconds")
    assert offset == pytest.approx(platform.settings.clock_offset_seconds, abs=1e-3)

    # the dead letter, by DLQ topic and reason, in whichever service's relay published it
    dead_after = 0.0
    for _ in range(60):
        scraped = await scrape_all()
        dead_after = sum(total(s, "medaid_dead_letters_total") for s in scraped)
        if dead_after > dead_before:
            break
        await asyncio.sleep(0.5)
    assert dead_after > dead_before
    reasons = [ls for s in scraped for ls, v in series(s, "medaid_dead_letters_total") if v > 0]
    assert any(ls["messaging_destination_name"] == "ingress.enrollment.v1.dlq" and ls["reason_code"] for ls in reasons)

    # every service serves its own, each with its sagas and (where it keeps books) its books
    for service, saga in (("relationship", "relationship"), ("payment", "settlement"), ("clearing", "clearing_month")):
        samples = await eventually(service, functools.partial(has_sagas_and_books, saga=saga))
        assert total(samples, "medaid_service_info", service=service) == 1
        assert series(samples, "medaid_sagas", saga=saga)
        assert total(samples, "medaid_business_clock_offset_seconds") == pytest.approx(offset, abs=1e-3)
        assert total(samples, "process_resident_memory_bytes") > 0
        if service != "relationship":
            assert total(samples, "medaid_books_balanced") == 1
    relationship = await asyncio.to_thread(scrape, "relationship")
    assert total(relationship, "medaid_sagas", saga="relationship", state="established") >= 0
    assert total(relationship, completed, message_type="enrollment.changed", outcome="completed") > 0


def has_sagas(samples: Samples, saga: str) -> bool:
    return bool(series(samples, "medaid_sagas", saga=saga))


def has_sagas_and_books(samples: Samples, saga: str) -> bool:
    """Its sagas, and balanced books where it keeps them: one check is "no settlement waits", which holds once
    the platform is quiet (an earlier test's last payment may still be on its way on a busy machine)."""
    keeps_books = bool(series(samples, "medaid_books_balanced"))
    return has_sagas(samples, saga) and (not keeps_books or total(samples, "medaid_books_balanced") == 1)


async def test_the_stacks_prometheus_scrapes_every_service(platform: Platform) -> None:
    """What `make up` starts (deploy/local/prometheus.sh): Debian's Prometheus, every service a target, all up."""
    port = TEST_METRICS_PORT_BASE + 100
    env = {**platform.env, "PROMETHEUS_PORT": str(port), "MEDAID_METRICS_PORT_BASE": str(TEST_METRICS_PORT_BASE)}
    script = str(REPO / "deploy" / "local" / "prometheus.sh")
    started = await asyncio.to_thread(
        subprocess.run, [script, "start"], env=env, capture_output=True, text=True, check=False
    )
    assert started.returncode == 0, started.stderr
    assert "Prometheus on" in started.stderr, "installed and started (CI installs it from apt)"
    try:
        health: dict[str, str] = {}
        values: list[Any] = []
        for _ in range(120):
            targets = await asyncio.to_thread(get_json, f"http://127.0.0.1:{port}/api/v1/targets")
            health = {t["labels"]["job"]: t["health"] for t in targets["data"]["activeTargets"]}
            query = await asyncio.to_thread(get_json, f"http://127.0.0.1:{port}/api/v1/query?query=medaid_service_info")
            values = query["data"]["result"]
            if all(health.get(s) == "up" for s in SERVICES) and len(values) == len(SERVICES):
                break
            await asyncio.sleep(0.5)
        assert {s: health.get(s) for s in SERVICES} == dict.fromkeys(SERVICES, "up")
        assert sorted(v["metric"]["service"] for v in values) == sorted(SERVICES)
    finally:
        await asyncio.to_thread(subprocess.run, [script, "stop"], env=env, capture_output=True, check=False)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return json.loads(response.read())
