"""Replication and min.insync.replicas come from configuration (issue 12): 1/1 on one broker, 3/2 in production."""

from __future__ import annotations

import pytest

from shared.settings import PlatformSettings
from tools.topics import TopicSpec, ensure_topics, load_manifest


def test_every_topic_gets_the_configured_min_insync_replicas() -> None:
    for spec in load_manifest():
        assert spec.config(2)["min.insync.replicas"] == "2"
    assert TopicSpec("t", 1, 1).config()["min.insync.replicas"] == "1"


def test_the_settings_read_replication_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAID_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("MEDAID_KAFKA_MIN_INSYNC_REPLICAS", "2")
    settings = PlatformSettings()
    assert (settings.kafka_replication_factor, settings.kafka_min_insync_replicas) == (3, 2)


async def test_more_insync_replicas_than_replicas_is_refused_before_any_topic_is_made() -> None:
    settings = PlatformSettings(kafka_replication_factor=1, kafka_min_insync_replicas=2)
    with pytest.raises(ValueError, match="more than the replication factor"):
        await ensure_topics("127.0.0.1:1", load_manifest(), settings)
