"""The consumer kernel on a real Kafka broker and PostgreSQL: idempotency, crash safety, DLQ."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.contracts.topics import EVENT_TOPICS, province_topic
from shared.messaging.consumer import Outcome
from shared.messaging.messages import Outgoing
from shared.settings import PlatformSettings
from tests.integration.harness import Harness, build, close, transfer_body
from tests.support.kafka import Publisher, Watcher, client, envelope

pytestmark = pytest.mark.integration
CERTNO = "610102195503031234"
SENDER = "440300"


@pytest.fixture
async def harness(settings: PlatformSettings) -> AsyncIterator[Harness]:
    h = await build(settings)
    await h.start_relay()
    yield h
    await close(h)


@pytest.fixture
async def bare_harness(settings: PlatformSettings) -> AsyncIterator[Harness]:
    """No subscriber and no relay: the test drives the kernel and the relay itself."""
    h = await build(settings, subscribe=False)
    yield h
    await close(h)


def watch(h: Harness, *extra: str) -> Watcher:
    return Watcher(h.settings.kafka_bootstrap, [province_topic(SENDER), h.dlq, h.events_topic, *extra])


async def fetch(bootstrap: str, topic: str, count: int) -> list[Any]:
    c = AIOKafkaConsumer(topic, **client(bootstrap), group_id=None, auto_offset_reset="earliest")
    await c.start()
    try:
        got: list[Any] = []
        while len(got) < count:
            for recs in (await c.getmany(timeout_ms=1000)).values():
                got.extend(recs)
        return got
    finally:
        await c.stop()


async def test_message_delivered_twice_has_one_effect_and_the_same_answer(harness: Harness) -> None:
    msg = envelope("transfer.requested", transfer_body())
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, msg, key="44030000000000012345")
        await pub.send(harness.source_topic, msg, key="44030000000000012345")
        results = await w.wait_for(
            lambda r: r.value.get("type") == "request.result" and r.value["body"]["omsgid"] == msg["msgid"], count=2
        )
        await asyncio.sleep(0.5)
        assert len(w.results_for(msg["msgid"])) == 2
        events = w.matching(lambda r: r.topic == harness.events_topic)
    first, second = (r.value["body"] for r in results)
    assert first == second
    assert first["status"] == "accepted"
    assert first["transfer_id"]
    assert results[1].headers.get("repeat") == "1"
    assert results[0].value["msgid"] != results[1].value["msgid"], "each notification has its own msgid"
    assert await harness.effects(msg["msgid"]) == 1
    assert len(events) == 1, "the event of the effect is published once"


async def test_redelivered_record_has_no_effect_even_when_the_offset_commit_was_lost(bare_harness: Harness) -> None:
    h = bare_harness
    msg = envelope("transfer.requested", transfer_body())
    async with Publisher(h.settings.kafka_bootstrap) as pub:
        await pub.send(h.source_topic, msg, key="k")
    [record] = await fetch(h.settings.kafka_bootstrap, h.source_topic, 1)
    assert await h.consumer.process(record) is Outcome.PROCESSED
    # The process died before committing the Kafka offset: the broker delivers the record again.
    assert await h.consumer.process(record) is Outcome.REDELIVERED
    assert await h.effects(msg["msgid"]) == 1
    assert await h.unpublished() == 2, "one result and one event, not two of each"


async def test_crash_between_commit_and_publish_loses_nothing(bare_harness: Harness) -> None:
    h = bare_harness
    msg = envelope("transfer.requested", transfer_body())
    async with watch(h) as w, Publisher(h.settings.kafka_bootstrap) as pub:
        await pub.send(h.source_topic, msg, key="k")
        [record] = await fetch(h.settings.kafka_bootstrap, h.source_topic, 1)
        assert await h.consumer.process(record) is Outcome.PROCESSED
        # The state is committed; the relay that would publish died with the process.
        await asyncio.sleep(1.0)
        assert w.results_for(msg["msgid"]) == []
        assert await h.unpublished() == 2
        # After the restart a new relay publishes what was committed.
        await h.start_relay()
        await w.result_for(msg["msgid"])
        await w.wait_for(lambda r: r.topic == h.events_topic)
        assert await h.published_all() == 0
        await asyncio.sleep(0.5)
        assert len(w.results_for(msg["msgid"])) == 1


async def test_crash_between_publish_and_marking_republishes_with_the_same_msgid(bare_harness: Harness) -> None:
    h = bare_harness
    msg = envelope("transfer.requested", transfer_body())
    async with watch(h) as w, Publisher(h.settings.kafka_bootstrap) as pub:
        await pub.send(h.source_topic, msg, key="k")
        [record] = await fetch(h.settings.kafka_bootstrap, h.source_topic, 1)
        await h.consumer.process(record)
        crashing = h.new_relay()

        async def crash() -> None:
            raise RuntimeError("killed after the broker acked, before the rows were marked")

        crashing.after_publish_hook = crash
        with pytest.raises(RuntimeError):
            await crashing.flush_once()
        assert await h.unpublished() == 2
        await h.start_relay()
        results = await w.wait_for(
            lambda r: r.value.get("type") == "request.result" and r.value["body"]["omsgid"] == msg["msgid"], count=2
        )
    assert results[0].value == results[1].value, "a republished message is the same message, same msgid"
    assert await h.published_all() == 0


async def test_poison_message_goes_to_the_dlq_with_its_reason_and_the_partition_goes_on(harness: Harness) -> None:
    harness.steering.poison_names.add("POISON")
    poison = envelope("transfer.requested", transfer_body(to_name="POISON"))
    good = envelope("transfer.requested", transfer_body())
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, poison, key="same-key")
        await pub.send(harness.source_topic, good, key="same-key")
        rejected = await w.result_for(poison["msgid"])
        accepted = await w.result_for(good["msgid"])
        [dead] = await w.wait_for(lambda r: r.topic == harness.dlq)
    assert rejected["status"] == "rejected"
    assert rejected["reason_code"] == "PROCESSING_FAILED"
    assert accepted["status"] == "accepted"
    record = dead.value["body"]
    assert record["reason_code"] == "PROCESSING_FAILED"
    assert "ValueError: cannot handle POISON" in record["error"]
    assert record["attempts"] == 3
    assert record["msgid"] == poison["msgid"]
    assert record["source"]["offset"] == 0
    assert CERTNO not in json.dumps(dead.value, ensure_ascii=False), "no certno in clear in the DLQ"
    assert record["payload"]["body"]["to_certno"] == "610102********1234"
    assert harness.steering.calls == 4, "three attempts for the poison message, one for the good one"
    # Both offsets get committed (in the committer's next batch): nothing was skipped, nothing waits for ever.
    group = f"wallet.{harness.source_topic}"
    probe = AIOKafkaConsumer(**client(harness.settings.kafka_bootstrap), group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        committed = None
        for _ in range(100):
            committed = await probe.committed(TopicPartition(harness.source_topic, 0))
            if committed == 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await probe.stop()
    assert committed == 2


async def accepted_without_a_dead_letter(harness: Harness) -> None:
    """A transfer request sent once is accepted, takes effect once, and leaves no dead letter behind."""
    msg = envelope("transfer.requested", transfer_body())
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, msg, key="k")
        result = await w.result_for(msg["msgid"])
        await asyncio.sleep(0.3)
        assert w.matching(lambda r: r.topic == harness.dlq) == []
    assert result["status"] == "accepted"
    assert await harness.effects(msg["msgid"]) == 1


async def test_transient_failures_are_retried_not_dead_lettered(harness: Harness) -> None:
    harness.steering.transient_failures = 3
    await accepted_without_a_dead_letter(harness)
    assert harness.steering.calls == 4


async def test_unreadable_message_goes_to_the_dlq_with_certno_masked(harness: Harness) -> None:
    raw = f"not json at all {CERTNO}".encode()
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, raw, key="k")
        [dead] = await w.wait_for(lambda r: r.topic == harness.dlq)
    record = dead.value["body"]
    assert record["reason_code"] == "INVALID_MESSAGE"
    assert record["reason"].startswith("value is not JSON")
    assert record["sender"] is None
    assert CERTNO not in json.dumps(dead.value)
    # no sender to have signed it: a digest of the record (ADR 0023), its head masked
    assert record["payload"]["digest"] is True
    assert "610102********1234" in record["payload"]["head"]


async def test_malformed_message_with_a_readable_sender_is_rejected_and_dead_lettered(harness: Harness) -> None:
    body = transfer_body()
    body["amount"] = 100.5  # a number, not a money string
    msg = envelope("transfer.requested", body)
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, msg, key="k")
        result = await w.result_for(msg["msgid"])
        [dead] = await w.wait_for(lambda r: r.topic == harness.dlq)
        # The same malformed message again: the same answer, one more DLQ record, still no effect.
        await pub.send(harness.source_topic, msg, key="k")
        await w.wait_for(lambda r: r.topic == harness.dlq, count=2)
        again = await w.wait_for(
            lambda r: r.value.get("type") == "request.result" and r.value["body"]["omsgid"] == msg["msgid"], count=2
        )
    assert result["status"] == "rejected"
    assert result["reason_code"] == "INVALID_MESSAGE"
    assert "amount" in result["reason"]
    assert again[1].value["body"] == result
    assert dead.value["body"]["msgid"] == msg["msgid"]
    assert await harness.effects() == 0


async def test_unknown_type_and_wrong_topic_are_rejected_by_the_topics_primary_service(harness: Harness) -> None:
    unknown = envelope("transfer.cancelled", {"transfer_id": "x"})
    misplaced = envelope("account.credited", {"psn_no": "1", "amount": "1.00", "period": "202611"})
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, unknown, key="k")
        await pub.send(harness.source_topic, misplaced, key="k")
        r1 = await w.result_for(unknown["msgid"])
        r2 = await w.result_for(misplaced["msgid"])
    assert (r1["status"], r1["reason_code"]) == ("rejected", "INVALID_MESSAGE")
    assert (r2["status"], r2["reason_code"]) == ("rejected", "WRONG_TOPIC")


async def test_transient_failures_do_not_count_towards_dead_lettering(harness: Harness) -> None:
    harness.steering.transient_failures = 2
    harness.steering.flaky_failures = 1
    await accepted_without_a_dead_letter(harness)


async def test_a_record_whose_headers_do_not_decode_still_reaches_the_kernel(harness: Harness) -> None:
    good = envelope("transfer.requested", transfer_body())
    producer = AIOKafkaProducer(**client(harness.settings.kafka_bootstrap))
    await producer.start()
    async with watch(harness) as w:
        try:
            await producer.send_and_wait(
                harness.source_topic,
                b'{"broken": ',
                key=b"k",
                headers=[("content-type", b"application/json"), ("x-origin", b"\xff\xfe"), ("x-empty", None)],
            )
            await producer.send_and_wait(
                harness.source_topic, json.dumps(good).encode(), key=b"k", headers=[("x-origin", b"\xc3\x28")]
            )
        finally:
            await producer.stop()
        [dead] = await w.wait_for(lambda r: r.topic == harness.dlq)
        assert (await w.result_for(good["msgid"]))["status"] == "accepted"
    assert dead.value["body"]["reason"].startswith("value is not JSON")


async def test_a_msgid_with_control_characters_is_dead_lettered_not_echoed(harness: Harness) -> None:
    bad = envelope("transfer.requested", transfer_body(), msgid="4403\u0000evil")
    good = envelope("transfer.requested", transfer_body())
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        await pub.send(harness.source_topic, bad, key="k")
        await pub.send(harness.source_topic, good, key="k")
        [dead] = await w.wait_for(lambda r: r.topic == harness.dlq)
        assert (await w.result_for(good["msgid"]))["status"] == "accepted"
    assert dead.value["body"]["msgid"] is None
    assert dead.value["body"]["reason_code"] == "INVALID_MESSAGE"


async def test_an_outbox_row_the_broker_refuses_is_set_aside_and_the_rest_published(bare_harness: Harness) -> None:
    h = bare_harness
    too_large = Outgoing(h.events_topic, "k", "test.too-large", {"blob": "x" * 2_000_000})
    fine = Outgoing(h.events_topic, "k", "test.fine", {"n": 1})
    async with h.pool.acquire() as conn, conn.transaction():
        await h.consumer.outbox.enqueue(conn, [too_large, fine])
    async with watch(h) as w:
        await h.start_relay()
        [published] = await w.wait_for(lambda r: r.topic == h.events_topic)
    assert published.value["type"] == "test.fine"
    failure = None
    for _ in range(300):  # the relay records the failure after the batch's acks: the fine row may be seen first
        async with h.pool.acquire() as conn:
            failure = await conn.fetchval("SELECT failure FROM outbox WHERE type = 'test.too-large'")
        if failure is not None:
            break
        await asyncio.sleep(0.1)
    assert failure is not None
    assert "MessageSizeTooLarge" in failure
    assert await h.unpublished() == 0


async def test_no_content_can_stop_a_partition_and_a_readable_sender_gets_one_rejection(harness: Harness) -> None:
    """Issue 10: lone surrogates, NULs, deep nesting, infinity, not-an-object, invalid UTF-8, a huge number; each
    is dead-lettered at once (not retried), the one whose sender and msgid can be read is rejected once, and a good
    message behind them on the same partition is answered."""
    answerable = json.dumps(envelope("transfer.requested", transfer_body(to_name="\ud800"))).encode()  # ascii escape
    hostile = [
        b'{"msgid": "\\ud800", "type": "transfer.requested", "sender": "440300", "body": {}}',
        answerable,
        b"[" * 5000,
        b'{"a":' * 900 + b"1" + b"}" * 900,
        b'{"msgid": "x1", "type": "transfer.requested", "sender": "440300", "body": {"amount": 1e309}}',
        b'{"msgid": "x2", "type": "transfer.requested", "sender": "440300", "body": {"to_name": "a\\u0000"}}',
        b"\xff\xfe\x00 " + CERTNO.encode(),
        b"9" * 5000,
        b"[1, 2, 3]",
    ]
    good = envelope("transfer.requested", transfer_body())
    async with watch(harness) as w, Publisher(harness.settings.kafka_bootstrap) as pub:
        for raw in hostile:
            await pub.send(harness.source_topic, raw, key="k")
        await pub.send(harness.source_topic, good, key="k")
        assert (await w.result_for(good["msgid"]))["status"] == "accepted"
        dead = await w.wait_for(lambda r: r.topic == harness.dlq, count=len(hostile))
        rejected = await w.result_for(json.loads(answerable)["msgid"])
        await asyncio.sleep(0.5)
        assert len(w.matching(lambda r: r.topic == harness.dlq)) == len(hostile), "one dead letter each"
        answers = w.matching(lambda r: r.value.get("type") == "request.result")
    assert (rejected["status"], rejected["reason_code"]) == ("rejected", "INVALID_MESSAGE")
    assert "surrogate" in rejected["reason"]
    assert sorted(a.value["body"]["omsgid"] for a in answers) == sorted(
        [good["msgid"], json.loads(answerable)["msgid"], "x1", "x2"]
    ), "every readable sender answered exactly once"
    assert all(d.value["body"]["attempts"] == 1 for d in dead), "content is never retried"
    assert all(CERTNO not in json.dumps(d.value, ensure_ascii=False) for d in dead)
    assert harness.steering.calls == 1, "only the good message reached the handler"


async def test_a_replayed_dead_letter_gets_the_same_answer_and_no_second_effect(harness: Harness) -> None:
    from tools import dlq

    harness.steering.poison_names.add("POISON")
    poison = envelope("transfer.requested", transfer_body(to_name="POISON"))
    bootstrap = harness.settings.kafka_bootstrap
    async with watch(harness) as w, Publisher(bootstrap) as pub:
        await pub.send(harness.source_topic, poison, key="k")
        first = await w.result_for(poison["msgid"])
        [dead] = await w.wait_for(lambda r: r.topic == harness.dlq)
        letters = await dlq.read_dead_letters(harness.settings, harness.dlq)
        assert [(d.offset, d.reason_code, d.msgid) for d in letters] == [
            (dead.offset, "PROCESSING_FAILED", poison["msgid"])
        ]
        harness.steering.poison_names.clear()  # the cause is fixed
        assert dlq.select(letters, _replay_args()) == [], "answered already: not replayed unless asked"
        assert dlq.select(letters, _replay_args(include_answered=True)) == letters
        assert await dlq.replay(harness.settings, harness.dlq, letters, dry_run=False) == 0
        again = await w.wait_for(
            lambda r: r.value.get("type") == "request.result" and r.value["body"]["omsgid"] == poison["msgid"], count=2
        )
    assert again[1].value["body"] == first, "the inbox answers the replay as it answered the original"
    assert await harness.effects() == 0
    assert harness.steering.calls == 3, "the replay never reached the handler again"


async def test_a_recreated_topics_new_records_are_processed_not_skipped_as_redeliveries(bare_harness: Harness) -> None:
    """Issue 10: after a topic is recreated (offsets from 0 again), its new records are newer than anything
    processed there: processed, and the position error logged; a true redelivery is still skipped."""
    import dataclasses

    h = bare_harness
    first, second, after = (envelope("transfer.requested", transfer_body()) for _ in range(3))
    async with Publisher(h.settings.kafka_bootstrap) as pub:
        await pub.send(h.source_topic, first, key="k")
        await pub.send(h.source_topic, second, key="k")
    one, two = await fetch(h.settings.kafka_bootstrap, h.source_topic, 2)
    assert await h.consumer.process(one) is Outcome.PROCESSED
    assert await h.consumer.process(two) is Outcome.PROCESSED
    assert await h.consumer.process(one) is Outcome.REDELIVERED, "the same record again: no second effect"
    # the topic recreated: offset 0 again, a record written after everything processed so far
    reborn = dataclasses.replace(
        one, value=json.dumps(after).encode(), timestamp=two.timestamp + 60_000, offset=one.offset
    )
    assert await h.consumer.process(reborn) is Outcome.PROCESSED
    assert await h.effects(after["msgid"]) == 1


def _replay_args(**flags: bool) -> Any:
    import argparse

    return argparse.Namespace(
        command="replay",
        offset=[],
        start=None,
        end=None,
        reason=None,
        include_answered=flags.get("include_answered", False),
        include_invalid=flags.get("include_invalid", False),
    )


async def test_a_batch_commits_once_and_a_failing_record_in_it_ends_as_it_would_alone(bare_harness: Harness) -> None:
    """ADR 0018: a poll's records of one partition go through one transaction. A record that fails rolls the batch
    back; the records before it commit again, it is retried alone and dead-lettered, the rest go on; a repeat
    inside the same batch sees the first one's answer; the whole batch again is all redeliveries."""
    h = bare_harness
    h.steering.poison_names.add("POISON")
    first, poison, second = (
        envelope("transfer.requested", transfer_body(to_name=name)) for name in ("王秀英", "POISON", "李娜")
    )
    async with Publisher(h.settings.kafka_bootstrap) as pub:
        for msg in (first, poison, second, first):
            await pub.send(h.source_topic, msg, key="k")
    records = await fetch(h.settings.kafka_bootstrap, h.source_topic, 4)
    outcomes = await h.consumer.process_batch(records)
    assert outcomes == [Outcome.PROCESSED, Outcome.DEAD_LETTERED, Outcome.PROCESSED, Outcome.REPEAT]
    assert (await h.effects(first["msgid"]), await h.effects(second["msgid"]), await h.effects()) == (1, 1, 2)
    # first (batch, rolled back), poison (batch), first again, poison twice alone, second (next batch)
    assert h.steering.calls == 6, "three attempts for the poison record, as alone"
    assert await h.consumer.process_batch(records) == [Outcome.REDELIVERED] * 4, "the same batch again: no effect"
    assert await h.effects() == 2
    async with h.pool.acquire() as conn:
        statuses = dict(await conn.fetch("SELECT msgid, status FROM inbox WHERE type = 'transfer.requested'"))
    assert statuses == {first["msgid"]: "accepted", poison["msgid"]: "rejected", second["msgid"]: "accepted"}
    dead = await conn_count(h, "SELECT count(*) FROM outbox WHERE type = 'dlq.record'")
    assert dead == 1, "one dead letter: the poison record's"


