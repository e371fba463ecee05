"""A real cluster (issue 12): three KRaft nodes (`BROKERS=3`), topics with 3 replicas and min.insync.replicas 2, the
four services on it, and one broker SIGKILLed under load. No answer is lost, none is doubled, the books balance.

The cluster is made by the project's own script (deploy/local/kafka.sh), next to the test stack, on its own ports
and state folder; it shares the test stack's PostgreSQL (a database of its own) and passwords."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from services.wallet.adapters.books import check_books
from shared.contracts.topics import PROVINCE_TOPICS
from shared.db.pool import connect
from shared.messaging.security import secrets_path
from shared.settings import PlatformSettings
from tests.conftest import new_database
from tests.e2e.test_platform import certno, enrolment, psn_no
from tests.support.infra import REPO, TEST_KAFKA_PORT, TEST_METRICS_PORT_BASE, TEST_STATE_DIR, Infra, local_script_env
from tests.support.kafka import SHANGHAI, Publisher, Watcher, envelope
from tools.acls import apply as apply_acls
from tools.acls import ensure_secrets, load_principals
from tools.topics import ensure_topics, load_manifest

pytestmark = pytest.mark.e2e

CLUSTER_DIR = TEST_STATE_DIR.parent / "test-cluster"
CLUSTER_PORT = TEST_KAFKA_PORT + 100  # nodes on +100, +102, +104; their controllers one above each
REGION = "440300"
PEOPLE, CREDITS_EACH = 12, 20


@dataclass
class Cluster:
    settings: PlatformSettings
    script_env: dict[str, str]
    service_env: dict[str, str]

    def kafka(self, *args: str) -> None:
        run(REPO / "deploy" / "local" / "kafka.sh", *args, env=self.script_env)

    def services(self, *args: str) -> None:
        run(REPO / "deploy" / "local" / "services.sh", *args, env=self.service_env)


def run(script: Any, *args: str, env: dict[str, str], check: bool = True) -> None:
    proc = subprocess.run([str(script), *args], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 or not check, f"{script} {args}: {proc.stdout}\n{proc.stderr}"


@pytest.fixture
async def cluster(infra: Infra) -> AsyncIterator[Cluster]:
    # The cluster is always the project's own script's (java and maven, as the local stack), whatever gave the rest.
    shutil.rmtree(CLUSTER_DIR, ignore_errors=True)
    script_env = {
        **local_script_env(),
        "MEDAID_STATE_DIR": str(CLUSTER_DIR),
        "KAFKA_PORT": str(CLUSTER_PORT),
        "BROKERS": "3",
        "MEDAID_SECRETS_FILE": infra.secrets_file,  # the same passwords as the test stack
    }
    bootstrap = ",".join(f"127.0.0.1:{CLUSTER_PORT + 2 * i}" for i in range(3))
    settings = (await new_database(infra, "cluster")).model_copy(
        update={"kafka_bootstrap": bootstrap, "kafka_replication_factor": 3, "kafka_min_insync_replicas": 2}
    )
    service_env = {
        **os.environ,
        "MEDAID_STATE_DIR": str(CLUSTER_DIR),
        "MEDAID_KAFKA_BOOTSTRAP": bootstrap,
        "MEDAID_PG_HOST": settings.pg_host,
        "MEDAID_PG_PORT": str(settings.pg_port),
        "MEDAID_PG_DATABASE": settings.pg_database,
        "MEDAID_LOG_FORMAT": "json",
        "MEDAID_OUTBOX_POLL_SECONDS": "0.2",
        "MEDAID_METRICS_PORT_BASE": str(TEST_METRICS_PORT_BASE + 30),
    }
    for own in ("MEDAID_CLOCK_OFFSET_SECONDS", "MEDAID_KAFKA_USERNAME", "MEDAID_KAFKA_PASSWORD"):
        service_env.pop(own, None)  # real time, as the envelopes below; each service is its own principal
    c = Cluster(settings, script_env, service_env)
    try:
        c.kafka("start")
        await ensure_topics(bootstrap, load_manifest(), settings)
        principals = load_principals(local=True)
        await apply_acls(settings, principals, ensure_secrets(secrets_path(settings), principals))
        c.services("start")
        yield c
    finally:
        run(REPO / "deploy" / "local" / "services.sh", "stop", env=service_env, check=False)
        run(REPO / "deploy" / "local" / "kafka.sh", "stop", env=script_env, check=False)
        if os.environ.get("MEDAID_TEST_KEEP_INFRA") != "1":
            shutil.rmtree(CLUSTER_DIR, ignore_errors=True)


def credit(person: str, amount: str) -> dict[str, Any]:
    body = {"psn_no": person, "amount": amount, "period": "202611", "kind": "contribution"}
    return envelope("account.credited", body, sender=REGION, sent_at=datetime.now(SHANGHAI))


async def test_a_broker_killed_under_load_loses_no_answer_and_the_books_balance(cluster: Cluster) -> None:
    bootstrap = cluster.settings.kafka_bootstrap
    people = [psn_no(REGION) for _ in range(PEOPLE)]
    async with Watcher(bootstrap, list(PROVINCE_TOPICS)) as w, Publisher(bootstrap) as pub:
        enrolments = [enrolment(REGION, p, certno(REGION)) for p in people]
        for person, m in zip(people, enrolments, strict=True):
            m["sent_at"] = datetime.now(SHANGHAI).isoformat(timespec="seconds")
            await pub.send("ingress.enrollment.v1", m, key=person)
        for m in enrolments:
            assert (await w.result_for(m["msgid"], timeout=120))["status"] == "completed"

        credits = [(p, credit(p, f"{n}.00")) for n in range(1, CREDITS_EACH + 1) for p in people]
        third = len(credits) // 3
        for person, m in credits[:third]:
            await pub.send("ingress.enrollment.v1", m, key=person)
        await w.result_for(credits[third // 2][1]["msgid"], timeout=120)  # the platform is busy with them
        cluster.kafka("kill-node", "1")  # the first bootstrap address, and most likely the active controller
        assert not (CLUSTER_DIR / "pids" / "kafka.pid").exists()
        for person, m in credits[third:]:
            await pub.send("ingress.enrollment.v1", m, key=person)
        answers = [await w.result_for(m["msgid"], timeout=180) for _, m in credits]
        await asyncio.sleep(2.0)  # an answer published twice would be here by now
        for _, m in credits:
            assert len({r.value["msgid"] for r in w.results_for(m["msgid"])}) == 1, "one answer per request"

    assert {a["status"] for a in answers} == {"completed"}
    each = Decimal(sum(range(1, CREDITS_EACH + 1)))
    conn = await connect(cluster.settings.dsn("wallet"))
    try:
        balances = await conn.fetch(
            "SELECT credits_posted - debits_posted - debits_pending AS b FROM accounts WHERE id = ANY($1::text[])",
            [f"personal:{p}" for p in people],
        )
        assert sorted(Decimal(r["b"]) for r in balances) == [each] * PEOPLE
        assert not any((await check_books(conn)).values())
    finally:
        await conn.close()
