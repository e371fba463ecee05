"""Where the tests find a real Kafka broker and PostgreSQL server, in this order:

1. endpoints given in the environment: MEDAID_TEST_KAFKA_BOOTSTRAP, MEDAID_TEST_PG_ADMIN_DSN (a superuser
   DSN; the tests create their own databases there) and MEDAID_TEST_SECRETS_FILE (the Kafka passwords, with
   `admin`'s: the tests apply deploy/acls.toml there);
2. the project's own local scripts (deploy/local/infra.sh) on test ports 19092 and 15433, with a
   fresh state folder .run/test, stopped again after the session (MEDAID_TEST_KEEP_INFRA=1 keeps it);
3. testcontainers, when a Docker engine answers.

Kafka always runs with authentication and ACLs (issue 11): the tests connect as `admin` unless they play
another principal, and the services as themselves.

When none works the tests fail (they never skip): a test tier that cannot reach its servers is broken.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TEST_STATE_DIR = REPO / ".run" / "test"
TEST_KAFKA_PORT = int(os.environ.get("MEDAID_TEST_KAFKA_PORT", "19092"))
TEST_PG_PORT = int(os.environ.get("MEDAID_TEST_PG_PORT", "15433"))
TEST_METRICS_PORT_BASE = TEST_KAFKA_PORT + 300
"""The test stack's services serve /metrics on this + 1..4 (the dev stack's on 9411-9414)."""
ADMIN_PASSWORD = "medaid-admin"


@dataclass
class Infra:
    kafka_bootstrap: str
    pg_admin_dsn: str
    pg_host: str
    pg_port: int
    source: str
    secrets_file: str
    script_env: dict[str, str] = field(default_factory=dict)
    stop: Callable[[], None] = lambda: None


class InfraUnavailableError(RuntimeError):
    pass


def _from_environment() -> Infra | None:
    bootstrap = os.environ.get("MEDAID_TEST_KAFKA_BOOTSTRAP")
    admin_dsn = os.environ.get("MEDAID_TEST_PG_ADMIN_DSN")
    secrets_file = os.environ.get("MEDAID_TEST_SECRETS_FILE")
    if not (bootstrap and admin_dsn and secrets_file):
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(admin_dsn)
    return Infra(bootstrap, admin_dsn, parts.hostname or "127.0.0.1", parts.port or 5432, "environment", secrets_file)


def local_script_env() -> dict[str, str]:
    own = ("MEDAID_KAFKA_USERNAME", "MEDAID_KAFKA_PASSWORD", "MEDAID_PG_PASSWORD")  # each service is itself
    env = {k: v for k, v in os.environ.items() if k not in own}
    return {
        **env,
        "MEDAID_STATE_DIR": str(TEST_STATE_DIR),
        "MEDAID_SECRETS_FILE": str(TEST_STATE_DIR / "secrets" / "kafka.json"),
        "KAFKA_PORT": str(TEST_KAFKA_PORT),
        "PG_PORT": str(TEST_PG_PORT),
        "KAFKA_HEAP": os.environ.get("KAFKA_HEAP", "512m"),
        "MEDAID_PG_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MEDAID_PG_SECRETS_FILE": str(TEST_STATE_DIR / "secrets" / "postgres.json"),
    }


def _from_local_scripts() -> tuple[Infra | None, str]:
    if not shutil.which("java"):
        return None, "no java on PATH (apt-get install -y openjdk-17-jre-headless maven)"
    env = local_script_env()
    script = str(REPO / "deploy" / "local" / "infra.sh")
    subprocess.run([script, "wipe"], env=env, capture_output=True, check=False)
    proc = subprocess.run([script, "up"], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return None, f"deploy/local/infra.sh up failed:\n{proc.stdout}\n{proc.stderr}"

    def stop() -> None:
        if os.environ.get("MEDAID_TEST_KEEP_INFRA") != "1":
            subprocess.run([script, "down"], env=env, capture_output=True, check=False)

    admin = f"postgresql://postgres:{ADMIN_PASSWORD}@127.0.0.1:{TEST_PG_PORT}/postgres"
    secrets_file = env["MEDAID_SECRETS_FILE"]
    infra = Infra(
        f"127.0.0.1:{TEST_KAFKA_PORT}", admin, "127.0.0.1", TEST_PG_PORT, "local scripts", secrets_file, env, stop
    )
    return infra, ""


def _docker_engine_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20).returncode == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _from_testcontainers() -> Infra | None:
    if not _docker_engine_answers():
        return None
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # testcontainers before 4.15
        from testcontainers.postgres import PostgresContainer

    import tempfile

    from tools.acls import ensure_secrets, load_principals

    secrets_file = Path(tempfile.mkdtemp(prefix="medaid-test-secrets-")) / "kafka.json"
    ensure_secrets(secrets_file, load_principals(local=True))
    # the broker's user in the container reads them (a throwaway test stack)
    os.chmod(secrets_file.parent, 0o755)  # noqa: S103
    os.chmod(secrets_file, 0o644)
    port = _free_port()
    kafka: Any = (
        DockerContainer("apache/kafka:4.1.1")
        .with_bind_ports(9092, port)
        # the platform's security, as docker-compose.yml: deploy/kafka/docker-sasl.sh reads the secrets file
        .with_volume_mapping(str(REPO / "deploy" / "kafka" / "docker-sasl.sh"), "/opt/medaid/docker-sasl.sh", "ro")
        .with_volume_mapping(str(secrets_file.parent), "/run/medaid-secrets", "ro")
        .with_kwargs(entrypoint=["bash", "/opt/medaid/docker-sasl.sh"])
        .with_env("MEDAID_SECRETS_FILE", "/run/medaid-secrets/kafka.json")
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", "SASL_PLAINTEXT://:9092,CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"SASL_PLAINTEXT://127.0.0.1:{port}")
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_INTER_BROKER_LISTENER_NAME", "SASL_PLAINTEXT")
        .with_env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    )
    kafka.start()
    wait_for_logs(kafka, "Kafka Server started", timeout=120)
    pg: Any = PostgresContainer("postgres:15", username="postgres", password=ADMIN_PASSWORD, driver=None)
    pg.start()
    host, pg_port = pg.get_container_host_ip(), int(pg.get_exposed_port(5432))

    def stop() -> None:
        kafka.stop()
        pg.stop()

    admin = f"postgresql://postgres:{ADMIN_PASSWORD}@{host}:{pg_port}/postgres"
    return Infra(f"127.0.0.1:{port}", admin, host, pg_port, "testcontainers", str(secrets_file), {}, stop)


def acquire_infra() -> Infra:
    found = _from_environment()
    if found:
        return found
    found, why_not_local = _from_local_scripts()
    if found:
        return found
    found = _from_testcontainers()
    if found:
        return found
    raise InfraUnavailableError(
        "no Kafka/PostgreSQL for the integration tests: set MEDAID_TEST_KAFKA_BOOTSTRAP and "
        f"MEDAID_TEST_PG_ADMIN_DSN, or make the local scripts work, or run a Docker engine. {why_not_local}"
    )