async def test_a_batch_whose_database_fails_goes_on_one_record_at_a_time(bare_harness: Harness) -> None:
    """A failure of the infrastructure in a batch (here: the connection lost once) is not the records' fault:
    the batch is done again one record at a time, each retried without limit, nothing dead-lettered."""
    h = bare_harness
    h.steering.transient_failures = 1
    messages = [envelope("transfer.requested", transfer_body()) for _ in range(3)]
    async with Publisher(h.settings.kafka_bootstrap) as pub:
        for msg in messages:
            await pub.send(h.source_topic, msg, key="k")
    records = await fetch(h.settings.kafka_bootstrap, h.source_topic, 3)
    assert await h.consumer.process_batch(records) == [Outcome.PROCESSED] * 3
    assert await h.effects() == 3
    assert await conn_count(h, "SELECT count(*) FROM outbox WHERE type = 'dlq.record'") == 0


async def conn_count(h: Harness, sql: str) -> int:
    async with h.pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def test_an_answer_never_has_a_lower_outbox_id_than_the_events_written_with_it(bare_harness: Harness) -> None:
    """The relay publishes in id order and one of its batches can end between any two rows, so an answer
    enqueued before its events in the same call must still get the higher id (ADR 0012); a buffered block
    writes its rows when it ends, in the same order, and nothing when it fails."""
    h = bare_harness
    tag = uuid.uuid4().hex[:8]
    answer = Outgoing(province_topic(SENDER), "k", f"test.{tag}.answer", {"status": "completed"})
    events = [Outgoing(EVENT_TOPICS["wallet"], "k", f"test.{tag}.event-{i}", {"n": i}) for i in range(3)]
    later = Outgoing(province_topic(SENDER), "k", f"test.{tag}.later", {"n": 9})
    outbox = h.consumer.outbox
    async with h.pool.acquire() as conn:
        async with conn.transaction():
            await outbox.enqueue(conn, [answer, *events])
            async with outbox.buffered(conn):
                await outbox.enqueue(conn, [later, events[0]])
                assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type LIKE $1", f"test.{tag}.later") == 0
            rows = await conn.fetch("SELECT type FROM outbox WHERE type LIKE $1 ORDER BY id", f"test.{tag}.%")
            await conn.execute("DELETE FROM outbox WHERE type LIKE $1", f"test.{tag}.%")  # nothing for a relay

        async def fail_in_a_buffered_block() -> None:
            async with conn.transaction(), outbox.buffered(conn):
                await outbox.enqueue(conn, [later])
                raise RuntimeError("the batch failed")

        with pytest.raises(RuntimeError):
            await fail_in_a_buffered_block()
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type LIKE $1", f"test.{tag}.%") == 0
    assert [r["type"].removeprefix(f"test.{tag}.") for r in rows] == [
        "event-0",
        "event-1",
        "event-2",
        "answer",
        "event-0",
        "later",
    ]
