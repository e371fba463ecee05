"""tools/bench_costs.py's pure helpers: which kind a topic's records are, and the arithmetic of snapshots."""

from __future__ import annotations

import pytest

from tools.bench_costs import (
    KINDS,
    Counts,
    by_kind,
    consumed_by_group,
    diff,
    lagging,
    net,
    report,
    squeeze,
    statements_by_role,
    topic_kind,
)
from tools.topics import load_manifest


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("ingress.wallet.v1", "ingress"),
        ("ingress.wallet.v1.dlq", "dead letters"),
        ("province.440000.notifications.v1", "notifications"),
        ("wallet.events.v1", "events"),
        ("relationship.events.v1.wallet.dlq", "dead letters"),
        ("payment.msgids.v1", "msgids claims"),
        ("wallet.msgids.v1.clearing.dlq", "dead letters"),
        ("__consumer_offsets", "offset commits"),
        ("something.else", "other"),
    ],
)
def test_each_topic_is_of_one_kind(topic: str, kind: str) -> None:
    assert topic_kind(topic) == kind


def test_every_topic_of_the_manifest_has_a_kind_other_than_other() -> None:
    assert {topic_kind(t.name) for t in load_manifest()} <= set(KINDS) - {"other", "offset commits"}


def test_diff_counts_keys_on_either_side_and_drops_the_unchanged() -> None:
    before = {("produced", "a"): 10.0, ("produced", "b"): 5.0, ("xacts",): 7.0}
    after = {("produced", "a"): 13.0, ("produced", "b"): 5.0, ("produced", "c"): 2.0, ("xacts",): 9.0}
    assert diff(before, after) == {("produced", "a"): 3.0, ("produced", "c"): 2.0, ("xacts",): 2.0}


def test_net_takes_off_the_idle_rate_for_the_measured_length_and_never_goes_below_zero() -> None:
    measured = {("xacts",): 100.0, ("statement", "wallet", "t", "SELECT 1"): 3.0}
    idle = {("xacts",): 10.0, ("statement", "wallet", "t", "SELECT 1"): 5.0, ("statement", "payment", "t", "X"): 1.0}
    assert net(measured, idle, measured_seconds=20.0, idle_seconds=10.0) == {("xacts",): 80.0}


def test_net_without_an_idle_window_is_the_measured_deltas() -> None:
    assert net({("xacts",): 4.0}, {("xacts",): 1.0}, 10.0, 0.0) == {("xacts",): 4.0}


def test_records_are_summed_by_kind_and_by_group() -> None:
    counts = {
        ("produced", "ingress.wallet.v1"): 2.0,
        ("produced", "province.510000.notifications.v1"): 3.0,
        ("produced", "province.440000.notifications.v1"): 1.0,
        ("consumed", "payment.wallet.msgids.v1", "wallet.msgids.v1"): 2.0,
        ("consumed", "console.read-model", "wallet.events.v1"): 1.0,
        ("consumed", "console.read-model", "province.440000.notifications.v1"): 4.0,
        ("xacts",): 9.0,
    }
    kinds = by_kind(counts)
    assert list(kinds) == list(KINDS)
    assert (kinds["ingress"], kinds["notifications"], kinds["events"]) == (2.0, 4.0, 0.0)
    assert consumed_by_group(counts) == {
        "payment.wallet.msgids.v1": {"msgids claims": 2.0},
        "console.read-model": {"events": 1.0, "notifications": 4.0},
    }


def test_statements_are_summed_by_role_top_level_apart_from_nested() -> None:
    counts: Counts = {
        ("statement", "wallet", "t", "SELECT 1"): 2.0,
        ("statement", "wallet", "t", "COMMIT"): 1.0,
        ("statement", "wallet", "n", "SELECT 2"): 5.0,
        ("statement", "payment", "t", "SELECT 1"): 1.0,
    }
    assert statements_by_role(counts) == {"wallet": 3.0, "payment": 1.0}
    assert statements_by_role(counts, toplevel=False) == {"wallet": 5.0}


def test_a_statement_is_shown_on_one_line_and_cut() -> None:
    assert squeeze("SELECT a,\n       b\n  FROM t") == "SELECT a, b FROM t"
    assert squeeze("x" * 200, width=20) == "x" * 17 + "..."


def test_the_report_is_per_operation() -> None:
    counts = {
        ("produced", "ingress.wallet.v1"): 20.0,
        ("consumed", "wallet.ingress.wallet.v1", "ingress.wallet.v1"): 20.0,
        ("consumed", "relationship.ingress.wallet.v1", "ingress.wallet.v1"): 20.0,
        ("xacts",): 30.0,
        ("statement", "wallet", "t", "COMMIT"): 10.0,
        ("statement", "wallet", "t", "SELECT 1 FROM consumer_positions WHERE consumer = ANY($1)"): 4.0,
        ("metric", "wallet", "medaid_catch_up_waits_total"): 2.0,
    }
    text = report("op", 10, counts, counts, {}, 5.0, 0.0)
    assert "Kafka records produced: 2.00" in text
    assert "PostgreSQL transactions (pg_stat_database, whole database): 3.00" in text
    assert "  wallet                                    1.40  (COMMIT 1.00)" in text
    assert "0.20 /   0.00 /   0.40" in text
    assert "verified 2.00 (each ingress record once" in text
    assert "6.00 decodes" in text


def test_only_the_platforms_groups_that_are_behind_are_lagging() -> None:
    counts: Counts = {
        ("produced", "wallet.events.v1"): 10.0,
        ("produced", "wallet.msgids.v1"): 4.0,
        ("consumed", "payment.wallet.events.v1", "wallet.events.v1"): 7.0,
        ("consumed", "clearing.wallet.events.v1", "wallet.events.v1"): 10.0,
        ("consumed", "payment.wallet.msgids.v1", "wallet.msgids.v1"): 4.0,
        ("consumed", "analytics.everything", "wallet.events.v1"): 1.0,
    }
    assert lagging(counts) == {"payment.wallet.events.v1": 3.0}
