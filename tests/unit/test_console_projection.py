"""What the console's projector and sampler cost (issue 30), with fakes: a poll is grouped so that each table is
written with one statement whatever its number of records (`batch`, `Projector._apply`), and a scrape parses only
the series the pages show, as prometheus_client's parser reads them."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiokafka import TopicPartition
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from services.console.adapters.sampler import SHOWN, samples_of
from services.console.domain.model import (
    TRANSFER_STATES,
    Answer,
    MonthChange,
    SagaChange,
    StatementAnswer,
    Step,
    batch,
)
from services.console.projector import Projector

AT = datetime(2026, 12, 5, 10, tzinfo=UTC)
CONSOLE = Path(__file__).resolve().parents[2] / "services" / "console"


def saga(saga_id: str, state: str, second: int = 0) -> SagaChange:
    return SagaChange("transfer", saga_id, state, TRANSFER_STATES[state], AT + timedelta(seconds=second))


@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(list(TRANSFER_STATES))), max_size=30))
def test_a_sagas_changes_are_spread_over_rounds_in_their_order_one_per_round(picks: list[tuple[str, str]]) -> None:
    changes = [saga(s, state, i) for i, (s, state) in enumerate(picks)]
    rounds = batch(changes).saga_rounds
    for r in rounds:
        assert r, "no empty round"
        assert len({c.saga_id for c in r}) == len(r), "a row is updated once per statement"
    for s in "abc":
        assert [c for r in rounds for c in r if c.saga_id == s] == [c for c in changes if c.saga_id == s]
    assert len(rounds) == max((sum(1 for c in changes if c.saga_id == s) for s in "abc"), default=0)


def test_months_add_up_and_keep_the_last_closing_figures_given() -> None:
    closed = AT + timedelta(days=1)
    b = batch(
        [
            MonthChange("202611", items=1),
            MonthChange("202611", closed_at=AT, statements=3, gross=Decimal("10.00")),
            MonthChange("202611", items=1),
            MonthChange("202611", closed_at=closed, statements=None, gross=Decimal("12.00")),
            MonthChange("202612", items=1),
        ]
    )
    assert b.months == [
        MonthChange("202611", items=2, closed_at=closed, statements=3, gross=Decimal("12.00")),
        MonthChange("202612", items=1),
    ]


def test_steps_and_answers_keep_the_first_statement_answers_the_last_answer() -> None:
    first = Step("transfer", "t1", AT, "wallet.quota-held", "m1", "wallet.events.v1", "held")
    again = Step("transfer", "t1", AT, "wallet.quota-held", "m1", "wallet.events.v1", "other")
    answer = Answer("a1", "o1", "x", "ok", None, "province.440000.notifications.v1", None, None, AT)
    told = StatementAnswer("st1", "202611", "440000", "dispute", "wrong", AT)
    retold = StatementAnswer("st1", "202612", "110102", "accept", None, AT + timedelta(hours=1))
    b = batch([first, answer, again, answer, told, retold])
    assert b.steps == [first]
    assert b.answers == [answer]
    assert b.statement_answers == [StatementAnswer("st1", "202611", "440000", "accept", None, retold.at)]


class FakeConn:
    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append((sql, args))
        return []

    async def execute(self, sql: str, *args: Any) -> str:
        self.statements.append((sql, args))
        return ""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


class FakePool:
    def __init__(self) -> None:
        self.conn = FakeConn()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConn]:
        yield self.conn


def record(topic: str, offset: int, type_name: str, body: dict[str, Any]) -> Any:
    envelope = {"msgid": f"{topic}-{offset}", "type": type_name, "sent_at": AT.isoformat(), "body": body}
    return SimpleNamespace(topic=topic, offset=offset, value=json.dumps(envelope).encode())


@pytest.mark.parametrize("sagas", [1, 50, 400])
async def test_a_poll_costs_a_few_statements_whatever_its_number_of_records(sagas: int) -> None:
    pool = FakePool()
    projector = Projector(cast(Any, None), cast(Any, pool))
    wallet, province = TopicPartition("wallet.events.v1", 0), TopicPartition("province.440000.notifications.v1", 1)
    held = [
        record("wallet.events.v1", i, "wallet.quota-held", {"transfer_id": f"t{i}", "amount": "1.00"})
        for i in range(sagas)
    ]
    granted = [
        record("wallet.events.v1", sagas + i, "wallet.quota-granted", {"transfer_id": f"t{i}"}) for i in range(sagas)
    ]
    answers = [
        record(
            "province.440000.notifications.v1",
            i,
            "request.result",
            {"omsgid": f"r{i}", "otype": "transfer.request", "status": "accepted", "transfer_id": f"t{i}"},
        )
        for i in range(sagas)
    ]
    unshown = [record("wallet.events.v1", 2 * sagas + i, "wallet.wallet-opened", {"psn_no": "p"}) for i in range(3)]
    await projector._apply({wallet: [*held, *granted, *unshown], province: answers})

    sql = [" ".join(s.split()) for s, _ in pool.conn.statements]
    assert sql[0].startswith("SELECT topic, partition, next_offset FROM read_positions")
    writes = [s.split(" (")[0] for s in sql[1:]]
    # two rounds of sagas (held, then granted), then each table once
    assert writes == [
        "INSERT INTO sagas AS s",
        "INSERT INTO sagas AS s",
        "INSERT INTO saga_steps",
        "INSERT INTO answers",
        "INSERT INTO read_positions AS r",
    ]
    args = [a for _, a in pool.conn.statements[1:]]
    assert args[0][2] == ["pending"] * sagas
    assert args[1][2] == ["completed"] * sagas
    assert len(args[2][0]) == 3 * sagas  # a step per wallet event and per answer that names its saga
    assert len(args[3][0]) == sagas
    assert sorted(zip(args[4][0], args[4][1], args[4][2], strict=True)) == [
        ("province.440000.notifications.v1", 1, sagas),
        ("wallet.events.v1", 0, 2 * sagas + 3),
    ]
    assert projector.applied == 6 * sagas
    assert projector.skipped == 0


METRICS = """# HELP kafka_consumergroup_lag lag
# TYPE kafka_consumergroup_lag gauge
kafka_consumergroup_lag{consumergroup="wallet",topic="wallet.ingress.v1",partition="0"} 3.0
kafka_consumergroup_lag{consumergroup="wallet",topic="wallet.ingress.v1",partition="1"} 0.0
# TYPE messaging_process_duration_seconds histogram
messaging_process_duration_seconds_bucket{le="0.005",topic="wallet.ingress.v1"} 1.0
messaging_process_duration_seconds_bucket{le="+Inf",topic="wallet.ingress.v1"} 2.0
messaging_process_duration_seconds_count{topic="wallet.ingress.v1"} 2.0
# TYPE medaid_dead_letters_total counter
medaid_dead_letters_total{topic="wallet.ingress.v1",verdict="key \\"revoked\\"\\\\x\\n"} 4.0
medaid_dead_letters_created{topic="wallet.ingress.v1"} 1.7e+09
medaid_books_balanced 1.0
medaid_business_clock_offset_seconds -3600.5
medaid_fund_position_yuan{admdvs="440000",side="a, b={c}"} 1.25e+06 1700000000000
process_resident_memory_bytes 8.4e+07
"""


def test_a_scrape_reads_the_shown_series_as_prometheus_client_does() -> None:
    full = [(s.name, dict(s.labels), s.value) for f in text_string_to_metric_families(METRICS) for s in f.samples]
    assert samples_of(METRICS) == [x for x in full if x[0] in SHOWN]
    assert len(samples_of(METRICS)) == 7


@pytest.mark.parametrize("text", ["<html>not metrics</html>\n", "medaid_books_balanced{x=1} 1\n"])
def test_text_that_is_not_prometheus_still_fails_the_scrape(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - what the parser raises, whatever its message
        samples_of(text)


def test_every_series_a_page_reads_is_parsed() -> None:
    asked = {
        name
        for path in CONSOLE.rglob("*.py")
        for name in re.findall(r"\.(?:total|series)\(\s*\"([a-z_:]+)\"", path.read_text())
    }
    assert asked
    assert asked <= SHOWN, asked - SHOWN
