from typing import Any

from aiokafka import TopicPartition

from shared.messaging.offsets import OffsetCommitter


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})


async def test_commits_the_offset_after_each_processed_record_in_batches() -> None:
    consumer = FakeConsumer()
    committer = OffsetCommitter(interval=3600, max_pending=3)
    await committer.processed(consumer, "t", 0, 10)
    await committer.processed(consumer, "t", 1, 4)
    assert consumer.commits == [], "not yet: a batch is 3 records"
    await committer.processed(consumer, "t", 0, 11)
    assert consumer.commits == [{TopicPartition("t", 0): 12, TopicPartition("t", 1): 5}]
    await committer.close()


async def test_close_commits_what_is_pending() -> None:
    consumer = FakeConsumer()
    committer = OffsetCommitter(interval=3600, max_pending=100)
    await committer.processed(consumer, "t", 2, 0)
    await committer.close()
    assert consumer.commits == [{TopicPartition("t", 2): 1}]
