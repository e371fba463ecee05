"""Settings from the environment. The same names are used by deploy/local, docker-compose.yml and the tests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES: tuple[str, ...] = ("wallet", "relationship", "payment", "clearing")
ServiceName = Literal["wallet", "relationship", "payment", "clearing"]
CONSOLE = "console"
"""The operators' web console (issue 13, ADR 0019): a process of its own, with its own schema and login role."""
DATABASE_ROLES: tuple[str, ...] = (*SERVICES, CONSOLE)
"""Every PostgreSQL login role and schema of the platform: one each."""


LOCAL_IDENTITY_KEY = "medaid-local-identity-key-change-me"
MIN_IDENTITY_KEY_BYTES = 32


class PlatformSettings(BaseSettings):
    """Everything a service process reads at start-up (prefix MEDAID_)."""

    model_config = SettingsConfigDict(env_prefix="MEDAID_", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated")
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "SASL_PLAINTEXT", description="SASL_PLAINTEXT on loopback (local stack, tests); SASL_SSL in production"
    )
    kafka_ssl_cafile: str | None = Field(None, description="CA bundle of the brokers' certificates (SASL_SSL)")
    kafka_replication_factor: int = Field(
        1, ge=1, description="replicas of every topic tools.topics creates: 1 on one broker, 3 in production"
    )
    kafka_min_insync_replicas: int = Field(
        1,
        ge=1,
        description="min.insync.replicas of every topic: a write (acks=all) needs this many replicas; 2 in production",
    )
    kafka_username: str | None = Field(
        None, description="the Kafka principal to act as; unset: the process's own (a service: its name)"
    )
    kafka_password: SecretStr | None = Field(None, description="its password; unset: from the secrets file")
    secrets_file: str | None = Field(
        None,
        description="JSON {principal: password}; unset: $MEDAID_STATE_DIR/secrets/kafka.json (the local stack's)",
    )
    key_registry_file: str | None = Field(
        None,
        description="the signing keys' registry (docs/signing.md); unset: $MEDAID_STATE_DIR/keys/registry.json",
    )
    signing_keys_file: str | None = Field(
        None,
        description="private signing keys of this process's senders; unset: $MEDAID_STATE_DIR/secrets/signing.json",
    )
    platform_signing_key_file: str | None = Field(
        None,
        description="the platform's own signing key (its notifications); unset: "
        "$MEDAID_STATE_DIR/secrets/platform-signing.json",
    )
    signature_window_seconds: float = Field(
        900.0, description="how far a signed record's sent_at may be from business time (each way)"
    )
    pg_host: str = "127.0.0.1"
    pg_port: int = 5433
    pg_database: str = "medaid"
    pg_password: SecretStr | None = Field(
        None,
        description="this process's own role's password (production: each service gets only its own); unset: each "
        "role's entry in the PostgreSQL secrets file",
    )
    pg_secrets_file: str | None = Field(
        None,
        description="JSON {role: password}, one password per service role (`python -m tools.dbsetup secrets` makes "
        "missing ones); default $MEDAID_STATE_DIR/secrets/postgres.json",
    )
    pg_pool_size: int = 8
    environment: str = Field(
        "production",
        description="`local` (the local scripts, docker-compose, the tests) allows the local defaults of secrets; "
        "anything else (production, staging, ...) is treated as production: a service refuses to start with them",
    )
    identity_key: SecretStr = Field(
        SecretStr(LOCAL_IDENTITY_KEY),
        description="HMAC key for certificate-number and name hashes; a service starts with this default only "
        "when MEDAID_ENVIRONMENT=local",
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    clock_offset_seconds: float = Field(
        0.0,
        description="the business clock is real time plus this many seconds, the same for every service "
        "(ADR 0011); the local stack keeps it in $MEDAID_STATE_DIR/clock-offset",
    )
    # Consumer retry policy: a failing message is retried this often before it is dead-lettered.
    poison_attempts: int = 3
    retry_backoff_seconds: float = 0.2
    outbox_batch_size: int = 500
    consumer_batch_size: int = Field(
        200, ge=1, description="records a consumer takes a poll, in one transaction per partition (ADR 0018)"
    )
    outbox_poll_seconds: float = 1.0
    metrics_port: int | None = Field(
        None,
        ge=0,
        description="the port of this process's Prometheus /metrics (0: none); unset: metrics_port_base + the "
        "service's place in SERVICES (wallet +1 ... clearing +4)",
    )
    metrics_port_base: int = Field(
        9410, ge=0, description="see metrics_port; deploy/local/services.sh adds 10 per extra process (INSTANCES)"
    )
    metrics_host: str = Field("127.0.0.1", description="the address /metrics listens on")
    metrics_refresh_seconds: float = Field(
        5.0, gt=0, description="how often the gauges read from the database (sagas, outbox, books) are refreshed"
    )
    console_host: str = Field("127.0.0.1", description="the address the operators' web console listens on")
    console_port: int = Field(8470, ge=0, description="its port (make up prints the URL)")
    console_metrics_targets: str = Field(
        "",
        description="comma-separated service=URL of every service process's /metrics the console samples; unset: "
        "the local stack's (metrics_port_base + 1..4)",
    )
    console_password_file: str | None = Field(
        None,
        description='JSON {"admin": password}: the console\'s first operator, made at start when it has none '
        "(the file is made if missing); unset: $MEDAID_STATE_DIR/secrets/console.json (local only)",
    )
    console_allowed_hosts: str = Field(
        "",
        description="comma-separated Host names the console answers (others: 400); unset: 127.0.0.1, localhost "
        "and ::1 (local only)",
    )
    console_signing_keys_file: str | None = Field(
        None,
        description="the private key the console signs a month close with, as the national operator (JSON as "
        "MEDAID_SIGNING_KEYS_FILE); unset: the local stack's signing keys (national-local)",
    )
    console_secure_cookies: bool = Field(
        False, description="mark the console's session cookie Secure (set it behind TLS, as production runs)"
    )
    metrics_books_seconds: float = Field(
        30.0, gt=0, description="how often the books checks behind medaid_books_* run (each reads whole tables)"
    )
    trusted_senders: str = Field(
        "", description="comma-separated sender codes that may act for any party (e.g. the national app's gateway)"
    )
    national_operators: str = Field(
        "",
        description="comma-separated sender codes of the national operator's systems: only they close a clearing "
        "month, they may freeze wallets, and send nothing else; only a key registered for exactly that code signs "
        "for one",
    )
    enrolment_max_days_ahead: int = Field(
        31, description="an enrollment.changed whose effective_at is further ahead of business time is refused"
    )
    max_credit_amount: Decimal = Field(
        Decimal("100000.00"), description="an account.credited above this amount is refused AMOUNT_OUT_OF_RANGE"
    )
    retention_days: int = Field(
        30,
        ge=1,
        description="published outbox rows older than this are deleted, and inbox answers keep only their core "
        "(shared/messaging/retention.py); real time",
    )
    retention_sweep_seconds: float = Field(600.0, description="how often the retention purge runs")
    sweep_seconds: float = Field(5.0, description="how often deadline sweeps run (bind-request expiry, ...)")
    clearing_close_after_days: int | None = Field(
        None,
        description="close an ended month on its own this many days after it ended (business time); unset: only "
        "clearing.close-requested or the operator's `make clearing ARGS='close YYYYMM'` close a month",
    )
    catch_up: bool = Field(
        True,
        description="read-your-writes across services (ADR 0012); off only to measure what it costs: answers "
        "may then be judged on copies older than an answer their sender already saw",
    )
    # Fault injection for crash tests, off unless set: `relay_exit_before_publish` makes the process
    # exit (as if killed) after a transaction committed and before its outbox rows are published.
    fault_inject: str | None = None

    @property
    def trusted(self) -> frozenset[str]:
        """The trusted senders' codes (the national app's gateway)."""
        return _codes(self.trusted_senders)

    @property
    def national_operator_codes(self) -> frozenset[str]:
        return _codes(self.national_operators)

    @property
    def exact_senders(self) -> frozenset[str]:
        """Sender codes signed for only by a key registered for exactly that code, never by a province's key."""
        return self.trusted | self.national_operator_codes

    def metrics_port_of(self, service: str) -> int:
        """Where `service`'s /metrics listens (0: nowhere)."""
        if self.metrics_port is not None:
            return self.metrics_port
        return self.metrics_port_base + 1 + SERVICES.index(service)

    def dsn(self, service: str) -> str:
        """DSN of a service's own login role (role name = schema name = service name), with that role's own
        password: MEDAID_PG_PASSWORD if set, else the role's entry in the PostgreSQL secrets file."""
        if self.pg_password is not None:
            password = self.pg_password.get_secret_value()
        else:
            path = pg_secrets_path(self)
            try:
                password = json.loads(path.read_text())[service]
            except (FileNotFoundError, KeyError) as exc:
                raise RuntimeError(
                    f"no PostgreSQL password for role {service!r}: set MEDAID_PG_PASSWORD, or MEDAID_PG_SECRETS_FILE "
                    f"({path}: `make up` or `python -m tools.dbsetup secrets` writes it)"
                ) from exc
        return f"postgresql://{service}:{quote(password, safe='')}@{self.pg_host}:{self.pg_port}/{self.pg_database}"


def _codes(text: str) -> frozenset[str]:
    return frozenset(c.strip() for c in text.split(",") if c.strip())


_REPO = Path(__file__).resolve().parents[1]


def refuse_local_secrets(settings: PlatformSettings) -> None:
    """Outside the local environment a service does not start with a secret everyone can read in this repository
    (the identity key hashes every certificate number and name: with the default, anyone can reverse them)."""
    if settings.environment == "local":
        return
    key = settings.identity_key.get_secret_value()
    if key == LOCAL_IDENTITY_KEY:
        raise RuntimeError(
            "MEDAID_IDENTITY_KEY is the repository's local default: set a secret of your own "
            "(or MEDAID_ENVIRONMENT=local on a developer's machine)"
        )
    if len(key.encode()) < MIN_IDENTITY_KEY_BYTES:
        raise RuntimeError(
            f"MEDAID_IDENTITY_KEY is shorter than {MIN_IDENTITY_KEY_BYTES} bytes: use a random secret "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )


GONE_SETTINGS = {
    "MEDAID_CLOCK_START": "the business clock is real time plus MEDAID_CLOCK_OFFSET_SECONDS, the same for every "
    "service (ADR 0011): unset MEDAID_CLOCK_START and give the offset instead (`make clock` moves a local stack's)",
}
"""Settings that were removed: a service refuses to start with one rather than silently run otherwise than asked."""


def refuse_gone_settings(environ: Mapping[str, str] = os.environ) -> None:
    for name, instead in GONE_SETTINGS.items():
        if name in environ:
            raise RuntimeError(f"{name} is gone: {instead}")


def state_dir() -> Path:
    """The local stack's state folder (MEDAID_STATE_DIR; `make up` uses .run/ of the checkout)."""
    return Path(os.environ.get("MEDAID_STATE_DIR") or str(_REPO / ".run"))


def pg_secrets_path(settings: PlatformSettings) -> Path:
    return Path(settings.pg_secrets_file) if settings.pg_secrets_file else state_dir() / "secrets" / "postgres.json"


def key_registry_path(settings: PlatformSettings) -> Path:
    return Path(settings.key_registry_file) if settings.key_registry_file else state_dir() / "keys" / "registry.json"


def signing_keys_path(settings: PlatformSettings) -> Path:
    return Path(settings.signing_keys_file) if settings.signing_keys_file else state_dir() / "secrets" / "signing.json"


def platform_signing_key_path(settings: PlatformSettings) -> Path:
    if settings.platform_signing_key_file:
        return Path(settings.platform_signing_key_file)
    return state_dir() / "secrets" / "platform-signing.json"
