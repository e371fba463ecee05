"""docker-compose.yml cannot run on machines without a Docker engine (ours): keep it consistent with
the local scripts and the code by test instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from shared.settings import SERVICES, PlatformSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_the_four_services_with_their_own_commands() -> None:
    for service in SERVICES:
        assert COMPOSE["services"][service]["command"] == ["python", "-m", f"services.{service}"]


def test_compose_settings_are_settings_the_code_reads() -> None:
    known = {f"MEDAID_{name.upper()}" for name in PlatformSettings.model_fields}
    env = COMPOSE["services"]["wallet"]["environment"]
    assert set(env) <= known
    assert env["MEDAID_KAFKA_BOOTSTRAP"] == "kafka:9092"
    for script in ("services.sh", "infra.sh"):
        used = set(re.findall(r"MEDAID_[A-Z_]+", (REPO / "deploy" / "local" / script).read_text()))
        script_only = {"MEDAID_STATE_DIR", "MEDAID_CACHE_DIR", "MEDAID_PYTHON"}
        refused = {"MEDAID_CLOCK_START"}  # the old clock setting: services.sh and each service say it is gone
        assert used - script_only - refused <= known, script


def test_compose_uses_the_same_kafka_version_as_the_local_scripts() -> None:
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert version is not None
    assert COMPOSE["services"]["kafka"]["image"] == f"apache/kafka:{version.group(1)}"
    testcontainers = (REPO / "tests" / "support" / "infra.py").read_text()
    assert f'"apache/kafka:{version.group(1)}"' in testcontainers


def test_the_image_holds_what_the_setup_and_services_need() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    for needed in ("shared", "services", "tools", "deploy/topics.toml", "deploy/postgres/bootstrap.sql", "uv.lock"):
        assert needed in dockerfile
    assert "tools.dbsetup" in " ".join(COMPOSE["services"]["setup"]["command"])


def _metric_names() -> set[str]:
    """Every sample name the services can expose: the platform's own (shared/observability/metrics.py), the lag
    collector's and prometheus_client's process ones, plus Prometheus's `up`."""
    from prometheus_client import REGISTRY

    from shared.observability import metrics

    names = {"up"}
    for family in REGISTRY.collect():
        names |= {s.name for s in family.samples} | {family.name}
    names |= {
        "kafka_consumergroup_lag",
        "kafka_consumergroup_group_lag_seconds",
        "kafka_consumergroup_current_offset",
        "kafka_topic_partition_current_offset",
    }
    for histogram in (metrics.PROCESS_DURATION, metrics.BATCH_DURATION):
        base = histogram._name
        names |= {f"{base}_bucket", f"{base}_count", f"{base}_sum"}
    for counter in (metrics.SENT, metrics.DEAD_LETTERS):
        names.add(f"{counter._name}_total")
    for gauge in (metrics.SAGAS, metrics.SAGA_OLDEST_AGE, metrics.BOOKS_OFFENDERS, metrics.INFO):
        names.add(gauge._name)
    return names


def _names_in(expr: str) -> set[str]:
    """The metric names of a PromQL expression: its words once label matchers, groupings and ranges are gone."""
    bare = re.sub(r"\{[^}]*\}|\bby\s*\([^)]*\)|\[[^\]]*\]", " ", expr)
    promql = {"sum", "max", "min", "rate", "increase", "delta", "histogram_quantile", "by", "count", "and", "or"}
    return {w for w in re.findall(r"\b[a-z_][a-z0-9_]*\b", bare) if w not in promql}


def test_the_dashboard_and_the_alerts_use_metrics_the_services_expose() -> None:
    import json

    known = _metric_names()
    dashboard = json.loads((REPO / "deploy" / "grafana" / "dashboards" / "medaid.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load((REPO / "deploy" / "prometheus" / "rules.yml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    used = set().union(*(_names_in(e) for e in exprs))
    assert used, "the expressions name metrics"
    assert used <= known, used - known


def test_compose_prometheus_scrapes_each_service_on_its_metrics_port() -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    port = COMPOSE["services"]["wallet"]["environment"]["MEDAID_METRICS_PORT"]
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    for service in SERVICES:
        assert jobs[service] == [f"{service}:{port}"]
    assert COMPOSE["services"]["wallet"]["environment"]["MEDAID_METRICS_HOST"] == "0.0.0.0"  # noqa: S104 - in a container
